// Page #/: the executions list, with search, status / risk filters and paging;
// #/?conversation=<id>: one conversation's executions.

import { api, errorBox } from './api.js';
import { bus } from './bus.js';
import { vocabulary } from './constants.js';
import {
  durationEl,
  errorCodeEl,
  h,
  pageHeader,
  promptSnippet,
  riskBadge,
  shortId,
  statusBadge,
  timeEl,
} from './dom.js';
import { approvalsState } from './shell.js';

const PAGE_SIZE = 50;

const listState = { q: '', status: '', risk: '', conversation: '', offset: 0 };

/** The conversation the address names (`#/?conversation=<id>`), else ''. */
function conversationOfHash() {
  const query = location.hash.split('?')[1] ?? '';
  return new URLSearchParams(query).get('conversation') ?? '';
}

/**
 * Plans seen running in `progress` events. The history keeps a running plan's record at
 * `pending` until it ends, so the list shows these as running instead.
 */
const runningPlans = new Set();
bus.on('event', (event) => {
  if (event.event_type !== 'progress' || !event.plan_id) return;
  if (event.current_command === null && event.completed >= event.total) runningPlans.delete(event.plan_id);
  else runningPlans.add(event.plan_id);
});

function listedStatus(e) {
  if (e.kind === 'plan' && e.status === 'pending' && runningPlans.has(e.id)) return 'running';
  if (e.kind === 'plan' && !vocabulary.active.has(e.status)) runningPlans.delete(e.id);
  return e.status;
}

function selectField(id, label, options, value, onChange) {
  const select = h(
    'select',
    { id, onchange: () => onChange(select.value) },
    options.map(([v, text]) => h('option', { value: v, selected: v === value }, text)),
  );
  return h('div', { class: 'field' }, h('label', { for: id }, label), select);
}

export function pageExecutions(root, scope) {
  document.title = 'Executions · cloudops-exec';
  const conversation = conversationOfHash();
  if (conversation !== listState.conversation) {
    listState.conversation = conversation;
    listState.offset = 0;
  }
  const conversationChip = conversation
    ? h(
        'div',
        { class: 'filter-chip', testid: 'conversation-filter' },
        h('span', {}, 'Conversation ', h('span', { class: 'mono' }, conversation)),
        h('a', { class: 'btn btn-ghost btn-small', href: '#/', title: 'Show every execution' }, 'Clear'),
      )
    : null;
  const banner = h('a', { class: 'banner', href: '#/approvals', testid: 'pending-approvals', hidden: true });
  const showBanner = (count) => {
    banner.hidden = !count;
    banner.replaceChildren(
      h('span', { class: 'banner-icon', 'aria-hidden': 'true' }, '!'),
      h(
        'span',
        {},
        h('strong', {}, String(count ?? 0)),
        count === 1 ? ' approval is waiting for a decision' : ' approvals are waiting for a decision',
      ),
      h('span', { class: 'banner-cta' }, 'Review →'),
    );
  };
  showBanner(approvalsState.count);
  scope.on('approval-count', showBanner);

  const search = h('input', {
    id: 'exec-search',
    type: 'search',
    placeholder: 'Commands, descriptions, output, prompts…',
    autocomplete: 'off',
    value: listState.q,
  });
  const clear = h('button', { type: 'button', class: 'btn btn-ghost', hidden: !listState.q }, 'Clear');
  const applySearch = () => {
    const q = search.value.trim();
    if (q === listState.q) return;
    listState.q = q;
    listState.offset = 0;
    clear.hidden = !q;
    load();
  };
  const searchSoon = scope.debounce(applySearch, 400);
  search.addEventListener('input', searchSoon);
  clear.addEventListener('click', () => {
    search.value = '';
    applySearch();
    search.focus();
  });
  const toolbar = h(
    'form',
    {
      class: 'toolbar',
      role: 'search',
      onsubmit: (event) => {
        event.preventDefault();
        searchSoon.cancel();
        applySearch();
      },
    },
    h(
      'div',
      { class: 'field grow' },
      h('label', { for: 'exec-search' }, 'Search'),
      h('div', { class: 'input-row' }, search, h('button', { type: 'submit', class: 'btn' }, 'Search'), clear),
    ),
    selectField(
      'exec-status',
      'Status',
      [['', 'All statuses'], ...vocabulary.statuses.map((st) => [st, st])],
      listState.status,
      (v) => {
        listState.status = v;
        listState.offset = 0;
        load();
      },
    ),
    selectField(
      'exec-risk',
      'Risk',
      [['', 'All risks'], ...vocabulary.riskLevels.map((r) => [r, r])],
      listState.risk,
      (v) => {
        listState.risk = v;
        listState.offset = 0;
        load();
      },
    ),
  );

  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'table exec-table' },
    h('caption', { class: 'sr-only' }, 'Executions, newest first'),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ['Status', 'Risk', 'Command / description', 'Submitted', 'Duration'].map((t) => h('th', { scope: 'col' }, t)),
      ),
    ),
    tbody,
  );
  const info = h('p', { class: 'muted list-info', 'aria-live': 'polite' });
  const prev = h('button', { type: 'button', class: 'btn', onclick: () => page(-1) }, '← Newer');
  const next = h('button', { type: 'button', class: 'btn', onclick: () => page(1) }, 'Older →');
  const pager = h('div', { class: 'pager' }, info, h('div', { class: 'pager-buttons' }, prev, next));
  const errorSlot = h('div');

  root.append(
    pageHeader('Executions', h('a', { class: 'btn btn-primary', href: '#/submit' }, 'New submission')),
    banner,
    toolbar,
    conversationChip,
    errorSlot,
    h('div', { class: 'table-wrap' }, table),
    pager,
  );

  function page(dir) {
    listState.offset = Math.max(0, listState.offset + dir * PAGE_SIZE);
    load();
  }

  let seq = 0;
  async function load() {
    const mine = ++seq;
    let data;
    try {
      const filters = new URLSearchParams();
      if (listState.status) filters.set('status', listState.status);
      if (listState.risk) filters.set('risk_level', listState.risk);
      if (listState.conversation) filters.set('conversation_id', listState.conversation);
      if (listState.q) {
        // The server filters the matches (commands inside plans included), best first.
        filters.set('q', listState.q);
        filters.set('limit', '200');
        data = await api('GET', `/api/search?${filters}`);
        data = { executions: data.executions, total: data.executions.length, search: true };
      } else {
        filters.set('top_level', 'true');
        filters.set('limit', String(PAGE_SIZE));
        filters.set('offset', String(listState.offset));
        data = await api('GET', `/api/executions?${filters}`);
      }
    } catch (err) {
      if (scope.alive && mine === seq) errorSlot.replaceChildren(errorBox(err, 'Could not load executions'));
      return;
    }
    if (!scope.alive || mine !== seq) return;
    errorSlot.replaceChildren();
    render(data);
  }

  function render(data) {
    const rows = data.executions;
    tbody.replaceChildren(...rows.map(executionRow));
    if (!rows.length) {
      const filtered = listState.q || listState.status || listState.risk || listState.conversation;
      tbody.append(
        h(
          'tr',
          { class: 'empty-row' },
          h(
            'td',
            { colspan: 5 },
            filtered
              ? 'Nothing matches these filters.'
              : ['No executions yet. ', h('a', { href: '#/submit' }, 'Submit a command or plan'), '.'],
          ),
        ),
      );
    }
    if (data.search) {
      info.textContent = `${rows.length} match${rows.length === 1 ? '' : 'es'} for “${listState.q}” (best first; commands inside plans included)`;
      prev.hidden = next.hidden = true;
    } else {
      const from = rows.length ? listState.offset + 1 : 0;
      info.textContent = `${from}–${listState.offset + rows.length} of ${data.total}`;
      prev.hidden = next.hidden = false;
      prev.disabled = listState.offset === 0;
      next.disabled = listState.offset + rows.length >= data.total;
    }
  }

  const refresh = scope.debounce(load, 300);
  scope.on('event', (event) => vocabulary.statusEvents.has(event.event_type) && refresh());
  scope.on('resync', refresh);
  load();
}

function executionRow(listed) {
  const e = { ...listed, status: listedStatus(listed) };
  const href = `#/executions/${encodeURIComponent(e.id)}`;
  const title = e.description || e.command;
  const showCommand = e.kind === 'command' && e.description && e.description !== e.command;
  const tr = h(
    'tr',
    { testid: 'execution-row', 'data-id': e.id, 'data-status': e.status, class: 'clickable' },
    h('td', {}, statusBadge(e.status)),
    h('td', {}, riskBadge(e.risk_level)),
    h(
      'td',
      { class: 'cmd-cell' },
      h(
        'div',
        { class: 'cmd-title' },
        h('span', { class: `kind kind-${e.kind}` }, e.kind),
        h('a', { href, class: e.kind === 'command' && !e.description ? 'mono' : '' }, title),
      ),
      showCommand ? h('div', { class: 'mono muted small truncate' }, e.command) : null,
      e.plan_id
        ? h(
            'div',
            { class: 'muted small' },
            'in plan ',
            h('a', { href: `#/executions/${encodeURIComponent(e.plan_id)}` }, shortId(e.plan_id)),
          )
        : null,
      // What the person asked that led to it (the whole prompt is the line's title; the execution page shows it all).
      promptSnippet(e.user_prompt),
      e.error
        ? h('div', { class: 'error-text small truncate', title: e.error }, errorCodeEl(e.error_code), e.error)
        : null,
    ),
    h('td', { class: 'nowrap' }, timeEl(e.submitted_at)),
    h('td', { class: 'nowrap' }, durationEl(e)),
  );
  tr.addEventListener('click', (event) => {
    if (event.target.closest('a, button')) return;
    location.hash = href;
  });
  return tr;
}
