// Page #/executions/<id>: one command or plan, with its live status, graph, commands and output.

import { ApiError, api, errorBox } from './api.js';
import { showAwaitingApproval } from './awaiting-approval.js';
import { vocabulary } from './constants.js';
import { planParents, renderDag, stepLabel, strategyText } from './dag.js';
import {
  conversationLink,
  displayCommand,
  durationEl,
  errorCodeEl,
  fill,
  fmtDuration,
  fmtTime,
  h,
  pageHeader,
  promptBlock,
  riskBadge,
  shortId,
  statusBadge,
  statusClass,
  timeEl,
} from './dom.js';
import { LogView } from './log-view.js';
import { carriedIndices, carriedTag, resumedFromItem, resumePanel } from './resume-panel.js';
import { live } from './socket.js';

const MAX_ENTRIES = 50_000;

const rank = (status) => (status === 'pending' ? 0 : status === 'running' ? 1 : 2);
/** Live events can be ahead of a re-fetch: never move a status backwards. */
const mergeStatus = (current, incoming) => (!current || rank(incoming) >= rank(current) ? incoming : current);

/** `reopens`: how often this page was drawn again for a plan just approved and found no run (see awaiting-approval.js). */
export async function pageExecution(root, scope, id, reopens = 0) {
  document.title = 'Execution · cloudops-exec';
  root.append(h('p', { class: 'muted' }, 'Loading…'));
  let detail;
  try {
    detail = await api('GET', `/api/executions/${encodeURIComponent(id)}`);
  } catch (err) {
    if (!scope.alive) return;
    // A plan still waiting for approval has no run yet: wait for it there, then show it.
    if (
      err instanceof ApiError &&
      err.status === 404 &&
      (await showAwaitingApproval(root, scope, id, (n) => pageExecution(root, scope, id, n), reopens))
    )
      return;
    if (!scope.alive) return;
    fill(
      root,
      pageHeader('Execution'),
      errorBox(
        err,
        err instanceof ApiError && err.status === 404 ? `No execution ${id}` : 'Could not load this execution',
      ),
      h('p', {}, h('a', { href: '#/' }, '← All executions')),
    );
    return;
  }
  if (!scope.alive) return;
  fill(root);

  const isPlan = detail.execution.kind === 'plan';
  let exec = detail.execution;
  let ended = false;
  let refetchPolls = 0;

  // ---- members of a plan (a command page has none)
  const members = [];
  const byId = new Map();
  if (isPlan) {
    const views = new Map((detail.commands ?? []).map((v) => [v.id, v]));
    const planCommands = detail.plan?.commands ?? [];
    const carried = carriedIndices(detail.plan);
    planCommands.forEach((request, index) => {
      const view = views.get(request.id) ?? null;
      const command = view?.command ?? displayCommand(request.command);
      members.push({
        id: request.id,
        index,
        name: request.name ?? null,
        title: view?.description || request.description || command,
        detail: command,
        view,
        status: view?.status ?? 'pending',
        rollback: false,
        carried: carried.has(index),
      });
    });
    for (const view of detail.commands ?? []) {
      if (planCommands.some((c) => c.id === view.id)) continue;
      members.push({
        id: view.id,
        index: null,
        name: view.name ?? null,
        title: view.description || view.command,
        detail: view.command,
        view,
        status: view.status,
        rollback: true,
      });
    }
    for (const m of members) byId.set(m.id, m);
  }
  const parents = isPlan ? planParents(detail.plan, members.filter((m) => !m.rollback).length) : [];

  // ---- header
  const statusEl = h('span', { testid: 'execution-status' });
  const riskSlot = h('span');
  const cancelBtn = h(
    'button',
    { type: 'button', class: 'btn btn-danger', testid: 'cancel-button', onclick: cancel },
    'Cancel',
  );
  const notice = h('div', { class: 'notice-slot' });
  // A finished plan run: resume it (or, when it completed, run it again from a step).
  const resume = isPlan ? resumePanel(id) : null;
  const metaEl = h('dl', { class: 'meta' });
  // What the person asked the assistant that led to this work (a plan's command: its plan's).
  // Built once: the details are drawn again on every status change, and an expanded prompt stays expanded.
  const prompt = promptBlock(exec.user_prompt);
  const promptItem = prompt
    ? h('div', { class: 'meta-item meta-wide' }, h('dt', {}, 'Asked by the user'), h('dd', {}, prompt))
    : null;
  const heading = h('h1', { class: 'exec-title' });
  root.append(
    h(
      'nav',
      { class: 'crumbs', 'aria-label': 'Breadcrumb' },
      h('a', { href: '#/' }, 'Executions'),
      ' / ',
      exec.plan_id
        ? [h('a', { href: `#/executions/${encodeURIComponent(exec.plan_id)}` }, `plan ${shortId(exec.plan_id)}`), ' / ']
        : null,
      h('span', { class: 'mono' }, shortId(id)),
    ),
    h(
      'div',
      { class: 'page-head' },
      h(
        'div',
        { class: 'title-block' },
        h(
          'div',
          { class: 'title-badges' },
          statusEl,
          riskSlot,
          h('span', { class: `kind kind-${exec.kind}` }, exec.kind),
        ),
        heading,
      ),
      h('div', { class: 'page-actions' }, cancelBtn, resume?.button),
    ),
    notice,
    resume?.panel,
    h('section', { class: 'panel', 'aria-label': 'Details' }, metaEl),
  );

  // ---- plan: progress, graph, commands table
  let dag = null;
  let progress = null;
  let progressText = null;
  let cmdBody = null;
  let selected = null;
  const selectionLabel = h('span', { class: 'selection-label' });
  const showAllBtn = h(
    'button',
    { type: 'button', class: 'btn btn-small', onclick: () => select(null) },
    'All commands',
  );
  if (isPlan) {
    progress = h('progress', {
      class: 'progress',
      max: Math.max(1, members.filter((m) => !m.rollback).length),
      value: 0,
      'aria-label': 'Commands finished',
    });
    progressText = h('span', { class: 'muted small' });
    const planNodes = members.filter((m) => !m.rollback);
    dag = renderDag(planNodes, parents, { onSelect: (memberId) => select(memberId) });
    const strategy = detail.plan?.strategy;
    cmdBody = h('tbody');
    root.append(
      h(
        'section',
        { class: 'panel' },
        h(
          'div',
          { class: 'panel-head' },
          h('h2', {}, 'Graph'),
          h('span', { class: 'muted small' }, strategyText(strategy)),
          h('div', { class: 'progress-wrap' }, progress, progressText),
        ),
        h('div', { class: 'dag', testid: 'dag' }, dag.svg),
        h('p', { class: 'muted small hint' }, 'Select a command to see only its output.'),
      ),
      h(
        'section',
        { class: 'panel' },
        h('div', { class: 'panel-head' }, h('h2', {}, 'Commands')),
        h(
          'div',
          { class: 'table-wrap' },
          h(
            'table',
            { class: 'table cmd-table' },
            h('caption', { class: 'sr-only' }, 'Commands of this plan, in plan order'),
            h(
              'thead',
              {},
              h(
                'tr',
                {},
                ['#', 'Status', 'Risk', 'Command', 'After', 'Started', 'Duration', 'Exit'].map((t) =>
                  h('th', { scope: 'col' }, t),
                ),
              ),
            ),
            cmdBody,
          ),
        ),
      ),
    );
  }

  // ---- output
  const logView = new LogView({
    showSource: isPlan,
    sourceOf: (memberId) => {
      const m = byId.get(memberId);
      return m ? { label: m.rollback ? 'rb' : (m.name ?? `#${m.index}`), title: m.title } : null;
    },
  });
  const followBtn = h(
    'button',
    { type: 'button', class: 'btn btn-small', hidden: true, onclick: () => logView.scrollToEnd() },
    '↓ Follow output',
  );
  logView.onFollowChange = (follow) => (followBtn.hidden = follow);
  const rawLink = h(
    'a',
    { class: 'small', target: '_blank', rel: 'noopener', href: `/api/executions/${encodeURIComponent(id)}/logs` },
    'Raw log',
  );
  root.append(
    h(
      'section',
      { class: 'panel' },
      h(
        'div',
        { class: 'panel-head' },
        h('h2', {}, 'Output'),
        isPlan ? [selectionLabel, showAllBtn] : null,
        h('div', { class: 'panel-tools' }, followBtn, rawLink),
      ),
      logView.el,
      h(
        'p',
        { class: 'legend small muted' },
        h('span', { class: 'legend-item legend-stdout' }, 'stdout'),
        h('span', { class: 'legend-item legend-stderr' }, 'stderr'),
      ),
    ),
  );

  const entries = []; // every entry of this page's subscription, for re-filtering by command

  function addEntry(entry) {
    entries.push(entry);
    if (entries.length > MAX_ENTRIES) entries.splice(0, entries.length - MAX_ENTRIES);
    if (!isPlan || selected === null || selected === entry.id) logView.push(entry);
  }

  function select(memberId) {
    selected = memberId && byId.has(memberId) ? memberId : null;
    dag?.select(selected);
    const m = selected ? byId.get(selected) : null;
    selectionLabel.textContent = m
      ? `Showing ${m.rollback ? 'rollback step' : `#${m.index}`}: ${m.title}`
      : 'Showing all commands';
    showAllBtn.hidden = !m;
    rawLink.href = `/api/executions/${encodeURIComponent(selected ?? id)}/logs`;
    logView.clear();
    logView.setEmptyText(
      m
        ? m.carried
          ? 'Carried over: it did not run again here (its output is on the execution that ran it)'
          : m.status === 'pending'
            ? 'Not started yet'
            : 'No output'
        : 'No output yet',
    );
    logView.pushAll(entries.filter((e) => selected === null || e.id === selected));
    renderCommands();
  }

  // ---- rendering of the current state
  /** A running plan's record may not show its start yet: take its first command's. */
  function planTiming() {
    if (!isPlan || exec.started_at) return exec;
    const starts = members
      .map((m) => m.view?.started_at)
      .filter(Boolean)
      .sort();
    return starts.length ? { ...exec, started_at: starts[0] } : exec;
  }

  function renderHeader() {
    statusEl.className = `badge status badge-lg s-${statusClass(exec.status)}`;
    statusEl.dataset.status = exec.status;
    statusEl.textContent = exec.status;
    riskSlot.replaceChildren(riskBadge(exec.risk_level));
    heading.textContent = exec.description || exec.command || id;
    if (!isPlan && exec.description && exec.description !== exec.command) heading.title = exec.command;
    document.title = `${exec.status} · ${exec.description || exec.command} · cloudops-exec`;
    const cancellable = vocabulary.active.has(exec.status);
    cancelBtn.hidden = !cancellable;
    if (!cancellable) {
      cancelBtn.disabled = false;
      cancelBtn.textContent = 'Cancel';
    }
    renderMeta();
    resume?.update(exec, detail.plan);
  }

  function renderMeta() {
    const timing = planTiming();
    const rows = [];
    const add = (term, ...value) => rows.push(h('div', { class: 'meta-item' }, h('dt', {}, term), h('dd', {}, value)));
    add('ID', h('span', { class: 'mono' }, exec.id));
    if (!isPlan) add('Command', h('code', { class: 'mono wrap' }, exec.command));
    const resumedFrom = isPlan ? resumedFromItem(detail.plan) : null;
    if (resumedFrom) rows.push(resumedFrom);
    if (exec.plan_id)
      add('Plan', h('a', { href: `#/executions/${encodeURIComponent(exec.plan_id)}`, class: 'mono' }, exec.plan_id));
    add('Submitted', fmtTime(exec.submitted_at));
    add('Started', fmtTime(timing.started_at));
    add('Completed', fmtTime(exec.completed_at));
    add('Duration', durationEl(timing));
    if (!isPlan)
      add(
        'Exit code',
        exec.exit_code === null || exec.exit_code === undefined
          ? '—'
          : h('span', { class: exec.exit_code === 0 ? 'ok-text' : 'error-text' }, String(exec.exit_code)),
      );
    const result = detail.result;
    if (!isPlan && result?.signal) add('Signal', result.signal);
    if (!isPlan && result?.attempts > 1) add('Attempts', String(result.attempts));
    const approval = isPlan ? detail.approval : null;
    if (approval && typeof approval === 'object' && approval.approved_by) {
      add(
        'Approved by',
        `${approval.approved_by}${approval.approved_at ? ` · ${fmtTime(approval.approved_at)}` : ''}${approval.decision?.type === 'modify_and_approve' ? ' (edited)' : ''}`,
      );
    }
    const stop = detail.cancelled_by;
    if (stop) {
      // A cancel asked for after the work ended changes nothing: say "asked" unless it did stop it.
      const term = exec.status === 'cancelled' ? 'Cancelled by' : 'Cancel asked by';
      const via = stop.object !== exec.id ? ' (its plan)' : '';
      add(term, h('span', { testid: 'cancelled-by' }, `${stop.principal ?? 'unknown'}${via} · ${fmtTime(stop.at)}`));
    }
    if (exec.source) add('Source', exec.source);
    if (exec.conversation_id) add('Conversation', conversationLink(exec.conversation_id));
    if (promptItem) rows.push(promptItem);
    if (exec.error) {
      const error = h('dd', { class: 'error-text' }, errorCodeEl(exec.error_code), exec.error);
      rows.push(h('div', { class: 'meta-item meta-wide' }, h('dt', {}, 'Error'), error));
    }
    metaEl.replaceChildren(...rows);
  }

  function renderCommands() {
    if (!isPlan) return;
    for (const m of members)
      if (!m.rollback) dag.update(m.id, m.status, m.view ? { ...m.view, status: m.status } : null);
    const planMembers = members.filter((m) => !m.rollback);
    const done = planMembers.filter((m) => !vocabulary.active.has(m.status)).length;
    const failed = planMembers.filter((m) => vocabulary.failed.has(m.status)).length;
    progress.value = done;
    // A plan with a failed step shows it in the bar, not a green one.
    progress.classList.toggle('progress-failed', failed > 0);
    progressText.textContent = `${done} / ${planMembers.length} finished${failed > 0 ? ` · ${failed} failed` : ''}`;
    cmdBody.replaceChildren(
      ...members.map((m) => {
        const v = m.view
          ? { ...m.view, status: m.status }
          : { status: m.status, duration_ms: null, started_at: null, exit_code: null };
        const deps = m.rollback ? [] : (parents[m.index] ?? []);
        const tr = h(
          'tr',
          {
            class: `clickable${selected === m.id ? ' selected' : ''}`,
            'data-id': m.id,
            'aria-selected': selected === m.id ? 'true' : 'false',
          },
          h(
            'td',
            { class: 'mono nowrap' },
            h(
              'a',
              {
                href: `#/executions/${encodeURIComponent(m.id)}`,
                title: 'Open this command',
                'aria-label': `Open command ${m.rollback ? '(rollback step)' : `#${m.index}`}`,
              },
              m.rollback ? 'rb' : `#${m.index}`,
            ),
            m.name ? h('div', { class: 'mono small step-name', testid: 'step-name' }, m.name) : null,
            carriedTag(m, detail.plan),
          ),
          h('td', {}, statusBadge(m.status)),
          h('td', {}, riskBadge(m.view?.risk_level)),
          h(
            'td',
            { class: 'cmd-cell' },
            h(
              'button',
              {
                type: 'button',
                class: 'link-button',
                onclick: () => select(m.id),
                title: 'Show this command’s output',
              },
              m.title,
            ),
            m.detail && m.detail !== m.title ? h('div', { class: 'mono muted small truncate' }, m.detail) : null,
            // What the step produced for later ones (its outputs), one per line.
            ...Object.entries(m.view?.outputs ?? {}).map(([key, value]) =>
              h(
                'div',
                { class: 'mono small truncate step-output', testid: 'step-output', title: `${key} = ${value}` },
                h('span', { class: 'muted' }, `→ ${key} = `),
                value,
              ),
            ),
            m.view?.error
              ? h(
                  'div',
                  { class: 'error-text small truncate', title: m.view.error },
                  errorCodeEl(m.view.error_code),
                  m.view.error,
                )
              : null,
          ),
          h('td', { class: 'mono small' }, deps.length ? deps.map((d) => stepLabel(detail.plan, d)).join(', ') : '—'),
          h('td', { class: 'nowrap' }, v.started_at ? timeEl(v.started_at) : '—'),
          h('td', { class: 'nowrap' }, durationEl(v)),
          h(
            'td',
            { class: 'nowrap' },
            v.exit_code === null ||
              v.exit_code === undefined ||
              vocabulary.active.has(m.status) ||
              m.status === 'skipped'
              ? '—'
              : h('span', { class: v.exit_code === 0 ? '' : 'error-text' }, String(v.exit_code)),
          ),
        );
        tr.addEventListener('click', (event) => {
          if (!event.target.closest('a, button')) select(m.id);
        });
        return tr;
      }),
    );
  }

  function applyDetail(d) {
    detail = d;
    exec = { ...d.execution, status: mergeStatus(exec.status, d.execution.status) };
    if (isPlan) {
      for (const view of d.commands ?? []) {
        let m = byId.get(view.id);
        if (!m) {
          m = {
            id: view.id,
            index: null,
            name: view.name ?? null,
            title: view.description || view.command,
            detail: view.command,
            view,
            status: view.status,
            rollback: true,
          };
          members.push(m);
          byId.set(m.id, m);
        }
        m.view = view;
        m.status = mergeStatus(m.status, view.status);
      }
      renderCommands();
    }
    renderHeader();
  }

  const refetch = scope.throttle(async () => {
    let d;
    try {
      d = await api('GET', `/api/executions/${encodeURIComponent(id)}`);
    } catch {
      return;
    }
    if (!scope.alive) return;
    applyDetail(d);
    // The stream has ended but the history does not show the end yet: look again shortly.
    if (ended && vocabulary.active.has(exec.status) && refetchPolls++ < 15) scope.timeout(() => refetch(), 700);
  }, 300);

  function setMemberStatus(memberId, status) {
    if (memberId === id) {
      exec = { ...exec, status: mergeStatus(exec.status, status) };
      renderHeader();
      return;
    }
    const m = byId.get(memberId);
    if (!m) return;
    m.status = mergeStatus(m.status, status);
    if (status === 'running' && m.view && !m.view.started_at)
      m.view = { ...m.view, started_at: new Date().toISOString() };
    if (vocabulary.active.has(exec.status) && status === 'running' && exec.status !== 'running')
      exec = { ...exec, status: 'running' };
    renderCommands();
    renderHeader();
  }

  function onEvent(event) {
    const t = event.event_type;
    const eid = event.execution_id;
    switch (t) {
      case 'stdout':
      case 'stderr':
        addEntry({ kind: t, id: eid, line: String(event.line ?? ''), ts: event.timestamp });
        return;
      case 'started':
        setMemberStatus(eid, 'running');
        addEntry({ kind: 'meta', id: eid, ts: event.timestamp, text: `▶ started: ${event.command ?? ''}` });
        break;
      case 'completed': {
        const r = event.result ?? {};
        setMemberStatus(eid, r.status ?? 'completed');
        addEntry({
          kind: 'meta',
          id: eid,
          ts: event.timestamp,
          level: r.status === 'completed' ? 'ok' : 'error',
          text: `■ ${r.status ?? 'completed'} · exit ${r.exit_code ?? '?'} · ${fmtDuration(r.duration_ms)}`,
        });
        break;
      }
      case 'failed':
        setMemberStatus(eid, 'failed');
        addEntry({
          kind: 'meta',
          id: eid,
          ts: event.timestamp,
          level: 'error',
          text: `✗ failed: ${event.error ?? ''}`,
        });
        break;
      case 'cancelled':
        setMemberStatus(eid, 'cancelled');
        addEntry({ kind: 'meta', id: eid, ts: event.timestamp, level: 'warn', text: '■ cancelled' });
        break;
      case 'retrying':
        addEntry({
          kind: 'meta',
          id: eid,
          ts: event.timestamp,
          level: 'warn',
          text: `↻ attempt ${event.attempt}/${event.max_attempts} failed (${event.reason}); retrying in ${fmtDuration(event.delay_ms)}`,
        });
        break;
      case 'rollback_started':
        addEntry({ kind: 'meta', id: eid, ts: event.timestamp, level: 'warn', text: '↶ rollback started' });
        break;
      case 'rollback_completed':
        addEntry({
          kind: 'meta',
          id: eid,
          ts: event.timestamp,
          level: event.status === 'rolled_back' ? 'ok' : 'error',
          text: `↶ rollback ${event.status ?? 'finished'}`,
        });
        break;
      case 'progress':
        if (isPlan && exec.status === 'pending') {
          exec = { ...exec, status: 'running' };
          renderHeader();
        }
        break;
      default:
        return;
    }
    if (vocabulary.statusEvents.has(t)) refetch();
  }

  /** First click arms the button ("Confirm cancel") for a few seconds; only a second click cancels. */
  let armed = null;
  async function cancel() {
    if (armed === null) {
      cancelBtn.textContent = 'Confirm cancel';
      cancelBtn.dataset.armed = 'true';
      armed = setTimeout(() => {
        armed = null;
        delete cancelBtn.dataset.armed;
        if (!cancelBtn.disabled) cancelBtn.textContent = 'Cancel';
      }, 5000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    delete cancelBtn.dataset.armed;
    cancelBtn.disabled = true;
    cancelBtn.textContent = 'Cancelling…';
    notice.replaceChildren();
    try {
      await api('POST', `/api/executions/${encodeURIComponent(id)}/cancel`);
      refetch();
    } catch (err) {
      notice.replaceChildren(errorBox(err, 'Could not cancel'));
      cancelBtn.disabled = false;
      cancelBtn.textContent = 'Cancel';
      refetch();
    }
  }

  applyDetail(detail);
  if (isPlan) select(null);

  scope.add(
    live.subscribe(id, {
      reset: () => {
        entries.length = 0;
        logView.clear();
        ended = false;
      },
      subscribed: () => refetch(),
      event: onEvent,
      end: () => {
        ended = true;
        refetchPolls = 0;
        logView.flush();
        refetch();
      },
    }),
  );
}
