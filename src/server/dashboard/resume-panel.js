// A plan run's "Resume" button and panel (the steps that will run and the ones carried over,
// before anything starts), and how a resumed run shows where it came from.

import { ApiError, api, errorBox } from './api.js';
import { vocabulary } from './constants.js';
import { stepLabel } from './dag.js';
import { displayCommand, h, riskBadge, shortId } from './dom.js';

/** Roles whose principals may submit work (the server checks again: a refusal is shown). */
const SUBMIT_ROLES = new Set(['submitter', 'admin']);

/** The indices of the steps a resumed run carried over from the run it resumed (empty for a first run). */
export function carriedIndices(plan) {
  return new Set(plan?.resumed_from?.carried ?? []);
}

/** "Resumed from <run>", as an item of the details list; null for a first run. */
export function resumedFromItem(plan) {
  const from = plan?.resumed_from?.plan_id;
  if (!from) return null;
  const carried = plan.resumed_from.carried?.length ?? 0;
  return h(
    'div',
    { class: 'meta-item' },
    h('dt', {}, 'Resumed from'),
    h(
      'dd',
      { testid: 'resumed-from' },
      h('a', { href: `#/executions/${encodeURIComponent(from)}`, class: 'mono', title: from }, shortId(from)),
      h('span', { class: 'muted small' }, ` · ${carried} step${carried === 1 ? '' : 's'} carried over`),
    ),
  );
}

/**
 * The mark of a step carried over (it did not run in this run): a link to the execution that ran
 * it (its `carried_from`), else, while this run has no record of the step yet, to the run resumed.
 */
export function carriedTag(member, plan) {
  if (!member.carried) return null;
  const ranIn = member.view?.carried_from ?? null;
  const target = ranIn ?? plan?.resumed_from?.plan_id ?? null;
  return h(
    'div',
    { class: 'carried-tag small', testid: 'carried-tag' },
    'carried over',
    target
      ? [
          ' · ran in ',
          h(
            'a',
            {
              href: `#/executions/${encodeURIComponent(target)}`,
              class: 'mono',
              title: ranIn ? 'The execution that ran this step' : 'The run this one resumed',
              testid: 'carried-from',
            },
            shortId(target),
          ),
        ]
      : null,
  );
}

/** A step as the preview lists it: its label and what it runs. */
function stepItem(plan, index) {
  const request = plan?.commands?.[index];
  const text = request?.description || displayCommand(request?.command);
  return h(
    'li',
    { 'data-index': String(index) },
    h('span', { class: 'mono step-label' }, stepLabel(plan, index)),
    text ? h('span', { class: 'muted small' }, ` ${text}`) : null,
  );
}

/**
 * The "Resume" button (for a finished plan run that did not complete; "Run again from step…"
 * for one that did) and its panel. Hidden for principals who may not submit work and while the
 * run is still going. `update(exec, plan)` follows the run's status.
 */
export function resumePanel(id) {
  let mayResume = false;
  let exec = null;
  let plan = null;
  let open = false;
  let preview = null;
  let asked = 0; // the latest preview asked for: older answers are dropped
  let submitting = false;

  const button = h('button', {
    type: 'button',
    class: 'btn btn-primary',
    testid: 'resume-button',
    hidden: true,
    'aria-expanded': 'false',
    onclick: () => (open ? close() : openPanel()),
  });
  const title = h('h2');
  const select = h('select', { id: 'resume-from', testid: 'resume-from', onchange: () => ask() });
  const previewEl = h('div', { class: 'resume-preview', testid: 'resume-preview', 'aria-live': 'polite' });
  const errorEl = h('div', { class: 'resume-error', testid: 'resume-error' });
  const confirmBtn = h('button', {
    type: 'button',
    class: 'btn btn-primary',
    testid: 'resume-confirm',
    disabled: true,
    onclick: () => confirm(),
  });
  const panel = h(
    'section',
    { class: 'panel resume-panel', testid: 'resume-panel', hidden: true, 'aria-label': 'Resume' },
    h('div', { class: 'panel-head' }, title),
    h('div', { class: 'field resume-field' }, h('label', { for: 'resume-from' }, 'From step'), select),
    previewEl,
    h(
      'div',
      { class: 'resume-actions' },
      confirmBtn,
      h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => close() }, 'Close'),
    ),
    errorEl,
  );

  api('GET', '/api/whoami').then(
    (me) => {
      mayResume = SUBMIT_ROLES.has(me?.role);
      render();
    },
    () => {},
  );

  /** Every step completed: only "from a step" makes sense (it and the steps after it run again). */
  const completed = () => exec?.status === 'completed';
  const resumable = () => mayResume && exec !== null && plan !== null && !vocabulary.active.has(exec.status);

  function render() {
    button.hidden = !resumable();
    button.textContent = completed() ? 'Run again from step…' : 'Resume…';
    if (!resumable() && open) close();
  }

  function fillSelect() {
    const steps = (plan?.commands ?? []).map((request, index) =>
      h(
        'option',
        { value: String(index) },
        `${stepLabel(plan, index)}${request.name ? '' : ` ${request.description || displayCommand(request.command)}`}`,
      ),
    );
    select.replaceChildren(
      h('option', { value: '' }, completed() ? 'Choose a step…' : 'The steps that did not complete'),
      ...steps,
    );
    select.value = '';
  }

  function openPanel() {
    open = true;
    button.setAttribute('aria-expanded', 'true');
    title.textContent = completed() ? 'Run again from a step' : 'Resume this run';
    fillSelect();
    panel.hidden = false;
    ask();
    select.focus();
  }

  function close() {
    open = false;
    asked++;
    button.setAttribute('aria-expanded', 'false');
    panel.hidden = true;
    previewEl.replaceChildren();
    errorEl.replaceChildren();
  }

  /** The chosen step's index, or null for the default (the steps that did not complete). */
  const fromValue = () => (select.value === '' ? null : Number(select.value));

  /** Ask the server what the resume would do (from the chosen step). */
  async function ask() {
    const seq = ++asked;
    preview = null;
    confirmBtn.disabled = true;
    confirmBtn.textContent = 'Resume';
    errorEl.replaceChildren();
    const from = fromValue();
    if (from === null && completed()) {
      previewEl.replaceChildren(
        h('p', { class: 'muted' }, 'Every step completed. Choose a step: it and the steps after it run again.'),
      );
      return;
    }
    previewEl.replaceChildren(h('p', { class: 'muted' }, 'Checking what would run…'));
    const query = from === null ? '' : `?from=${encodeURIComponent(String(from))}`;
    try {
      const answer = await api('GET', `/api/executions/${encodeURIComponent(id)}/resume${query}`);
      if (seq !== asked) return;
      preview = answer;
      showPreview(answer);
    } catch (err) {
      if (seq !== asked) return;
      previewEl.replaceChildren();
      errorEl.replaceChildren(errorBox(err, refusalTitle(err, 'Cannot resume this run')));
    }
  }

  function showPreview(p) {
    const list = (indices, testid) =>
      indices.length
        ? h(
            'ul',
            { class: 'resume-steps', testid },
            indices.map((i) => stepItem(plan, i)),
          )
        : h('p', { class: 'muted small', testid }, 'None');
    previewEl.replaceChildren(
      h(
        'div',
        { class: 'resume-columns' },
        h('div', {}, h('h3', {}, `Will run (${p.runs.length})`), list(p.runs, 'resume-runs')),
        h(
          'div',
          {},
          h('h3', {}, `Carried over (${p.carried.length})`),
          h('p', { class: 'muted small' }, 'Completed in this run: not run again, their outputs are used.'),
          list(p.carried, 'resume-carried'),
        ),
      ),
      h(
        'p',
        { class: 'resume-facts', testid: 'resume-facts' },
        'Risk of the steps that run: ',
        riskBadge(p.risk_level),
        ' · ',
        p.requires_approval
          ? h('strong', { testid: 'resume-needs-approval' }, 'waits for approval before it starts')
          : 'starts at once',
      ),
    );
    confirmBtn.textContent = p.requires_approval ? 'Submit for approval' : 'Resume';
    confirmBtn.disabled = false;
  }

  async function confirm() {
    if (submitting || preview === null) return;
    submitting = true;
    confirmBtn.disabled = true;
    errorEl.replaceChildren();
    const from = fromValue();
    try {
      const answer = await api(
        'POST',
        `/api/executions/${encodeURIComponent(id)}/resume`,
        from === null ? {} : { from },
      );
      location.hash = answer.approval_id
        ? `#/approvals/${encodeURIComponent(answer.approval_id)}`
        : `#/executions/${encodeURIComponent(answer.id)}`;
    } catch (err) {
      errorEl.replaceChildren(errorBox(err, refusalTitle(err, 'Could not resume')));
      confirmBtn.disabled = false;
    } finally {
      submitting = false;
    }
  }

  return {
    button,
    panel,
    /** The run as now known (status) and its plan. */
    update(nextExec, nextPlan) {
      exec = nextExec;
      plan = nextPlan ?? null;
      render();
    },
  };
}

/** A refusal's heading: a run that cannot be resumed says so; a bad step names the field. */
function refusalTitle(err, fallback) {
  if (!(err instanceof ApiError)) return fallback;
  if (err.error?.code === 'NotResumable') return 'This run cannot be resumed';
  if (err.status === 403) return 'You may not submit work';
  return undefined;
}
