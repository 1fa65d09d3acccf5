// Page #/approvals/<id>: one plan waiting for a decision, its dry runs, and approve / reject / edit.

import { ApiError, api, errorBox, errorContent } from './api.js';
import { RISK_HELP, vocabulary } from './constants.js';
import { planParents, renderDag, stepLabel, strategyText } from './dag.js';
import { diffHunks, diffStats, lineDiff } from './diff.js';
import {
  approvalStateBadge,
  conversationLink,
  displayCommand,
  dryRunText,
  fill,
  fmtDuration,
  fmtTime,
  h,
  pageHeader,
  promptBlock,
  riskBadge,
  shortId,
} from './dom.js';
import { approvalTitle } from './page-approvals.js';
import { refreshApprovalCount } from './shell.js';
import { live } from './socket.js';

/** The plan the approvers decide on now: the latest edit, else the plan as submitted. */
const planUnderDecision = (a) => a.edit?.plan ?? a.plan ?? {};
/** What the person asked the assistant that wrote the plan: the plan as submitted says (an edit keeps it). */
const originOf = (a) => a.plan?.metadata ?? planUnderDecision(a).metadata ?? {};

/** The prompt the plan came from, for the approver to read before deciding; null when the plan carries none. */
function promptPanel(a) {
  const origin = originOf(a);
  const prompt = promptBlock(origin.user_prompt);
  if (!prompt) return null;
  return h(
    'section',
    { class: 'panel', 'aria-label': 'Asked by the user', testid: 'approval-prompt' },
    h(
      'div',
      { class: 'panel-head' },
      h('h2', {}, 'Asked by the user'),
      origin.conversation_id
        ? h('span', { class: 'muted small' }, 'conversation ', conversationLink(origin.conversation_id))
        : null,
    ),
    prompt,
  );
}

/** Approval events carry no `still_needed`: the same sum the server makes. */
const stillNeeded = (a) => a.still_needed ?? Math.max(0, (a.required ?? 1) - (a.votes ?? []).length);
/** A plan as the edit box shows it, and as the diffs compare it. */
const planText = (plan) => JSON.stringify(plan ?? {}, null, 2);
/** What a change must touch for the page to be drawn again (typed notes or edits are lost then). */
/** pending, then running, then any end: statuses only move forward. */
const rank = (status) => (status === 'pending' ? 0 : status === 'running' ? 1 : 2);
const shownFacts = (a) =>
  JSON.stringify([
    a.state,
    a.plan_sha256,
    (a.votes ?? []).map((v) => v.principal),
    a.execution_id ?? null,
    // A dry run repeated (a stale one, before the start): new look-ups to show.
    a.dry_run_at ?? null,
  ]);

/** How often the ages of the look-ups shown are written again. */
const AGE_REFRESH_MS = 15_000;

/** `looked up 3 min ago`: the age of a look-up, as a person reads it. */
function lookedUpAgo(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return 'looked up at an unknown time';
  const sec = Math.max(0, (now - t) / 1000);
  if (sec < 10) return 'looked up just now';
  if (sec < 60) return `looked up ${Math.floor(sec)} s ago`;
  if (sec < 3600) return `looked up ${Math.floor(sec / 60)} min ago`;
  if (sec < 86_400) return `looked up ${Math.floor(sec / 3600)} h ago`;
  return `looked up ${Math.floor(sec / 86_400)} d ago`;
}

/** Warnings that change what an approver decides: drawn as alarms, their resources' rows marked. */
const ALARMS = { production_resource: 'production', resource_not_found: 'not found' };
const isAlarm = (code) => Object.hasOwn(ALARMS, code);

/**
 * The age line of a command's look-up (written again by the page's timer): stale once older than
 * the server's `dry_run_max_age_ms`, when the start looks everything up again first.
 */
function paintAge(el, maxAgeMs) {
  const at = el.dataset.at;
  const age = Date.now() - Date.parse(at);
  const stale = maxAgeMs !== null && Number.isFinite(age) && age > maxAgeMs;
  el.classList.toggle('br-stale', stale);
  el.textContent = stale
    ? `${lookedUpAgo(at)} · stale: looked up again before the plan starts (and asked again if anything changed)`
    : lookedUpAgo(at);
  el.title = `Looked up ${fmtTime(at)}`;
}

/**
 * What a command would change, as its dry run looked it up with read-only calls: a table of the
 * resources (production or missing ones marked), the warnings, why the look-up stopped short,
 * and its age. Every value is text (tags and names are whatever the resource's owner wrote).
 * Just the note when nothing was looked up but the dry run says why (an operation with no look-up
 * yet); null when there was nothing to look up (no dry run, a non-AWS command, a read-only call).
 */
function blastRadiusBlock(c, maxAgeMs) {
  const changes = Array.isArray(c.changes) ? c.changes : [];
  const resolution = typeof c.resolution === 'string' ? c.resolution : 'not_applicable';
  const noteText = typeof c.resolution_note === 'string' && c.resolution_note ? c.resolution_note : null;
  // The note already says why nothing could be looked up: not repeated as a warning.
  const warnings = (Array.isArray(c.warnings) ? c.warnings : []).filter(
    (w) => !(w.code === 'unresolved' && w.resource_id == null && w.message === noteText),
  );
  // Why it was not looked up, whenever the dry run says (an operation with no look-up yet, a
  // command naming its own endpoint); nothing at all for work with nothing to look up (a
  // non-AWS command, a read-only call), which comes with no note.
  const note =
    resolution !== 'resolved' && (noteText !== null || resolution !== 'not_applicable')
      ? h(
          'p',
          { class: `br-note br-note-${resolution}`, testid: 'approval-resolution-note' },
          h('strong', {}, resolution === 'partial' ? 'Looked up in part: ' : 'Not looked up: '),
          noteText ?? 'the look-up gave no reason',
        )
      : null;
  if (!changes.length && !warnings.length && resolution === 'not_applicable')
    return note ? h('div', { class: 'blast-radius', testid: 'approval-blast-radius' }, note) : null;
  // Resource id -> the alarms about it, for its row.
  const flagged = new Map();
  for (const w of warnings)
    if (isAlarm(w.code) && w.resource_id != null) {
      const id = String(w.resource_id);
      flagged.set(id, [...(flagged.get(id) ?? []), w.code]);
    }
  const rowFlags = (r) => {
    const codes = new Set(flagged.get(String(r.resource_id)) ?? []);
    if (r.exists === false) codes.add('resource_not_found');
    return [...codes];
  };
  const table = changes.length
    ? h(
        'div',
        { class: 'table-wrap br-table-wrap' },
        h(
          'table',
          { class: 'table br-table', testid: 'approval-changes' },
          h(
            'thead',
            {},
            h(
              'tr',
              {},
              h('th', { scope: 'col' }, 'Action'),
              h('th', { scope: 'col' }, 'Type'),
              h('th', { scope: 'col' }, 'Resource'),
              h('th', { scope: 'col' }, 'What it is'),
            ),
          ),
          h(
            'tbody',
            {},
            changes.map((r) => {
              const flags = rowFlags(r);
              return h(
                'tr',
                {
                  class: flags.map((code) => `br-row-${code}`).join(' ') || null,
                  testid: 'approval-change',
                  'data-resource': String(r.resource_id ?? ''),
                },
                h('td', { class: 'br-action' }, String(r.action ?? '')),
                h(
                  'td',
                  { class: 'mono small br-type' },
                  [r.service, r.resource_type].filter(Boolean).map(String).join(' '),
                ),
                h('td', { class: 'mono br-id' }, String(r.resource_id ?? '')),
                h(
                  'td',
                  { class: 'br-what' },
                  flags.map((code) => h('span', { class: `br-flag br-flag-${code}` }, ALARMS[code])),
                  r.exists === null ? h('span', { class: 'br-flag br-flag-unknown' }, 'not looked up') : null,
                  String(r.summary ?? ''),
                ),
              );
            }),
          ),
        ),
      )
    : null;
  const warningList = warnings.length
    ? h(
        'ul',
        { class: 'br-warnings', testid: 'approval-warnings', 'aria-label': 'Warnings' },
        warnings.map((w) =>
          h(
            'li',
            {
              class: `br-warning${isAlarm(w.code) ? ` br-alarm br-warning-${w.code}` : ''}`,
              testid: 'approval-warning',
              'data-code': String(w.code ?? ''),
            },
            h('strong', {}, `${isAlarm(w.code) ? ALARMS[w.code] : String(w.code ?? 'note').replaceAll('_', ' ')}: `),
            String(w.message ?? w.code ?? ''),
          ),
        ),
      )
    : null;
  const age = c.changes_resolved_at
    ? h('span', {
        class: 'muted small br-age',
        testid: 'approval-changes-age',
        'data-at': String(c.changes_resolved_at),
      })
    : null;
  if (age) paintAge(age, maxAgeMs);
  return h(
    'div',
    { class: 'blast-radius', testid: 'approval-blast-radius' },
    h(
      'div',
      { class: 'code-label br-head' },
      h(
        'span',
        {},
        changes.length
          ? `Will change (${changes.length})`
          : resolution === 'unresolved'
            ? 'Will change: not known'
            : 'Will change',
      ),
      age,
    ),
    table ?? (note ? null : h('p', { class: 'muted small' }, 'Nothing found to change.')),
    warningList,
    note,
  );
}

export async function pageApproval(root, scope, id) {
  document.title = 'Approval · cloudops-exec';
  root.append(h('p', { class: 'muted' }, 'Loading…'));
  let approval;
  /** Who is signed in: the decision is theirs, and their own submissions are not theirs to approve. */
  let me = null;
  /** A refusal to show above the decision buttons after the page is drawn again (a 409 that changed it). */
  let notice = null;
  try {
    [approval, me] = await Promise.all([
      api('GET', `/api/approvals/${encodeURIComponent(id)}`),
      api('GET', '/api/whoami').catch(() => null),
    ]);
  } catch (err) {
    if (!scope.alive) return;
    fill(
      root,
      pageHeader('Approval'),
      errorBox(
        err,
        err instanceof ApiError && err.status === 404 ? `No approval ${id}` : 'Could not load this approval',
      ),
      h('p', {}, h('a', { href: '#/approvals' }, '← All approvals')),
    );
    return;
  }
  if (!scope.alive) return;
  /** The "Order" graph as last drawn, and its node ids in plan order: once the plan runs, it shows the run. */
  let orderDag = null;
  let orderIds = [];
  /** Plan index -> the command's id and view in the run (status, timings), once the approved plan started. */
  let runIds = [];
  let runViews = [];
  /** Command id -> the latest status its live events told, ahead of the history. */
  const heardStatus = new Map();
  let following = null;
  /** The server's `dry_run_max_age_ms`: past it, a look-up shown is stale (null until known). */
  let maxAgeMs = null;
  render();
  api('GET', '/api/health')
    .then((health) => {
      const ms = health?.approval_gate?.dry_run_max_age_ms;
      if (!scope.alive || typeof ms !== 'number') return;
      maxAgeMs = ms;
      paintAges();
    })
    .catch(() => {});
  const ageTimer = setInterval(() => scope.alive && paintAges(), AGE_REFRESH_MS);
  scope.add(() => clearInterval(ageTimer));

  function paintAges() {
    for (const el of root.querySelectorAll('[data-testid="approval-changes-age"]')) paintAge(el, maxAgeMs);
  }

  scope.on('approval', (a) => {
    if (a.id !== id || shownFacts(a) === shownFacts(approval)) return;
    approval = a;
    render();
  });
  scope.on('resync', async () => {
    try {
      const a = await api('GET', `/api/approvals/${encodeURIComponent(id)}`);
      if (scope.alive && shownFacts(a) !== shownFacts(approval)) {
        approval = a;
        render();
      }
    } catch {
      /* keep what is shown */
    }
  });

  function render() {
    const a = approval;
    const req = a.request ?? {};
    const plan = planUnderDecision(a);
    const risk = req.risk_level ?? plan.risk_level ?? null;
    document.title = `${a.state} · ${approvalTitle(a)} · cloudops-exec`;
    const commands =
      Array.isArray(req.commands) && req.commands.length
        ? req.commands
        : (plan.commands ?? []).map((c) => ({
            id: c.id,
            description: c.description,
            command: displayCommand(c.command),
            risk_level: null,
            dry_run_result: null,
          }));
    const parents = planParents(plan, commands.length);

    const focusTarget = document.activeElement?.id;
    fill(
      root,
      h(
        'nav',
        { class: 'crumbs', 'aria-label': 'Breadcrumb' },
        h('a', { href: '#/approvals' }, 'Approvals'),
        ' / ',
        h('span', { class: 'mono' }, shortId(a.id)),
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
            approvalStateBadge(a.state, {
              testid: 'approval-state',
              class: `badge status badge-lg s-${a.state === 'pending' ? 'pending' : a.state}`,
            }),
          ),
          h('h1', {}, approvalTitle(a)),
        ),
      ),
      h(
        'div',
        { class: 'approval-top' },
        h(
          'div',
          { class: `risk-hero risk-${vocabulary.riskLevels.includes(risk) ? risk : 'none'}` },
          h('span', { class: 'risk-hero-label' }, 'Risk'),
          h('strong', { class: 'risk-hero-value', testid: 'approval-risk' }, risk ?? 'unknown'),
          h('span', { class: 'risk-hero-help' }, RISK_HELP[risk] ?? ''),
        ),
        h(
          'dl',
          { class: 'meta panel' },
          metaItem('Plan ID', h('span', { class: 'mono' }, a.id)),
          metaItem('Submitted', fmtTime(a.submitted_at)),
          a.submitted_by ? metaItem('Submitted by', h('span', { testid: 'approval-submitter' }, a.submitted_by)) : null,
          a.edit ? metaItem('Edited by', `${a.edit.by} · ${fmtTime(a.edit.at)}`) : null,
          metaItem('Strategy', strategyText(plan.strategy) || '—'),
          metaItem('Commands', String(commands.length)),
          plan.rollback_strategy ? metaItem('Rollback', plan.rollback_strategy) : null,
          req.estimated_duration_ms ? metaItem('Estimated', fmtDuration(req.estimated_duration_ms)) : null,
        ),
      ),
      promptPanel(a),
      a.state === 'pending' ? decisionPanel() : decisionSummary(),
      a.state === 'pending' || a.state === 'expired' ? approvalsPanel() : null,
      editedPlan(a) ? changesPanel(a) : null,
      commands.length > 1 ? orderPanel(commands, plan, parents) : null,
      h(
        'section',
        { class: 'panel' },
        h('div', { class: 'panel-head' }, h('h2', {}, 'Commands and dry runs')),
        h(
          'ol',
          { class: 'cmd-cards' },
          commands.map((c, index) =>
            h(
              'li',
              { class: `cmd-card risk-edge-${vocabulary.riskLevels.includes(c.risk_level) ? c.risk_level : 'none'}` },
              h(
                'div',
                { class: 'cmd-card-head' },
                h('span', { class: 'cmd-index mono' }, `#${index}`),
                plan.commands?.[index]?.name
                  ? h('span', { class: 'step-name mono', testid: 'approval-step-name' }, plan.commands[index].name)
                  : null,
                h('span', { class: 'cmd-desc' }, c.description && c.description !== c.command ? c.description : ''),
                h(
                  'span',
                  { class: 'muted small' },
                  parents[index]?.length ? `after ${parents[index].map((p) => stepLabel(plan, p)).join(', ')}` : '',
                ),
                riskBadge(c.risk_level),
              ),
              h('div', { class: 'code-label' }, 'Command'),
              h('pre', { class: 'code', testid: 'approval-command' }, String(c.command ?? '')),
              // What the assessment could not establish: the approver decides on that, not on the badge alone.
              c.verified === false
                ? h(
                    'div',
                    { class: 'unverified', testid: 'approval-unverified' },
                    h('strong', {}, 'Not verified: '),
                    (Array.isArray(c.risk_reasons) ? c.risk_reasons : []).map(String).join('; ') ||
                      'what this command does could not be established',
                  )
                : Array.isArray(c.risk_reasons) && c.risk_reasons.length
                  ? h(
                      'div',
                      { class: 'muted small', testid: 'approval-risk-reasons' },
                      c.risk_reasons.map(String).join('; '),
                    )
                  : null,
              blastRadiusBlock(c, maxAgeMs),
              h('div', { class: 'code-label' }, 'Dry run'),
              h('pre', { class: 'code code-dry', testid: 'approval-dry-run' }, dryRunText(c.dry_run_result)),
            ),
          ),
        ),
      ),
    );
    if (focusTarget) document.getElementById(focusTarget)?.focus();
    if (a.execution_id) followRun(a.execution_id);
  }

  /** The plan's graph: each step `planned` until the approved plan runs, then as the run has it. */
  function orderPanel(commands, plan, parents) {
    orderIds = commands.map((c, index) => c.id ?? String(index));
    orderDag = renderDag(
      commands.map((c, index) => ({
        id: orderIds[index],
        index,
        name: plan.commands?.[index]?.name ?? null,
        title: c.description || c.command,
        detail: c.command,
        status: 'planned',
      })),
      parents,
      { interactive: false, testids: false },
    );
    paintRun();
    return h(
      'section',
      { class: 'panel' },
      h(
        'div',
        { class: 'panel-head' },
        h('h2', {}, 'Order'),
        approval.execution_id ? h('span', { class: 'muted small' }, 'as the run has it') : null,
      ),
      h('div', { class: 'dag', testid: 'approval-dag' }, orderDag.svg),
    );
  }

  function paintRun() {
    if (!orderDag) return;
    runIds.forEach((runId, index) => {
      const view = runViews[index];
      const heard = heardStatus.get(runId);
      // Live events can be ahead of the history read: never move a status backwards.
      const status = !view || (heard && rank(heard.status) > rank(view.status)) ? heard?.status : view.status;
      if (!status || orderIds[index] === undefined) return;
      const started_at = view?.started_at ?? (status === 'running' ? heard?.at : null) ?? null;
      orderDag.update(orderIds[index], status, { ...view, status, started_at });
    });
  }

  /** Once approved, the plan's run: its live events say when to read its steps' states again. */
  function followRun(executionId) {
    if (following === executionId) return;
    following = executionId;
    let ended = false;
    let polls = 0;
    const refresh = scope.throttle(async () => {
      let d;
      try {
        d = await api('GET', `/api/executions/${encodeURIComponent(executionId)}`);
      } catch {
        return;
      }
      if (!scope.alive || following !== executionId) return;
      const views = new Map((d.commands ?? []).map((v) => [v.id, v]));
      // By plan position: an edited plan runs under the ids of the edit.
      runIds = (d.plan?.commands ?? []).map((c) => c.id);
      runViews = runIds.map((runId) => views.get(runId) ?? null);
      paintRun();
      // The stream has ended but the history does not show every end yet: look again shortly.
      if (ended && runViews.some((v) => v && vocabulary.active.has(v.status)) && polls++ < 15)
        scope.timeout(() => refresh(), 700);
    }, 300);
    scope.add(
      live.subscribe(executionId, {
        subscribed: () => refresh(),
        event: (event) => {
          const type = event.event_type;
          const status =
            type === 'started'
              ? 'running'
              : type === 'completed'
                ? (event.result?.status ?? 'completed')
                : type === 'failed' || type === 'cancelled'
                  ? type
                  : null;
          if (status) {
            const before = heardStatus.get(event.execution_id);
            if (!before || rank(status) >= rank(before.status))
              heardStatus.set(event.execution_id, { status, at: event.timestamp ?? new Date().toISOString() });
            paintRun();
          }
          if (vocabulary.statusEvents.has(type)) refresh();
        },
        end: () => {
          ended = true;
          refresh();
        },
      }),
    );
    refresh();
  }

  /** Who approved so far, how many more are needed, and how long it still waits. */
  function approvalsPanel() {
    const a = approval;
    const votes = a.votes ?? [];
    const left = a.expires_at ? Date.parse(a.expires_at) - Date.now() : null;
    return h(
      'section',
      { class: 'panel', 'aria-label': 'Approvals so far' },
      h(
        'p',
        { testid: 'approval-votes' },
        h('strong', {}, `${votes.length} of ${a.required ?? 1} approvals`),
        votes.length ? `: ${votes.map((v) => `${v.principal} (${fmtTime(v.at)})`).join(', ')}` : '',
      ),
      a.state === 'pending'
        ? h('p', { testid: 'approval-still-needed' }, `Still needed: ${stillNeeded(a)} more, from someone else`)
        : null,
      a.state === 'expired'
        ? h('p', { testid: 'approval-expired' }, `Expired ${fmtTime(a.expires_at)}: submit the plan again`)
        : left !== null
          ? h('p', { class: 'muted', testid: 'approval-time-left' }, `Expires in ${fmtDuration(left)}`)
          : null,
    );
  }

  function decisionSummary() {
    const a = approval;
    const d = a.decision ?? {};
    const type = d.decision?.type;
    const verb =
      a.state === 'rejected' ? 'Rejected' : type === 'modify_and_approve' ? 'Edited and approved' : 'Approved';
    return h(
      'section',
      { class: `panel decision decision-${a.state}`, 'aria-label': 'Decision' },
      h(
        'p',
        { class: 'decision-line' },
        h('strong', {}, verb),
        d.approved_by ? ` by ${d.approved_by}` : '',
        d.approved_at ? ` · ${fmtTime(d.approved_at)}` : '',
      ),
      d.decision?.reason ? h('p', {}, 'Reason: ', h('q', {}, d.decision.reason)) : null,
      d.notes ? h('p', {}, 'Notes: ', d.notes) : null,
      a.execution_id
        ? h(
            'p',
            {},
            h(
              'a',
              {
                class: 'btn btn-primary',
                href: `#/executions/${encodeURIComponent(a.execution_id)}`,
                testid: 'approval-execution-link',
              },
              'View execution →',
            ),
          )
        : a.state === 'approved'
          ? h('p', { class: 'muted' }, 'Starting…')
          : null,
    );
  }

  function decisionPanel() {
    const errorArea = h('div', { class: 'error-box', testid: 'approval-error', role: 'alert', hidden: true });
    const showError = (content) => {
      errorArea.hidden = false;
      errorArea.replaceChildren(...(typeof content === 'string' ? [h('p', {}, content)] : content));
    };
    const clearError = () => {
      errorArea.hidden = true;
      errorArea.replaceChildren();
    };

    const notes = h('textarea', { id: 'approval-notes', rows: 2, placeholder: 'Optional: recorded with the decision' });
    const approveBtn = h('button', { type: 'button', class: 'btn btn-approve', testid: 'approve-button' }, 'Approve');
    const reason = h('input', {
      id: 'reject-reason',
      testid: 'reject-reason',
      type: 'text',
      placeholder: 'Required to reject',
    });
    const rejectBtn = h('button', { type: 'button', class: 'btn btn-danger', testid: 'reject-button' }, 'Reject');
    const editArea = h('textarea', {
      id: 'edit-plan',
      testid: 'edit-plan',
      rows: 18,
      spellcheck: 'false',
      autocapitalize: 'off',
      autocomplete: 'off',
      class: 'mono',
    });
    const shownText = planText(planUnderDecision(approval));
    editArea.value = shownText;
    // The edit as it stands against the plan shown: what the other approvers will be asked to accept.
    const editDiff = h('div', { class: 'edit-diff', testid: 'edit-diff', 'aria-live': 'polite' });
    let diffTimer = null;
    const showEditDiff = () => {
      diffTimer = null;
      fill(editDiff, diffBlock(shownText, editArea.value, 'No changes yet.'));
    };
    editArea.addEventListener('input', () => {
      if (diffTimer === null) diffTimer = setTimeout(showEditDiff, 150);
    });
    showEditDiff();
    const editApproveBtn = h(
      'button',
      { type: 'button', class: 'btn btn-approve', testid: 'edit-approve-button' },
      'Propose edited plan',
    );
    const editSection = h(
      'div',
      { id: 'edit-section', class: 'edit-section', hidden: true },
      h(
        'label',
        { for: 'edit-plan' },
        'Edited plan (JSON). The server validates it and assesses its risk again. Secret values show as *** and are kept as they were where you leave *** in place. An edit resets the votes: approvers other than you must approve it before it runs.',
      ),
      editArea,
      h('div', { class: 'code-label' }, 'Your changes'),
      editDiff,
      h(
        'div',
        { class: 'button-row' },
        editApproveBtn,
        h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => toggleEdit(false) }, 'Discard edit'),
      ),
    );
    const editBtn = h(
      'button',
      {
        type: 'button',
        class: 'btn',
        testid: 'edit-button',
        'aria-expanded': 'false',
        'aria-controls': 'edit-section',
        onclick: () => toggleEdit(editSection.hidden),
      },
      'Edit and approve…',
    );
    const buttons = [approveBtn, rejectBtn, editBtn, editApproveBtn];
    // The server refuses a submitter's approval of its own plan (SelfApproval): say so before a click.
    const own = me !== null && approval.submitted_by === me.name;
    const voted = me !== null && (approval.votes ?? []).some((v) => v.principal === me.name);
    const enableButtons = () => {
      for (const b of buttons) b.disabled = false;
      if (own) for (const b of [approveBtn, editBtn, editApproveBtn]) b.disabled = true;
      // Approving again would not count twice; an edit (which starts the approvals over) still can.
      if (voted) approveBtn.disabled = true;
    };
    enableButtons();

    function toggleEdit(open) {
      editSection.hidden = !open;
      editBtn.setAttribute('aria-expanded', String(open));
      if (open) editArea.focus();
    }

    /** `acceptRisk`: the approver confirmed an edit rated above the risk shown. */
    async function decide(decision, acceptRisk) {
      clearError();
      for (const b of buttons) b.disabled = true;
      try {
        // The digest of the plan shown: the server refuses the decision if the plan changed since.
        const body = {
          decision,
          plan_sha256: approval.plan_sha256,
          notes: notes.value.trim() || null,
          ...(acceptRisk ? { accept_risk: acceptRisk } : {}),
        };
        const updated = await api('POST', `/api/approvals/${encodeURIComponent(id)}/decision`, body);
        if (!scope.alive) return;
        approval = updated;
        render();
        refreshApprovalCount();
        document.querySelector('[data-testid="approval-state"]')?.focus?.();
      } catch (err) {
        if (!scope.alive) return;
        enableButtons();
        if (
          err instanceof ApiError &&
          err.error.code === 'ApprovalRequired' &&
          decision.type === 'modify_and_approve'
        ) {
          // The edit is riskier than what was reviewed: say so, and run it only on a second, explicit click.
          const confirm = h(
            'button',
            {
              type: 'button',
              class: 'btn btn-danger',
              testid: 'accept-risk-button',
              onclick: () => decide(decision, 'destructive'),
            },
            'Run the edited plan at its higher risk',
          );
          showError([...errorContent(err, 'The edit raises the risk'), h('div', { class: 'button-row' }, confirm)]);
          return;
        }
        const content = errorContent(
          err,
          err instanceof ApiError && err.status < 500 ? 'The server refused this decision:' : undefined,
        );
        showError(content);
        // Expired, decided, edited or dry-run again meanwhile: show it as it is now, with the reason.
        if (err instanceof ApiError && err.status === 409) {
          try {
            const now = await api('GET', `/api/approvals/${encodeURIComponent(id)}`);
            if (!scope.alive || shownFacts(now) === shownFacts(approval)) return;
            approval = now;
            notice = content;
            render();
          } catch {
            /* the error shown is enough */
          }
        }
      }
    }

    approveBtn.addEventListener('click', () => decide({ type: 'approve' }));
    rejectBtn.addEventListener('click', () => {
      const why = reason.value.trim();
      if (!why) {
        clearError();
        showError('Give a reason for rejecting.');
        reason.focus();
        return;
      }
      decide({ type: 'reject', reason: why });
    });
    editApproveBtn.addEventListener('click', () => {
      let edited;
      try {
        edited = JSON.parse(editArea.value);
      } catch (err) {
        showError(`The edited plan is not valid JSON: ${err.message}`);
        editArea.focus();
        return;
      }
      decide({ type: 'modify_and_approve', modified_plan: edited });
    });

    const panel = h(
      'section',
      { class: 'panel decision-panel', 'aria-labelledby': 'decide-heading' },
      h('h2', { id: 'decide-heading' }, 'Decide'),
      own
        ? h('p', { class: 'muted', testid: 'approval-own' }, 'You submitted this plan: someone else must approve it.')
        : me
          ? h('p', { class: 'muted' }, `Deciding as ${me.name}`)
          : null,
      h(
        'div',
        { class: 'decision-grid' },
        h('div', { class: 'field grow' }, h('label', { for: 'approval-notes' }, 'Notes'), notes),
      ),
      h(
        'div',
        { class: 'decision-actions' },
        h('div', { class: 'action-group' }, approveBtn, editBtn),
        h(
          'div',
          { class: 'action-group reject-group' },
          h('label', { for: 'reject-reason', class: 'sr-only' }, 'Reason for rejecting'),
          reason,
          rejectBtn,
        ),
      ),
      editSection,
      errorArea,
    );
    if (notice) showError(notice);
    notice = null;
    return panel;
  }
}

/** The plan an approver's edit put in place of the submitted one (waiting for votes, or decided), else null. */
function editedPlan(a) {
  if (a.edit?.plan) return { plan: a.edit.plan, by: a.edit.by, at: a.edit.at };
  const d = a.decision;
  if (d?.decision?.type === 'modify_and_approve')
    return { plan: d.decision.modified_plan, by: d.approved_by, at: d.approved_at };
  return null;
}

/** What the edit changed in the plan as submitted: the lines that differ, with a little context. */
function changesPanel(a) {
  const edit = editedPlan(a);
  return h(
    'section',
    { class: 'panel', 'aria-labelledby': 'changes-heading' },
    h(
      'div',
      { class: 'panel-head' },
      h('h2', { id: 'changes-heading' }, 'Changes to the submitted plan'),
      h(
        'span',
        { class: 'muted small' },
        [edit.by ? `edited by ${edit.by}` : 'edited', edit.at ? ` · ${fmtTime(edit.at)}` : ''].join(''),
      ),
    ),
    h(
      'div',
      { testid: 'approval-edit-diff' },
      diffBlock(
        planText(a.plan),
        planText(edit.plan),
        'No visible change: the edit can only have changed values hidden as ***.',
      ),
    ),
  );
}

/** A unified diff of two texts: changed lines with three lines of context, hunks apart, counts on top. */
function diffBlock(before, after, emptyText) {
  const ops = lineDiff(before, after);
  const hunks = diffHunks(ops);
  if (!hunks.length) return h('p', { class: 'muted small' }, emptyText);
  const { added, removed } = diffStats(ops);
  const mark = { ' ': ' ', '-': '−', '+': '+' };
  return h(
    'div',
    {},
    h(
      'p',
      { class: 'small diff-stats' },
      h('span', { class: 'diff-add' }, `+${added}`),
      ' ',
      h('span', { class: 'diff-del' }, `−${removed}`),
      ` line${added + removed === 1 ? '' : 's'}`,
    ),
    h(
      'pre',
      { class: 'code diff' },
      hunks.map((hunk, index) => [
        index > 0 ? h('span', { class: 'diff-gap' }, '⋯\n') : null,
        hunk.map((line) =>
          h(
            'span',
            { class: line.op === '+' ? 'diff-add' : line.op === '-' ? 'diff-del' : 'diff-ctx' },
            `${String(line.op === '+' ? line.after : line.before).padStart(4)} ${mark[line.op]} ${line.text}\n`,
          ),
        ),
      ]),
    ),
  );
}

function metaItem(term, value) {
  return h('div', { class: 'meta-item' }, h('dt', {}, term), h('dd', {}, value));
}
