// Page #/approvals: the approval queue, pending first.

import { api, errorBox } from './api.js';
import { vocabulary } from './constants.js';
import { approvalStateBadge, h, pageHeader, riskBadge, shortId, timeEl } from './dom.js';

const approvalsFilter = { state: '' };

export function pageApprovals(root, scope) {
  document.title = 'Approvals · cloudops-exec';
  const tbody = h('tbody');
  const errorSlot = h('div');
  const choices = [
    ['', 'All'],
    ...vocabulary.approvalStates.map((state) => [state, state[0].toUpperCase() + state.slice(1)]),
  ];
  const filters = h(
    'div',
    { class: 'segmented', role: 'group', 'aria-label': 'Show approvals' },
    choices.map(([value, label]) =>
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small',
          'aria-pressed': String(approvalsFilter.state === value),
          onclick: (event) => {
            approvalsFilter.state = value;
            for (const b of filters.querySelectorAll('button'))
              b.setAttribute('aria-pressed', String(b === event.currentTarget));
            load();
          },
        },
        label,
      ),
    ),
  );
  root.append(
    pageHeader('Approvals', filters),
    h(
      'p',
      { class: 'muted' },
      'Plans that are not read-only wait here for a human decision. Pending first, newest first.',
    ),
    errorSlot,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table' },
        h('caption', { class: 'sr-only' }, 'Approvals'),
        h(
          'thead',
          {},
          h(
            'tr',
            {},
            ['State', 'Risk', 'Description', 'Commands', 'Submitted', 'Decision'].map((t) =>
              h('th', { scope: 'col' }, t),
            ),
          ),
        ),
        tbody,
      ),
    ),
  );

  let seq = 0;
  async function load() {
    const mine = ++seq;
    let data;
    try {
      data = await api(
        'GET',
        approvalsFilter.state ? `/api/approvals?state=${approvalsFilter.state}` : '/api/approvals',
      );
    } catch (err) {
      if (scope.alive && mine === seq) errorSlot.replaceChildren(errorBox(err, 'Could not load approvals'));
      return;
    }
    if (!scope.alive || mine !== seq) return;
    errorSlot.replaceChildren();
    const list = [...data.approvals].sort(
      (a, b) =>
        (a.state === 'pending' ? 0 : 1) - (b.state === 'pending' ? 0 : 1) ||
        String(b.submitted_at).localeCompare(String(a.submitted_at)),
    );
    tbody.replaceChildren(...list.map(approvalRow));
    if (!list.length)
      tbody.append(
        h(
          'tr',
          { class: 'empty-row' },
          h(
            'td',
            { colspan: 6 },
            approvalsFilter.state ? `No ${approvalsFilter.state} approvals.` : 'Nothing has needed approval yet.',
          ),
        ),
      );
  }

  const refresh = scope.debounce(load, 200);
  scope.on('approval', refresh);
  scope.on('resync', refresh);
  load();
}

export function approvalTitle(a) {
  return a.request?.description || a.plan?.description || `Plan ${shortId(a.id)}`;
}

function approvalRow(a) {
  const href = `#/approvals/${encodeURIComponent(a.id)}`;
  const d = a.decision;
  const decisionType = d?.decision?.type;
  const tr = h(
    'tr',
    {
      testid: 'approval-row',
      'data-id': a.id,
      'data-state': a.state,
      class: `clickable${a.state === 'pending' ? ' row-pending' : ''}`,
    },
    h('td', {}, approvalStateBadge(a.state)),
    h('td', {}, riskBadge(a.request?.risk_level)),
    h(
      'td',
      { class: 'cmd-cell' },
      h('a', { href }, approvalTitle(a)),
      h('div', { class: 'muted small mono' }, shortId(a.id)),
    ),
    h('td', {}, String(a.request?.commands?.length ?? a.plan?.commands?.length ?? '—')),
    h('td', { class: 'nowrap' }, timeEl(a.submitted_at)),
    h(
      'td',
      { class: 'small' },
      d
        ? [
            `${decisionType === 'reject' ? 'rejected' : decisionType === 'modify_and_approve' ? 'edited & approved' : 'approved'} by ${d.approved_by ?? '?'}`,
            a.execution_id
              ? [' · ', h('a', { href: `#/executions/${encodeURIComponent(a.execution_id)}` }, 'execution')]
              : null,
          ]
        : h('span', { class: 'muted' }, 'waiting'),
    ),
  );
  tr.addEventListener('click', (event) => {
    if (!event.target.closest('a, button')) location.hash = href;
  });
  return tr;
}
