/**
 * cloudops-exec dashboard: a vanilla ES module, no build step, no dependencies.
 *
 * Pages (hash routing): #/ executions, #/executions/<id>, #/approvals, #/approvals/<id>,
 * #/submit. Data comes from the JSON API (same-origin fetch, cookie auth) and one
 * WebSocket (/api/ws) carrying live events. Server data only ever reaches the DOM as text
 * (textContent / text nodes), never as HTML.
 */

// ---------------------------------------------------------------- constants

const STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled', 'timeout', 'skipped', 'rolled_back', 'interrupted'];
const RISKS = ['read_only', 'modify', 'destructive'];
const ACTIVE = new Set(['pending', 'running']);
/** Events after which an execution's status (or a plan's) may have changed. */
const STATUS_EVENTS = new Set(['started', 'completed', 'failed', 'cancelled', 'progress', 'retrying', 'rollback_started', 'rollback_completed']);
const APPROVER_KEY = 'cloudops-exec.approver';
const DRAFT_KEY = 'cloudops-exec.submit-draft';
const MAX_LOG_ROWS = 10_000;
const MAX_ENTRIES = 50_000;
const PAGE_SIZE = 50;
const SVG_NS = 'http://www.w3.org/2000/svg';

const RISK_HELP = {
  read_only: 'Only reads: nothing is changed.',
  modify: 'Changes state: files, configuration or resources are modified.',
  destructive: 'Deletes or terminates things: check every command before approving.',
};

// ---------------------------------------------------------------- DOM helpers

function setProps(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key === 'testid') el.setAttribute('data-testid', value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'value') el.value = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
}

function addChildren(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child)); // strings become text nodes
  }
}

/** An HTML element. */
function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  addChildren(el, children);
  return el;
}

/** Replace an element's children (null / false children are left out). */
function fill(el, ...children) {
  el.replaceChildren();
  addChildren(el, children);
  return el;
}

/** An SVG element. */
function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  addChildren(el, children);
  return el;
}

function debounce(fn, ms) {
  let timer = null;
  const debounced = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timer = null;
      fn(...args);
    }, ms);
  };
  debounced.cancel = () => clearTimeout(timer);
  return debounced;
}

/** At most one call per `ms`, the last one always made (leading and trailing). */
function throttle(fn, ms) {
  let timer = null;
  let last = 0;
  const throttled = (...args) => {
    if (timer) return;
    const wait = Math.max(0, last + ms - Date.now());
    timer = setTimeout(() => {
      timer = null;
      last = Date.now();
      fn(...args);
    }, wait);
  };
  throttled.cancel = () => {
    clearTimeout(timer);
    timer = null;
  };
  return throttled;
}

/** What a page holds while it is shown; disposed when the route changes. */
function makeScope() {
  const cleanups = [];
  const scope = {
    alive: true,
    add(fn) {
      cleanups.push(fn);
    },
    debounce(fn, ms) {
      const d = debounce((...args) => scope.alive && fn(...args), ms);
      cleanups.push(d.cancel);
      return d;
    },
    throttle(fn, ms) {
      const t = throttle((...args) => scope.alive && fn(...args), ms);
      cleanups.push(t.cancel);
      return t;
    },
    timeout(fn, ms) {
      const t = setTimeout(() => scope.alive && fn(), ms);
      cleanups.push(() => clearTimeout(t));
    },
    on(name, fn) {
      cleanups.push(bus.on(name, fn));
    },
    dispose() {
      scope.alive = false;
      for (const fn of cleanups.splice(0)) {
        try {
          fn();
        } catch {
          /* a cleanup must not stop the others */
        }
      }
    },
  };
  return scope;
}

/** A tiny event bus between the live connection and the pages. */
const bus = {
  listeners: new Map(),
  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.listeners.get(name)?.delete(fn);
  },
  emit(name, value) {
    for (const fn of [...(this.listeners.get(name) ?? [])]) fn(value);
  },
};

function storageGet(store, key) {
  try {
    return store.getItem(key);
  } catch {
    return null;
  }
}

function storageSet(store, key, value) {
  try {
    if (value === null) store.removeItem(key);
    else store.setItem(key, value);
  } catch {
    /* private mode or full: not worth failing over */
  }
}

// ---------------------------------------------------------------- formatting

function fmtDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  ms = Math.max(0, ms);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const sec = ms / 1000;
  if (sec < 60) return `${sec.toFixed(sec < 10 ? 2 : 1)} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min}m ${String(Math.floor(sec % 60)).padStart(2, '0')}s`;
  return `${Math.floor(min / 60)}h ${String(min % 60).padStart(2, '0')}m`;
}

function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
}

function fmtAgo(iso) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const sec = (Date.now() - t) / 1000;
  if (sec < 5) return 'just now';
  if (sec < 60) return `${Math.floor(sec)} s ago`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min ago`;
  if (sec < 86_400) return `${Math.floor(sec / 3600)} h ago`;
  return new Date(t).toLocaleDateString();
}

function fmtClock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

function elapsedText(since, prefix = '') {
  const t = Date.parse(since);
  return prefix + (Number.isNaN(t) ? '—' : fmtDuration(Date.now() - t));
}

function timeEl(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: fmtTime(iso), 'data-ago': iso }, fmtAgo(iso));
}

/** A duration, or the live elapsed time of something still running. */
function durationEl(view) {
  if (view.status === 'running' && view.started_at) {
    return h('span', { 'data-since': view.started_at, class: 'elapsed' }, elapsedText(view.started_at));
  }
  return h('span', {}, fmtDuration(view.duration_ms));
}

// Live clocks: elapsed times and "… ago" labels, once a second.
setInterval(() => {
  for (const el of document.querySelectorAll('[data-since]')) el.textContent = elapsedText(el.dataset.since, el.dataset.prefix ?? '');
  for (const el of document.querySelectorAll('[data-ago]')) el.textContent = fmtAgo(el.dataset.ago);
}, 1000);

const statusClass = (status) => (STATUSES.includes(status) || ['approved', 'rejected', 'planned'].includes(status) ? status : 'unknown');

function statusBadge(status, props = {}) {
  return h('span', { class: `badge status s-${statusClass(status)}`, 'data-status': status, ...props }, status ?? 'unknown');
}

function approvalStateBadge(state, props = {}) {
  const cls = state === 'pending' ? 'pending' : state === 'approved' ? 'approved' : state === 'rejected' ? 'rejected' : 'unknown';
  return h('span', { class: `badge status s-${cls}`, 'data-state': state, ...props }, state ?? 'unknown');
}

function riskBadge(risk) {
  if (!risk) return h('span', { class: 'badge risk risk-none', title: 'Risk not assessed' }, '—');
  return h('span', { class: `badge risk risk-${RISKS.includes(risk) ? risk : 'none'}`, title: RISK_HELP[risk] ?? '' }, risk);
}

function shortId(id) {
  return String(id ?? '').slice(0, 8);
}

/** How a wire Command reads (when the server has not given a display form). */
function displayCommand(command) {
  if (!command || typeof command !== 'object') return String(command ?? '');
  switch (command.type) {
    case 'shell':
      return command.command ?? '';
    case 'exec':
      return [command.program, ...(command.args ?? [])].join(' ');
    case 'script':
      return [command.interpreter, command.path].filter(Boolean).join(' ');
    case 'aws_cli':
      return ['aws', command.service, command.operation, ...(command.args ?? [])].join(' ');
    case 'sdk':
      return `sdk ${command.service}:${command.operation}`;
    default:
      return JSON.stringify(command);
  }
}

function dryRunText(value) {
  if (value === null || value === undefined) return 'No dry run';
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, error) {
    super(error?.message || `HTTP ${status}`);
    this.status = status;
    this.error = error ?? {};
  }
}

async function api(method, path, body) {
  const init = { method, headers: { accept: 'application/json' }, credentials: 'same-origin', cache: 'no-store' };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch {
    throw new ApiError(0, { code: 'Network', message: 'Cannot reach the server' });
  }
  if (res.status === 401) {
    location.assign('/login');
    throw new ApiError(401, { code: 'Unauthorized', message: 'Signed out: sign in again' });
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = text;
    }
  }
  if (!res.ok) {
    const error = data && typeof data === 'object' && data.error ? data.error : { code: `HTTP ${res.status}`, message: typeof data === 'string' && data ? data : res.statusText };
    throw new ApiError(res.status, error);
  }
  return data;
}

/** An error as DOM: validation problems list each field and why. */
function errorContent(err, title) {
  if (!(err instanceof ApiError)) return [h('p', { class: 'error-title' }, title ?? 'Error'), h('p', {}, String(err?.message ?? err))];
  const e = err.error;
  const issues = Array.isArray(e.issues) && e.issues.length ? e.issues : e.reason !== undefined ? [{ field: e.field, reason: e.reason }] : [];
  if (issues.length) {
    return [
      h('p', { class: 'error-title' }, title ?? `Rejected by the server (${err.status}${e.kind ? `, ${e.kind}` : ''})`),
      h(
        'ul',
        { class: 'error-list' },
        issues.map((issue) => h('li', {}, issue.field ? [h('code', { class: 'error-field' }, issue.field), ': '] : null, issue.reason ?? '')),
      ),
    ];
  }
  return [h('p', { class: 'error-title' }, title ?? `${e.code ?? 'Error'}${err.status ? ` (${err.status})` : ''}`), h('p', {}, e.message ?? String(err))];
}

function errorBox(err, title) {
  return h('div', { class: 'error-box', role: 'alert' }, errorContent(err, title));
}

// ---------------------------------------------------------------- live connection

/**
 * One WebSocket for the whole page. Subscriptions are kept here and sent again after a
 * reconnect (a re-subscription replays from the start, so listeners are told to `reset`
 * first). Events of a subscription are ignored until the server confirms it, so lines of
 * an earlier subscription to the same id that were still in flight are not shown twice.
 */
class Live {
  constructor() {
    this.ws = null;
    this.state = 'closed';
    this.subs = new Map();
    this.retry = 0;
    this.timer = null;
  }

  start() {
    this.connect();
    window.addEventListener('online', () => this.reconnectNow());
    document.addEventListener('visibilitychange', () => document.visibilityState === 'visible' && this.reconnectNow());
  }

  reconnectNow() {
    if (this.ws) return;
    this.retry = 0;
    this.connect();
  }

  connect() {
    clearTimeout(this.timer);
    this.timer = null;
    let ws;
    try {
      ws = new WebSocket(`${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}/api/ws`);
    } catch {
      this.scheduleReconnect();
      return;
    }
    this.ws = ws;
    this.setState('connecting');
    ws.addEventListener('open', () => {
      if (this.ws !== ws) return;
      this.retry = 0;
      this.setState('open');
      for (const [key, sub] of this.subs) if (!sub.ended) this.sendSubscribe(key, sub);
    });
    ws.addEventListener('message', (message) => {
      if (this.ws === ws && typeof message.data === 'string') this.onMessage(message.data);
    });
    ws.addEventListener('close', () => {
      if (this.ws !== ws) return;
      this.ws = null;
      for (const sub of this.subs.values()) sub.ready = false;
      this.setState('closed');
      this.scheduleReconnect();
    });
  }

  scheduleReconnect() {
    if (this.timer) return;
    const delay = Math.min(15_000, 500 * 2 ** this.retry) * (0.75 + Math.random() * 0.5);
    this.retry = Math.min(this.retry + 1, 6);
    // After a few failures, check we are still signed in (a 401 sends the page to /login).
    if (this.retry >= 3) api('GET', '/api/health').catch(() => {});
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  setState(state) {
    this.state = state;
    bus.emit('connection', state);
  }

  send(message) {
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }

  sendSubscribe(key, sub) {
    sub.ready = false;
    for (const l of sub.listeners) l.reset?.();
    this.send(key === '*' ? { type: 'subscribe' } : { type: 'subscribe', id: key });
  }

  /** Listen to one execution or plan (`key` = its id), or to everything (`*`). Returns the unsubscribe. */
  subscribe(key, listener) {
    let sub = this.subs.get(key);
    if (!sub) {
      sub = { listeners: new Set([listener]), ready: false, ended: false };
      this.subs.set(key, sub);
      if (this.state === 'open') this.sendSubscribe(key, sub);
    } else {
      sub.listeners.add(listener);
    }
    return () => {
      sub.listeners.delete(listener);
      if (sub.listeners.size || this.subs.get(key) !== sub) return;
      this.subs.delete(key);
      if (!sub.ended) this.send(key === '*' ? { type: 'unsubscribe' } : { type: 'unsubscribe', id: key });
    };
  }

  onMessage(data) {
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      return;
    }
    const sub = typeof msg.subscription === 'string' ? this.subs.get(msg.subscription) : undefined;
    switch (msg.type) {
      case 'subscribed':
        if (!sub) return;
        sub.ready = true;
        sub.ended = false;
        for (const l of [...sub.listeners]) l.subscribed?.();
        return;
      case 'event':
        if (!sub?.ready || !msg.event) return;
        for (const l of [...sub.listeners]) l.event?.(msg.event);
        return;
      case 'end':
        if (!sub?.ready) return;
        sub.ended = true;
        for (const l of [...sub.listeners]) l.end?.();
        return;
      case 'approval':
        if (msg.approval) bus.emit('approval', msg.approval);
        return;
      case 'error':
        bus.emit('live-error', msg.error ?? {});
        return;
      default:
    }
  }
}

const live = new Live();

// ---------------------------------------------------------------- shell: header, approvals count

const main = document.getElementById('main');
const connectionEl = document.querySelector('[data-testid="connection"]');
const connectionLabel = document.getElementById('connection-label');
const navCount = document.getElementById('nav-approval-count');

bus.on('connection', (state) => {
  connectionEl.dataset.state = state === 'open' ? 'open' : 'closed';
  connectionEl.classList.toggle('connecting', state === 'connecting');
  connectionLabel.textContent = state === 'open' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Offline — reconnecting';
  connectionEl.title = state === 'open' ? 'Live updates connected' : 'Live updates disconnected; retrying with backoff';
});

const approvalsState = { count: null };
const refreshApprovalCount = debounce(async () => {
  try {
    const data = await api('GET', '/api/approvals?state=pending');
    approvalsState.count = data.approvals.length;
  } catch {
    return;
  }
  navCount.hidden = !approvalsState.count;
  navCount.textContent = String(approvalsState.count ?? '');
  navCount.setAttribute('aria-label', `${approvalsState.count} pending`);
  bus.emit('approval-count', approvalsState.count);
}, 150);

bus.on('approval', () => refreshApprovalCount());
live.subscribe('*', {
  event: (event) => bus.emit('event', event),
  subscribed: () => {
    refreshApprovalCount();
    bus.emit('resync');
  },
});

let toastTimer = null;
const toast = h('div', { class: 'toast', role: 'status', 'aria-live': 'polite', hidden: true });
document.body.append(toast);
function showToast(text) {
  toast.textContent = text;
  toast.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (toast.hidden = true), 6000);
}
bus.on('live-error', (error) => showToast(`Live updates: ${error.message ?? error.code ?? 'error'}`));

document.getElementById('skip-link').addEventListener('click', (event) => {
  event.preventDefault();
  main.focus();
});

// ---------------------------------------------------------------- router

let currentScope = null;
let firstRoute = true;

function setNav(section) {
  for (const link of document.querySelectorAll('.nav a')) {
    if (link.dataset.route === section) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

function route() {
  const raw = location.hash.slice(1) || '/';
  if (!raw.startsWith('/')) return; // an in-page anchor, not a route
  const path = raw.split('?')[0];
  currentScope?.dispose();
  const scope = (currentScope = makeScope());
  main.replaceChildren();
  let m;
  try {
    if (path === '/' || path === '/executions' || path === '/executions/') {
      setNav('executions');
      pageExecutions(main, scope);
    } else if ((m = /^\/executions\/([^/]+)\/?$/.exec(path))) {
      setNav('executions');
      pageExecution(main, scope, decodeURIComponent(m[1]));
    } else if (/^\/approvals\/?$/.test(path)) {
      setNav('approvals');
      pageApprovals(main, scope);
    } else if ((m = /^\/approvals\/([^/]+)\/?$/.exec(path))) {
      setNav('approvals');
      pageApproval(main, scope, decodeURIComponent(m[1]));
    } else if (/^\/submit\/?$/.test(path)) {
      setNav('submit');
      pageSubmit(main, scope);
    } else {
      setNav(null);
      document.title = 'Not found · cloudops-exec';
      main.append(h('h1', {}, 'Page not found'), h('p', {}, 'Nothing lives at ', h('code', {}, raw), '. ', h('a', { href: '#/' }, 'Back to executions')));
    }
  } catch (err) {
    main.replaceChildren(errorBox(err, 'This page failed to load'));
  }
  if (!firstRoute) {
    window.scrollTo(0, 0);
    main.focus({ preventScroll: true });
  }
  firstRoute = false;
}

function pageHeader(title, ...extra) {
  return h('div', { class: 'page-head' }, h('h1', {}, title), extra.length ? h('div', { class: 'page-actions' }, extra) : null);
}

// ---------------------------------------------------------------- page: executions list

const listState = { q: '', status: '', risk: '', offset: 0 };

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
  if (e.kind === 'plan' && !ACTIVE.has(e.status)) runningPlans.delete(e.id);
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

function pageExecutions(root, scope) {
  document.title = 'Executions · cloudops-exec';
  const banner = h('a', { class: 'banner', href: '#/approvals', testid: 'pending-approvals', hidden: true });
  const showBanner = (count) => {
    banner.hidden = !count;
    banner.replaceChildren(
      h('span', { class: 'banner-icon', 'aria-hidden': 'true' }, '!'),
      h('span', {}, h('strong', {}, String(count ?? 0)), count === 1 ? ' approval is waiting for a decision' : ' approvals are waiting for a decision'),
      h('span', { class: 'banner-cta' }, 'Review →'),
    );
  };
  showBanner(approvalsState.count);
  scope.on('approval-count', showBanner);

  const search = h('input', { id: 'exec-search', type: 'search', placeholder: 'Commands, descriptions, output…', autocomplete: 'off', value: listState.q });
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
    h('div', { class: 'field grow' }, h('label', { for: 'exec-search' }, 'Search'), h('div', { class: 'input-row' }, search, h('button', { type: 'submit', class: 'btn' }, 'Search'), clear)),
    selectField('exec-status', 'Status', [['', 'All statuses'], ...STATUSES.map((st) => [st, st])], listState.status, (v) => {
      listState.status = v;
      listState.offset = 0;
      load();
    }),
    selectField('exec-risk', 'Risk', [['', 'All risks'], ...RISKS.map((r) => [r, r])], listState.risk, (v) => {
      listState.risk = v;
      listState.offset = 0;
      load();
    }),
  );

  const tbody = h('tbody');
  const table = h(
    'table',
    { class: 'table exec-table' },
    h('caption', { class: 'sr-only' }, 'Executions, newest first'),
    h('thead', {}, h('tr', {}, ['Status', 'Risk', 'Command / description', 'Submitted', 'Duration'].map((t) => h('th', { scope: 'col' }, t)))),
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
      if (listState.q) {
        data = await api('GET', `/api/search?q=${encodeURIComponent(listState.q)}&limit=200`);
        const rows = data.executions.filter((e) => (!listState.status || e.status === listState.status) && (!listState.risk || e.risk_level === listState.risk));
        data = { executions: rows, total: rows.length, search: true };
      } else {
        const params = new URLSearchParams({ top_level: 'true', limit: String(PAGE_SIZE), offset: String(listState.offset) });
        if (listState.status) params.set('status', listState.status);
        if (listState.risk) params.set('risk_level', listState.risk);
        data = await api('GET', `/api/executions?${params}`);
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
      const filtered = listState.q || listState.status || listState.risk;
      tbody.append(
        h(
          'tr',
          { class: 'empty-row' },
          h('td', { colspan: 5 }, filtered ? 'Nothing matches these filters.' : ['No executions yet. ', h('a', { href: '#/submit' }, 'Submit a command or plan'), '.']),
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
  scope.on('event', (event) => STATUS_EVENTS.has(event.event_type) && refresh());
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
      h('div', { class: 'cmd-title' }, h('span', { class: `kind kind-${e.kind}` }, e.kind), h('a', { href, class: e.kind === 'command' && !e.description ? 'mono' : '' }, title)),
      showCommand ? h('div', { class: 'mono muted small truncate' }, e.command) : null,
      e.plan_id ? h('div', { class: 'muted small' }, 'in plan ', h('a', { href: `#/executions/${encodeURIComponent(e.plan_id)}` }, shortId(e.plan_id))) : null,
      e.error ? h('div', { class: 'error-text small truncate', title: e.error }, e.error) : null,
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

// ---------------------------------------------------------------- log view

/** Output lines, appended in batches; follows the end while the reader is at the bottom. */
class LogView {
  constructor({ showSource = false, sourceOf = null } = {}) {
    this.showSource = showSource;
    this.sourceOf = sourceOf;
    this.el = h('div', { class: 'log-view', testid: 'log-view', role: 'log', 'aria-label': 'Output', tabindex: '0', 'data-empty': 'No output yet' });
    this.queue = [];
    this.timer = null;
    this.rows = 0;
    this.follow = true;
    this.onFollowChange = null;
    this.el.addEventListener('scroll', () => this.setFollow(this.atBottom()), { passive: true });
  }

  atBottom() {
    const e = this.el;
    return e.scrollHeight - e.scrollTop - e.clientHeight < 24;
  }

  setFollow(follow) {
    if (follow === this.follow) return;
    this.follow = follow;
    this.onFollowChange?.(follow);
  }

  setEmptyText(text) {
    this.el.dataset.empty = text;
  }

  clear() {
    clearTimeout(this.timer);
    this.timer = null;
    this.queue = [];
    this.rows = 0;
    this.el.replaceChildren();
    this.el.removeAttribute('data-trimmed');
    this.setFollow(true);
  }

  push(entry) {
    this.queue.push(entry);
    if (!this.timer) this.timer = setTimeout(() => this.flush(), 30);
  }

  pushAll(entries) {
    for (const entry of entries.slice(-MAX_LOG_ROWS)) this.queue.push(entry);
    this.flush();
  }

  flush() {
    clearTimeout(this.timer);
    this.timer = null;
    if (!this.queue.length) return;
    const stick = this.follow;
    let items = this.queue;
    this.queue = [];
    if (items.length >= MAX_LOG_ROWS) {
      items = items.slice(-MAX_LOG_ROWS);
      this.el.replaceChildren();
      this.rows = 0;
      this.el.setAttribute('data-trimmed', '');
    }
    const fragment = document.createDocumentFragment();
    for (const entry of items) fragment.append(this.row(entry));
    this.el.append(fragment);
    this.rows += items.length;
    while (this.rows > MAX_LOG_ROWS && this.el.firstElementChild) {
      this.el.firstElementChild.remove();
      this.rows--;
      this.el.setAttribute('data-trimmed', '');
    }
    if (stick) this.el.scrollTop = this.el.scrollHeight;
  }

  row(entry) {
    const row = h('div', { class: `log-row log-${entry.kind}` }, h('span', { class: 'log-ts', 'aria-hidden': 'true' }, fmtClock(entry.ts)));
    if (this.showSource) {
      const source = this.sourceOf?.(entry.id);
      row.append(h('span', { class: 'log-src', title: source?.title ?? '' }, source?.label ?? ''));
    }
    if (entry.kind === 'stdout' || entry.kind === 'stderr') {
      row.append(h('span', { class: 'log-line', testid: 'log-line', 'data-stream': entry.kind }, entry.line));
    } else {
      row.append(h('span', { class: `log-note note-${entry.level ?? 'info'}` }, entry.text));
    }
    return row;
  }

  scrollToEnd() {
    this.el.scrollTop = this.el.scrollHeight;
    this.setFollow(true);
  }
}

// ---------------------------------------------------------------- DAG

/** Index -> indices it depends on, for any strategy. */
function planParents(plan, n) {
  const strategy = plan?.strategy ?? { type: 'serial' };
  return Array.from({ length: n }, (_, i) => {
    if (strategy.type === 'dependency_graph') {
      const deps = strategy.dependencies?.[String(i)] ?? [];
      return [...new Set(deps)].filter((p) => Number.isInteger(p) && p >= 0 && p < n && p !== i);
    }
    if (strategy.type === 'serial') return i > 0 ? [i - 1] : [];
    return [];
  });
}

/** Layers by dependency depth; within a layer, ordered near their parents (barycenter). */
function layoutGraph(parents) {
  const n = parents.length;
  const depth = new Array(n).fill(-1);
  const visiting = new Set();
  const depthOf = (i) => {
    if (depth[i] >= 0) return depth[i];
    if (visiting.has(i)) return 0; // a cycle (the server refuses them): do not loop
    visiting.add(i);
    let d = 0;
    for (const p of parents[i]) d = Math.max(d, depthOf(p) + 1);
    visiting.delete(i);
    depth[i] = d;
    return d;
  };
  for (let i = 0; i < n; i++) depthOf(i);
  const layers = [];
  for (let i = 0; i < n; i++) (layers[depth[i]] ??= []).push(i);
  const pos = new Array(n).fill(0);
  layers.forEach((layer, li) => {
    if (li > 0) {
      const center = (i) => (parents[i].length ? parents[i].reduce((sum, p) => sum + pos[p], 0) / parents[i].length : Number.MAX_SAFE_INTEGER);
      layer.sort((a, b) => center(a) - center(b) || a - b);
    }
    layer.forEach((i, k) => (pos[i] = k));
  });
  return { depth, layers: layers.filter(Boolean), pos };
}

let dagCount = 0;

/**
 * An SVG graph of a plan's commands. `nodes`: [{id, index, title, detail, status}] in plan
 * order (the DOM keeps that order). Returns the element and `update` / `select` to keep it live.
 */
function renderDag(nodes, parents, { interactive = true, testids = true, onSelect = null } = {}) {
  const W = 212;
  const H = 58;
  const GX = 66;
  const GY = 18;
  const PAD = 14;
  const { depth, layers, pos } = layoutGraph(parents);
  const maxRows = Math.max(1, ...layers.map((l) => l.length));
  const width = PAD * 2 + layers.length * W + Math.max(0, layers.length - 1) * GX;
  const height = PAD * 2 + maxRows * H + (maxRows - 1) * GY;
  const xy = nodes.map((_, i) => {
    const layerLen = layers[depth[i]].length;
    const top = PAD + (height - 2 * PAD - (layerLen * H + (layerLen - 1) * GY)) / 2;
    return { x: PAD + depth[i] * (W + GX), y: top + pos[i] * (H + GY) };
  });
  const markerId = `dag-arrow-${++dagCount}`;
  const svg = s(
    'svg',
    { class: 'dag-svg', width, height, viewBox: `0 0 ${width} ${height}`, role: 'group', 'aria-label': `Dependency graph of ${nodes.length} commands` },
    s('defs', {}, s('marker', { id: markerId, viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' }, s('path', { d: 'M0,0 L10,5 L0,10 z', class: 'dag-arrowhead' }))),
  );
  const edgeGroup = s('g', { class: 'dag-edges' });
  const nodeGroup = s('g', { class: 'dag-nodes' });
  svg.append(edgeGroup, nodeGroup);

  const edges = []; // {from, to, path}
  parents.forEach((ps, to) => {
    for (const from of ps) {
      const a = xy[from];
      const b = xy[to];
      const x1 = a.x + W;
      const y1 = a.y + H / 2;
      const x2 = b.x - 2;
      const y2 = b.y + H / 2;
      const path = s('path', { d: `M${x1},${y1} C${x1 + GX / 2},${y1} ${x2 - GX / 2},${y2} ${x2},${y2}`, class: 'dag-edge', 'marker-end': `url(#${markerId})` });
      edgeGroup.append(path);
      edges.push({ from, to, path });
    }
  });

  const maxChars = Math.floor((W - 26) / 7.1);
  const clip = (text) => (text.length > maxChars ? `${text.slice(0, maxChars - 1)}…` : text);
  const els = new Map();
  let selected = null;

  nodes.forEach((node, i) => {
    const title = s('title');
    const sub = s('text', { x: 16, y: 42, class: 'dag-sub' });
    const g = s(
      'g',
      { class: 'dag-node', transform: `translate(${xy[i].x},${xy[i].y})`, 'data-id': node.id, testid: testids ? 'dag-node' : null },
      title,
      s('rect', { class: 'dag-box', width: W, height: H, rx: 8, ry: 8 }),
      s('rect', { class: 'dag-stripe', x: 0, y: 0, width: 5, height: H, rx: 2 }),
      s('text', { x: 16, y: 23, class: 'dag-title' }, clip(`#${node.index} ${node.title}`)),
      sub,
    );
    if (interactive) {
      g.setAttribute('tabindex', '0');
      g.setAttribute('role', 'button');
      g.setAttribute('aria-pressed', 'false');
      g.addEventListener('click', () => onSelect?.(node.id));
      g.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' || event.key === ' ') {
          event.preventDefault();
          onSelect?.(node.id);
        }
      });
    }
    nodeGroup.append(g);
    els.set(node.id, { g, title, sub, node, index: i });
  });

  function update(id, status, view) {
    const e = els.get(id);
    if (!e) return;
    e.node.status = status;
    e.g.setAttribute('data-status', status);
    e.g.setAttribute('class', `dag-node s-${statusClass(status)}${selected === id ? ' selected' : ''}`);
    const running = status === 'running' && view?.started_at;
    if (running) {
      e.sub.setAttribute('data-since', view.started_at);
      e.sub.setAttribute('data-prefix', 'running · ');
      e.sub.textContent = elapsedText(view.started_at, 'running · ');
    } else {
      e.sub.removeAttribute('data-since');
      const bits = [status];
      if (view?.duration_ms !== null && view?.duration_ms !== undefined && !['pending', 'skipped', 'planned'].includes(status)) bits.push(fmtDuration(view.duration_ms));
      if (view?.exit_code !== null && view?.exit_code !== undefined && view.exit_code > 0) bits.push(`exit ${view.exit_code}`);
      e.sub.textContent = bits.join(' · ');
    }
    const label = `Command #${e.node.index}: ${e.node.title} — ${status}`;
    e.title.textContent = `${label}\n${e.node.detail ?? ''}`;
    if (interactive) e.g.setAttribute('aria-label', label);
    for (const edge of edges) {
      if (edge.from === e.index) edge.path.setAttribute('class', `dag-edge e-${statusClass(status)}`);
    }
  }

  function select(id) {
    selected = id;
    for (const [nodeId, e] of els) {
      e.g.classList.toggle('selected', nodeId === id);
      if (interactive) e.g.setAttribute('aria-pressed', String(nodeId === id));
    }
  }

  for (const node of nodes) update(node.id, node.status ?? 'pending', null);
  return { svg, update, select };
}

// ---------------------------------------------------------------- page: one execution

const rank = (status) => (status === 'pending' ? 0 : status === 'running' ? 1 : 2);
/** Live events can be ahead of a re-fetch: never move a status backwards. */
const mergeStatus = (current, incoming) => (!current || rank(incoming) >= rank(current) ? incoming : current);

async function pageExecution(root, scope, id) {
  document.title = 'Execution · cloudops-exec';
  root.append(h('p', { class: 'muted' }, 'Loading…'));
  let detail;
  try {
    detail = await api('GET', `/api/executions/${encodeURIComponent(id)}`);
  } catch (err) {
    if (!scope.alive) return;
    fill(root, 
      pageHeader('Execution'),
      errorBox(err, err instanceof ApiError && err.status === 404 ? `No execution ${id}` : 'Could not load this execution'),
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
    planCommands.forEach((request, index) => {
      const view = views.get(request.id) ?? null;
      const command = view?.command ?? displayCommand(request.command);
      members.push({ id: request.id, index, title: view?.description || request.description || command, detail: command, view, status: view?.status ?? 'pending', rollback: false });
    });
    for (const view of detail.commands ?? []) {
      if (planCommands.some((c) => c.id === view.id)) continue;
      members.push({ id: view.id, index: null, title: view.description || view.command, detail: view.command, view, status: view.status, rollback: true });
    }
    for (const m of members) byId.set(m.id, m);
  }
  const parents = isPlan ? planParents(detail.plan, members.filter((m) => !m.rollback).length) : [];

  // ---- header
  const statusEl = h('span', { testid: 'execution-status' });
  const riskSlot = h('span');
  const cancelBtn = h('button', { type: 'button', class: 'btn btn-danger', testid: 'cancel-button', onclick: cancel }, 'Cancel');
  const notice = h('div', { class: 'notice-slot' });
  const metaEl = h('dl', { class: 'meta' });
  const heading = h('h1', { class: 'exec-title' });
  root.append(
    h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/' }, 'Executions'), ' / ', exec.plan_id ? [h('a', { href: `#/executions/${encodeURIComponent(exec.plan_id)}` }, `plan ${shortId(exec.plan_id)}`), ' / '] : null, h('span', { class: 'mono' }, shortId(id))),
    h('div', { class: 'page-head' }, h('div', { class: 'title-block' }, h('div', { class: 'title-badges' }, statusEl, riskSlot, h('span', { class: `kind kind-${exec.kind}` }, exec.kind)), heading), h('div', { class: 'page-actions' }, cancelBtn)),
    notice,
    h('section', { class: 'panel', 'aria-label': 'Details' }, metaEl),
  );

  // ---- plan: progress, graph, commands table
  let dag = null;
  let progress = null;
  let progressText = null;
  let cmdBody = null;
  let selected = null;
  const selectionLabel = h('span', { class: 'selection-label' });
  const showAllBtn = h('button', { type: 'button', class: 'btn btn-small', onclick: () => select(null) }, 'All commands');
  if (isPlan) {
    progress = h('progress', { class: 'progress', max: Math.max(1, members.filter((m) => !m.rollback).length), value: 0, 'aria-label': 'Commands finished' });
    progressText = h('span', { class: 'muted small' });
    const planNodes = members.filter((m) => !m.rollback);
    dag = renderDag(planNodes, parents, { onSelect: (memberId) => select(memberId) });
    const strategy = detail.plan?.strategy;
    cmdBody = h('tbody');
    root.append(
      h(
        'section',
        { class: 'panel' },
        h('div', { class: 'panel-head' }, h('h2', {}, 'Graph'), h('span', { class: 'muted small' }, strategyText(strategy)), h('div', { class: 'progress-wrap' }, progress, progressText)),
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
            h('thead', {}, h('tr', {}, ['#', 'Status', 'Risk', 'Command', 'After', 'Started', 'Duration', 'Exit'].map((t) => h('th', { scope: 'col' }, t)))),
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
      return m ? { label: m.rollback ? 'rb' : `#${m.index}`, title: m.title } : null;
    },
  });
  const followBtn = h('button', { type: 'button', class: 'btn btn-small', hidden: true, onclick: () => logView.scrollToEnd() }, '↓ Follow output');
  logView.onFollowChange = (follow) => (followBtn.hidden = follow);
  const rawLink = h('a', { class: 'small', target: '_blank', rel: 'noopener', href: `/api/executions/${encodeURIComponent(id)}/logs` }, 'Raw log');
  root.append(
    h(
      'section',
      { class: 'panel' },
      h('div', { class: 'panel-head' }, h('h2', {}, 'Output'), isPlan ? [selectionLabel, showAllBtn] : null, h('div', { class: 'panel-tools' }, followBtn, rawLink)),
      logView.el,
      h('p', { class: 'legend small muted' }, h('span', { class: 'legend-item legend-stdout' }, 'stdout'), h('span', { class: 'legend-item legend-stderr' }, 'stderr')),
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
    selectionLabel.textContent = m ? `Showing ${m.rollback ? 'rollback step' : `#${m.index}`}: ${m.title}` : 'Showing all commands';
    showAllBtn.hidden = !m;
    rawLink.href = `/api/executions/${encodeURIComponent(selected ?? id)}/logs`;
    logView.clear();
    logView.setEmptyText(m ? (m.status === 'pending' ? 'Not started yet' : 'No output') : 'No output yet');
    logView.pushAll(entries.filter((e) => selected === null || e.id === selected));
    renderCommands();
  }

  // ---- rendering of the current state
  /** A running plan's record may not show its start yet: take its first command's. */
  function planTiming() {
    if (!isPlan || exec.started_at) return exec;
    const starts = members.map((m) => m.view?.started_at).filter(Boolean).sort();
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
    const cancellable = ACTIVE.has(exec.status);
    cancelBtn.hidden = !cancellable;
    if (!cancellable) {
      cancelBtn.disabled = false;
      cancelBtn.textContent = 'Cancel';
    }
    renderMeta();
  }

  function renderMeta() {
    const timing = planTiming();
    const rows = [];
    const add = (term, ...value) => rows.push(h('div', { class: 'meta-item' }, h('dt', {}, term), h('dd', {}, value)));
    add('ID', h('span', { class: 'mono' }, exec.id));
    if (!isPlan) add('Command', h('code', { class: 'mono wrap' }, exec.command));
    if (exec.plan_id) add('Plan', h('a', { href: `#/executions/${encodeURIComponent(exec.plan_id)}`, class: 'mono' }, exec.plan_id));
    add('Submitted', fmtTime(exec.submitted_at));
    add('Started', fmtTime(timing.started_at));
    add('Completed', fmtTime(exec.completed_at));
    add('Duration', durationEl(timing));
    if (!isPlan) add('Exit code', exec.exit_code === null || exec.exit_code === undefined ? '—' : h('span', { class: exec.exit_code === 0 ? 'ok-text' : 'error-text' }, String(exec.exit_code)));
    const result = detail.result;
    if (!isPlan && result?.signal) add('Signal', result.signal);
    if (!isPlan && result?.attempts > 1) add('Attempts', String(result.attempts));
    const approval = isPlan ? detail.approval : null;
    if (approval && typeof approval === 'object' && approval.approved_by) {
      add('Approved by', `${approval.approved_by}${approval.approved_at ? ` · ${fmtTime(approval.approved_at)}` : ''}${approval.decision?.type === 'modify_and_approve' ? ' (edited)' : ''}`);
    }
    if (exec.source) add('Source', exec.source);
    if (exec.error) rows.push(h('div', { class: 'meta-item meta-wide' }, h('dt', {}, 'Error'), h('dd', { class: 'error-text' }, exec.error)));
    metaEl.replaceChildren(...rows);
  }

  function renderCommands() {
    if (!isPlan) return;
    for (const m of members) if (!m.rollback) dag.update(m.id, m.status, m.view ? { ...m.view, status: m.status } : null);
    const planMembers = members.filter((m) => !m.rollback);
    const done = planMembers.filter((m) => !ACTIVE.has(m.status)).length;
    progress.value = done;
    progressText.textContent = `${done} / ${planMembers.length} finished`;
    cmdBody.replaceChildren(
      ...members.map((m) => {
        const v = m.view ? { ...m.view, status: m.status } : { status: m.status, duration_ms: null, started_at: null, exit_code: null };
        const deps = m.rollback ? [] : parents[m.index] ?? [];
        const tr = h(
          'tr',
          { class: `clickable${selected === m.id ? ' selected' : ''}`, 'data-id': m.id, 'aria-selected': selected === m.id ? 'true' : 'false' },
          h('td', { class: 'mono nowrap' }, h('a', { href: `#/executions/${encodeURIComponent(m.id)}`, title: 'Open this command', 'aria-label': `Open command ${m.rollback ? '(rollback step)' : `#${m.index}`}` }, m.rollback ? 'rb' : `#${m.index}`)),
          h('td', {}, statusBadge(m.status)),
          h('td', {}, riskBadge(m.view?.risk_level)),
          h(
            'td',
            { class: 'cmd-cell' },
            h('button', { type: 'button', class: 'link-button', onclick: () => select(m.id), title: 'Show this command’s output' }, m.title),
            m.detail && m.detail !== m.title ? h('div', { class: 'mono muted small truncate' }, m.detail) : null,
            m.view?.error ? h('div', { class: 'error-text small truncate', title: m.view.error }, m.view.error) : null,
          ),
          h('td', { class: 'mono small' }, deps.length ? deps.map((d) => `#${d}`).join(', ') : '—'),
          h('td', { class: 'nowrap' }, v.started_at ? timeEl(v.started_at) : '—'),
          h('td', { class: 'nowrap' }, durationEl(v)),
          h('td', { class: 'nowrap' }, v.exit_code === null || v.exit_code === undefined || ACTIVE.has(m.status) || m.status === 'skipped' ? '—' : h('span', { class: v.exit_code === 0 ? '' : 'error-text' }, String(v.exit_code))),
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
          m = { id: view.id, index: null, title: view.description || view.command, detail: view.command, view, status: view.status, rollback: true };
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
    if (ended && ACTIVE.has(exec.status) && refetchPolls++ < 15) scope.timeout(() => refetch(), 700);
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
    if (status === 'running' && m.view && !m.view.started_at) m.view = { ...m.view, started_at: new Date().toISOString() };
    if (ACTIVE.has(exec.status) && status === 'running' && exec.status !== 'running') exec = { ...exec, status: 'running' };
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
        addEntry({ kind: 'meta', id: eid, ts: event.timestamp, level: r.status === 'completed' ? 'ok' : 'error', text: `■ ${r.status ?? 'completed'} · exit ${r.exit_code ?? '?'} · ${fmtDuration(r.duration_ms)}` });
        break;
      }
      case 'failed':
        setMemberStatus(eid, 'failed');
        addEntry({ kind: 'meta', id: eid, ts: event.timestamp, level: 'error', text: `✗ failed: ${event.error ?? ''}` });
        break;
      case 'cancelled':
        setMemberStatus(eid, 'cancelled');
        addEntry({ kind: 'meta', id: eid, ts: event.timestamp, level: 'warn', text: '■ cancelled' });
        break;
      case 'retrying':
        addEntry({ kind: 'meta', id: eid, ts: event.timestamp, level: 'warn', text: `↻ attempt ${event.attempt}/${event.max_attempts} failed (${event.reason}); retrying in ${fmtDuration(event.delay_ms)}` });
        break;
      case 'rollback_started':
        addEntry({ kind: 'meta', id: eid, ts: event.timestamp, level: 'warn', text: '↶ rollback started' });
        break;
      case 'rollback_completed':
        addEntry({ kind: 'meta', id: eid, ts: event.timestamp, level: event.status === 'rolled_back' ? 'ok' : 'error', text: `↶ rollback ${event.status ?? 'finished'}` });
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
    if (STATUS_EVENTS.has(t)) refetch();
  }

  async function cancel() {
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

function strategyText(strategy) {
  if (!strategy) return '';
  if (strategy.type === 'serial') return `serial${strategy.stop_on_error === false ? ', continue on error' : ', stop on error'}`;
  if (strategy.type === 'parallel') return `parallel${strategy.max_concurrency ? `, at most ${strategy.max_concurrency} at once` : ''}`;
  if (strategy.type === 'dependency_graph') return 'dependency graph';
  return String(strategy.type ?? '');
}

// ---------------------------------------------------------------- page: approvals list

const approvalsFilter = { state: '' };

function pageApprovals(root, scope) {
  document.title = 'Approvals · cloudops-exec';
  const tbody = h('tbody');
  const errorSlot = h('div');
  const filters = h(
    'div',
    { class: 'segmented', role: 'group', 'aria-label': 'Show approvals' },
    [
      ['', 'All'],
      ['pending', 'Pending'],
      ['approved', 'Approved'],
      ['rejected', 'Rejected'],
    ].map(([value, label]) =>
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-small',
          'aria-pressed': String(approvalsFilter.state === value),
          onclick: (event) => {
            approvalsFilter.state = value;
            for (const b of filters.querySelectorAll('button')) b.setAttribute('aria-pressed', String(b === event.currentTarget));
            load();
          },
        },
        label,
      ),
    ),
  );
  root.append(
    pageHeader('Approvals', filters),
    h('p', { class: 'muted' }, 'Plans that are not read-only wait here for a human decision. Pending first, newest first.'),
    errorSlot,
    h(
      'div',
      { class: 'table-wrap' },
      h(
        'table',
        { class: 'table' },
        h('caption', { class: 'sr-only' }, 'Approvals'),
        h('thead', {}, h('tr', {}, ['State', 'Risk', 'Description', 'Commands', 'Submitted', 'Decision'].map((t) => h('th', { scope: 'col' }, t)))),
        tbody,
      ),
    ),
  );

  let seq = 0;
  async function load() {
    const mine = ++seq;
    let data;
    try {
      data = await api('GET', approvalsFilter.state ? `/api/approvals?state=${approvalsFilter.state}` : '/api/approvals');
    } catch (err) {
      if (scope.alive && mine === seq) errorSlot.replaceChildren(errorBox(err, 'Could not load approvals'));
      return;
    }
    if (!scope.alive || mine !== seq) return;
    errorSlot.replaceChildren();
    const list = [...data.approvals].sort((a, b) => (a.state === 'pending' ? 0 : 1) - (b.state === 'pending' ? 0 : 1) || String(b.submitted_at).localeCompare(String(a.submitted_at)));
    tbody.replaceChildren(...list.map(approvalRow));
    if (!list.length) tbody.append(h('tr', { class: 'empty-row' }, h('td', { colspan: 6 }, approvalsFilter.state ? `No ${approvalsFilter.state} approvals.` : 'Nothing has needed approval yet.')));
  }

  const refresh = scope.debounce(load, 200);
  scope.on('approval', refresh);
  scope.on('resync', refresh);
  load();
}

function approvalTitle(a) {
  return a.request?.description || a.plan?.description || `Plan ${shortId(a.id)}`;
}

function approvalRow(a) {
  const href = `#/approvals/${encodeURIComponent(a.id)}`;
  const d = a.decision;
  const decisionType = d?.decision?.type;
  const tr = h(
    'tr',
    { testid: 'approval-row', 'data-id': a.id, 'data-state': a.state, class: `clickable${a.state === 'pending' ? ' row-pending' : ''}` },
    h('td', {}, approvalStateBadge(a.state)),
    h('td', {}, riskBadge(a.request?.risk_level)),
    h('td', { class: 'cmd-cell' }, h('a', { href }, approvalTitle(a)), h('div', { class: 'muted small mono' }, shortId(a.id))),
    h('td', {}, String(a.request?.commands?.length ?? a.plan?.commands?.length ?? '—')),
    h('td', { class: 'nowrap' }, timeEl(a.submitted_at)),
    h(
      'td',
      { class: 'small' },
      d
        ? [
            `${decisionType === 'reject' ? 'rejected' : decisionType === 'modify_and_approve' ? 'edited & approved' : 'approved'} by ${d.approved_by ?? '?'}`,
            a.execution_id ? [' · ', h('a', { href: `#/executions/${encodeURIComponent(a.execution_id)}` }, 'execution')] : null,
          ]
        : h('span', { class: 'muted' }, 'waiting'),
    ),
  );
  tr.addEventListener('click', (event) => {
    if (!event.target.closest('a, button')) location.hash = href;
  });
  return tr;
}

// ---------------------------------------------------------------- page: one approval

async function pageApproval(root, scope, id) {
  document.title = 'Approval · cloudops-exec';
  root.append(h('p', { class: 'muted' }, 'Loading…'));
  let approval;
  try {
    approval = await api('GET', `/api/approvals/${encodeURIComponent(id)}`);
  } catch (err) {
    if (!scope.alive) return;
    fill(root, pageHeader('Approval'), errorBox(err, err instanceof ApiError && err.status === 404 ? `No approval ${id}` : 'Could not load this approval'), h('p', {}, h('a', { href: '#/approvals' }, '← All approvals')));
    return;
  }
  if (!scope.alive) return;
  render();

  scope.on('approval', (a) => {
    if (a.id !== id || a.state === approval.state) return;
    approval = a;
    render();
  });
  scope.on('resync', async () => {
    try {
      const a = await api('GET', `/api/approvals/${encodeURIComponent(id)}`);
      if (scope.alive && a.state !== approval.state) {
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
    const plan = a.plan ?? {};
    const risk = req.risk_level ?? plan.risk_level ?? null;
    document.title = `${a.state} · ${approvalTitle(a)} · cloudops-exec`;
    const commands = Array.isArray(req.commands) && req.commands.length ? req.commands : (plan.commands ?? []).map((c) => ({ id: c.id, description: c.description, command: displayCommand(c.command), risk_level: null, dry_run_result: null }));
    const parents = planParents(plan, commands.length);

    const focusTarget = document.activeElement?.id;
    fill(root, 
      h('nav', { class: 'crumbs', 'aria-label': 'Breadcrumb' }, h('a', { href: '#/approvals' }, 'Approvals'), ' / ', h('span', { class: 'mono' }, shortId(a.id))),
      h(
        'div',
        { class: 'page-head' },
        h('div', { class: 'title-block' }, h('div', { class: 'title-badges' }, approvalStateBadge(a.state, { testid: 'approval-state', class: `badge status badge-lg s-${a.state === 'pending' ? 'pending' : a.state}` })), h('h1', {}, approvalTitle(a))),
      ),
      h(
        'div',
        { class: 'approval-top' },
        h(
          'div',
          { class: `risk-hero risk-${RISKS.includes(risk) ? risk : 'none'}` },
          h('span', { class: 'risk-hero-label' }, 'Risk'),
          h('strong', { class: 'risk-hero-value', testid: 'approval-risk' }, risk ?? 'unknown'),
          h('span', { class: 'risk-hero-help' }, RISK_HELP[risk] ?? ''),
        ),
        h(
          'dl',
          { class: 'meta panel' },
          metaItem('Plan ID', h('span', { class: 'mono' }, a.id)),
          metaItem('Submitted', fmtTime(a.submitted_at)),
          metaItem('Strategy', strategyText(plan.strategy) || '—'),
          metaItem('Commands', String(commands.length)),
          plan.rollback_strategy ? metaItem('Rollback', plan.rollback_strategy) : null,
          req.estimated_duration_ms ? metaItem('Estimated', fmtDuration(req.estimated_duration_ms)) : null,
        ),
      ),
      a.state === 'pending' ? decisionPanel() : decisionSummary(),
      commands.length > 1
        ? h(
            'section',
            { class: 'panel' },
            h('div', { class: 'panel-head' }, h('h2', {}, 'Order')),
            h('div', { class: 'dag' }, renderDag(commands.map((c, index) => ({ id: c.id ?? String(index), index, title: c.description || c.command, detail: c.command, status: 'planned' })), parents, { interactive: false, testids: false }).svg),
          )
        : null,
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
              { class: `cmd-card risk-edge-${RISKS.includes(c.risk_level) ? c.risk_level : 'none'}` },
              h(
                'div',
                { class: 'cmd-card-head' },
                h('span', { class: 'cmd-index mono' }, `#${index}`),
                h('span', { class: 'cmd-desc' }, c.description && c.description !== c.command ? c.description : ''),
                h('span', { class: 'muted small' }, parents[index]?.length ? `after ${parents[index].map((p) => `#${p}`).join(', ')}` : ''),
                riskBadge(c.risk_level),
              ),
              h('div', { class: 'code-label' }, 'Command'),
              h('pre', { class: 'code', testid: 'approval-command' }, String(c.command ?? '')),
              h('div', { class: 'code-label' }, 'Dry run'),
              h('pre', { class: 'code code-dry', testid: 'approval-dry-run' }, dryRunText(c.dry_run_result)),
            ),
          ),
        ),
      ),
    );
    if (focusTarget) document.getElementById(focusTarget)?.focus();
  }

  function decisionSummary() {
    const a = approval;
    const d = a.decision ?? {};
    const type = d.decision?.type;
    const verb = a.state === 'rejected' ? 'Rejected' : type === 'modify_and_approve' ? 'Edited and approved' : 'Approved';
    return h(
      'section',
      { class: `panel decision decision-${a.state}`, 'aria-label': 'Decision' },
      h('p', { class: 'decision-line' }, h('strong', {}, verb), d.approved_by ? ` by ${d.approved_by}` : '', d.approved_at ? ` · ${fmtTime(d.approved_at)}` : ''),
      d.decision?.reason ? h('p', {}, 'Reason: ', h('q', {}, d.decision.reason)) : null,
      d.notes ? h('p', {}, 'Notes: ', d.notes) : null,
      a.execution_id
        ? h('p', {}, h('a', { class: 'btn btn-primary', href: `#/executions/${encodeURIComponent(a.execution_id)}`, testid: 'approval-execution-link' }, 'View execution →'))
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

    const name = h('input', { id: 'approver-name', testid: 'approver-name', type: 'text', autocomplete: 'name', required: true, value: storageGet(localStorage, APPROVER_KEY) ?? '' });
    name.addEventListener('input', () => storageSet(localStorage, APPROVER_KEY, name.value.trim() || null));
    const notes = h('textarea', { id: 'approval-notes', rows: 2, placeholder: 'Optional: recorded with the decision' });
    const approveBtn = h('button', { type: 'button', class: 'btn btn-approve', testid: 'approve-button' }, 'Approve');
    const reason = h('input', { id: 'reject-reason', testid: 'reject-reason', type: 'text', placeholder: 'Required to reject' });
    const rejectBtn = h('button', { type: 'button', class: 'btn btn-danger', testid: 'reject-button' }, 'Reject');
    const editArea = h('textarea', { id: 'edit-plan', testid: 'edit-plan', rows: 18, spellcheck: 'false', autocapitalize: 'off', autocomplete: 'off', class: 'mono' });
    editArea.value = JSON.stringify(approval.plan, null, 2);
    const editApproveBtn = h('button', { type: 'button', class: 'btn btn-approve', testid: 'edit-approve-button' }, 'Approve edited plan');
    const editSection = h(
      'div',
      { id: 'edit-section', class: 'edit-section', hidden: true },
      h('label', { for: 'edit-plan' }, 'Edited plan (JSON). The server validates it and assesses its risk again.'),
      editArea,
      h('div', { class: 'button-row' }, editApproveBtn, h('button', { type: 'button', class: 'btn btn-ghost', onclick: () => toggleEdit(false) }, 'Discard edit')),
    );
    const editBtn = h('button', { type: 'button', class: 'btn', testid: 'edit-button', 'aria-expanded': 'false', 'aria-controls': 'edit-section', onclick: () => toggleEdit(editSection.hidden) }, 'Edit and approve…');
    const buttons = [approveBtn, rejectBtn, editBtn, editApproveBtn];

    function toggleEdit(open) {
      editSection.hidden = !open;
      editBtn.setAttribute('aria-expanded', String(open));
      if (open) editArea.focus();
    }

    async function decide(decision) {
      clearError();
      const approver = name.value.trim();
      if (!approver) {
        showError('Enter your name first: it is recorded with the decision.');
        name.focus();
        return;
      }
      storageSet(localStorage, APPROVER_KEY, approver);
      for (const b of buttons) b.disabled = true;
      try {
        const updated = await api('POST', `/api/approvals/${encodeURIComponent(id)}/decision`, { decision, approved_by: approver, notes: notes.value.trim() || null });
        if (!scope.alive) return;
        approval = updated;
        render();
        refreshApprovalCount();
        document.querySelector('[data-testid="approval-state"]')?.focus?.();
      } catch (err) {
        if (!scope.alive) return;
        for (const b of buttons) b.disabled = false;
        showError(errorContent(err, err instanceof ApiError && err.status === 400 ? 'The server refused this decision:' : undefined));
        if (err instanceof ApiError && err.status === 409) {
          try {
            approval = await api('GET', `/api/approvals/${encodeURIComponent(id)}`);
            if (scope.alive && approval.state !== 'pending') render();
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

    return h(
      'section',
      { class: 'panel decision-panel', 'aria-labelledby': 'decide-heading' },
      h('h2', { id: 'decide-heading' }, 'Decide'),
      h(
        'div',
        { class: 'decision-grid' },
        h('div', { class: 'field' }, h('label', { for: 'approver-name' }, 'Your name'), name),
        h('div', { class: 'field grow' }, h('label', { for: 'approval-notes' }, 'Notes'), notes),
      ),
      h(
        'div',
        { class: 'decision-actions' },
        h('div', { class: 'action-group' }, approveBtn, editBtn),
        h('div', { class: 'action-group reject-group' }, h('label', { for: 'reject-reason', class: 'sr-only' }, 'Reason for rejecting'), reason, rejectBtn),
      ),
      editSection,
      errorArea,
    );
  }
}

function metaItem(term, value) {
  return h('div', { class: 'meta-item' }, h('dt', {}, term), h('dd', {}, value));
}

// ---------------------------------------------------------------- page: submit

const EXAMPLES = {
  'DAG plan': {
    description: 'Build and test',
    strategy: { type: 'dependency_graph', dependencies: { 1: [0], 2: [0], 3: [1, 2] } },
    commands: [
      { description: 'prepare', command: { type: 'shell', command: 'echo preparing; sleep 1' } },
      { description: 'build', command: { type: 'shell', command: 'for i in 1 2 3; do echo "build step $i"; sleep 0.5; done' } },
      { description: 'lint', command: { type: 'shell', command: 'echo linting; echo "1 warning" >&2' } },
      { description: 'report', command: { type: 'shell', command: 'echo all done' } },
    ],
  },
  'Serial plan': {
    description: 'Two steps, one after the other',
    strategy: { type: 'serial', stop_on_error: true },
    commands: [{ command: { type: 'exec', program: 'uname', args: ['-a'] } }, { command: { type: 'exec', program: 'df', args: ['-h'] } }],
  },
  'Single command': { description: 'Disk usage', command: { type: 'exec', program: 'df', args: ['-h'] } },
};

function pageSubmit(root, scope) {
  document.title = 'Submit · cloudops-exec';
  const body = h('textarea', {
    id: 'submit-body',
    testid: 'submit-body',
    rows: 22,
    spellcheck: 'false',
    autocapitalize: 'off',
    autocomplete: 'off',
    class: 'mono',
    'aria-describedby': 'submit-help',
    placeholder: JSON.stringify(EXAMPLES['Single command'], null, 2),
  });
  body.value = storageGet(sessionStorage, DRAFT_KEY) ?? '';
  const saveDraft = scope.debounce(() => storageSet(sessionStorage, DRAFT_KEY, body.value || null), 300);
  body.addEventListener('input', saveDraft);
  body.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  const result = h('div', { class: 'submit-result', testid: 'submit-result', role: 'status', 'aria-live': 'polite' });
  const button = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'submit-button' }, 'Submit');
  const format = h(
    'button',
    {
      type: 'button',
      class: 'btn btn-ghost',
      onclick: () => {
        try {
          body.value = JSON.stringify(JSON.parse(body.value), null, 2);
          saveDraft();
        } catch (err) {
          showResult('error', [h('p', {}, `Not valid JSON: ${err.message}`)]);
        }
      },
    },
    'Format JSON',
  );

  function showResult(kind, content) {
    result.className = `submit-result ${kind}`;
    result.replaceChildren(...content);
  }

  async function submit(event) {
    event.preventDefault();
    const text = body.value.trim();
    if (!text) {
      showResult('error', [h('p', {}, 'Paste a plan or a single request first (or pick an example).')]);
      body.focus();
      return;
    }
    let parsed;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      showResult('error', [h('p', { class: 'error-title' }, 'Not valid JSON'), h('p', {}, err.message)]);
      body.focus();
      return;
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
      showResult('error', [h('p', {}, 'Expected a JSON object: a plan ({"commands": [...]}) or one request ({"command": {...}}).')]);
      return;
    }
    const isPlan = 'commands' in parsed;
    button.disabled = true;
    showResult('busy', [h('p', {}, 'Submitting…')]);
    try {
      const answer = await api('POST', isPlan ? '/api/plans' : '/api/executions', parsed);
      storageSet(sessionStorage, DRAFT_KEY, null);
      if (!scope.alive) return;
      if (answer.status === 'awaiting_approval' && answer.approval_id) {
        showResult('ok', [h('p', {}, 'Waiting for approval…')]);
        location.hash = `#/approvals/${encodeURIComponent(answer.approval_id)}`;
      } else {
        showResult('ok', [h('p', {}, 'Started.')]);
        location.hash = `#/executions/${encodeURIComponent(answer.id)}`;
      }
    } catch (err) {
      if (!scope.alive) return;
      showResult('error', errorContent(err, err instanceof ApiError && err.status === 400 ? `Invalid ${isPlan ? 'plan' : 'request'}:` : undefined));
    } finally {
      button.disabled = false;
    }
  }

  const form = h(
    'form',
    { class: 'panel submit-form', onsubmit: submit },
    h(
      'div',
      { class: 'examples' },
      h('span', { class: 'muted small' }, 'Examples:'),
      Object.entries(EXAMPLES).map(([name, example]) =>
        h(
          'button',
          {
            type: 'button',
            class: 'btn btn-small',
            onclick: () => {
              body.value = JSON.stringify(example, null, 2);
              saveDraft();
              body.focus();
            },
          },
          name,
        ),
      ),
    ),
    h('label', { for: 'submit-body' }, 'Plan or single request (JSON)'),
    body,
    h(
      'p',
      { id: 'submit-help', class: 'muted small' },
      'A plan has ',
      h('code', {}, 'commands'),
      ' and an optional ',
      h('code', {}, 'strategy'),
      ' (serial, parallel or dependency_graph); anything else is read as one request with a ',
      h('code', {}, 'command'),
      '. Work that is not read-only waits for approval. Ctrl+Enter submits.',
    ),
    h('div', { class: 'button-row' }, button, format),
    result,
  );
  root.append(pageHeader('Submit'), form);
}

// ---------------------------------------------------------------- start

window.addEventListener('hashchange', route);
route();
refreshApprovalCount();
live.start();
