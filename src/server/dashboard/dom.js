// Element helpers (h / s / fill), formatting of times and durations, status and risk badges.

import { RISK_HELP, vocabulary } from './constants.js';

const SVG_NS = 'http://www.w3.org/2000/svg';

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
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  setProps(el, props);
  addChildren(el, children);
  return el;
}

/** Replace an element's children (null / false children are left out). */
export function fill(el, ...children) {
  el.replaceChildren();
  addChildren(el, children);
  return el;
}

/** An SVG element. */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  addChildren(el, children);
  return el;
}

export function fmtDuration(ms) {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  ms = Math.max(0, ms);
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const sec = ms / 1000;
  if (sec < 60) return `${sec.toFixed(sec < 10 ? 2 : 1)} s`;
  const min = Math.floor(sec / 60);
  if (min < 60) return `${min}m ${String(Math.floor(sec % 60)).padStart(2, '0')}s`;
  return `${Math.floor(min / 60)}h ${String(min % 60).padStart(2, '0')}m`;
}

export function fmtTime(iso) {
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

export function fmtClock(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleTimeString([], { hour12: false, hour: '2-digit', minute: '2-digit', second: '2-digit' });
}

export function elapsedText(since, prefix = '') {
  const t = Date.parse(since);
  return prefix + (Number.isNaN(t) ? '—' : fmtDuration(Date.now() - t));
}

export function timeEl(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  return h('time', { datetime: iso, title: fmtTime(iso), 'data-ago': iso }, fmtAgo(iso));
}

/** A duration, or the live elapsed time of something still running. */
export function durationEl(view) {
  if (view.status === 'running' && view.started_at) {
    return h('span', { 'data-since': view.started_at, class: 'elapsed' }, elapsedText(view.started_at));
  }
  return h('span', {}, fmtDuration(view.duration_ms));
}

// Live clocks: elapsed times and "… ago" labels, once a second.
export function startClocks() {
  setInterval(() => {
    for (const el of document.querySelectorAll('[data-since]'))
      el.textContent = elapsedText(el.dataset.since, el.dataset.prefix ?? '');
    for (const el of document.querySelectorAll('[data-ago]')) el.textContent = fmtAgo(el.dataset.ago);
  }, 1000);
}

// `planned`: a plan step drawn before it has a status of its own.
export const statusClass = (status) =>
  vocabulary.statuses.includes(status) || vocabulary.approvalStates.includes(status) || status === 'planned'
    ? status
    : 'unknown';

export function statusBadge(status, props = {}) {
  return h(
    'span',
    { class: `badge status s-${statusClass(status)}`, 'data-status': status, ...props },
    status ?? 'unknown',
  );
}

export function approvalStateBadge(state, props = {}) {
  const cls = vocabulary.approvalStates.includes(state) ? state : 'unknown';
  return h('span', { class: `badge status s-${cls}`, 'data-state': state, ...props }, state ?? 'unknown');
}

export function riskBadge(risk) {
  if (!risk) return h('span', { class: 'badge risk risk-none', title: 'Risk not assessed' }, '—');
  return h(
    'span',
    { class: `badge risk risk-${vocabulary.riskLevels.includes(risk) ? risk : 'none'}`, title: RISK_HELP[risk] ?? '' },
    risk,
  );
}

/** A result's error code (`timeout`, `spawn_failed`, ...) before its message; nothing when it has none. */
export function errorCodeEl(code) {
  return code ? h('code', { class: 'error-code', testid: 'error-code', title: 'error_code' }, code) : null;
}

export function shortId(id) {
  return String(id ?? '').slice(0, 8);
}

/** How a wire Command reads (when the server has not given a display form). */
export function displayCommand(command) {
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

export function dryRunText(value) {
  if (value === null || value === undefined) return 'No dry run';
  if (typeof value === 'string') return value;
  try {
    return JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

export function pageHeader(title, ...extra) {
  return h(
    'div',
    { class: 'page-head' },
    h('h1', {}, title),
    extra.length ? h('div', { class: 'page-actions' }, extra) : null,
  );
}

/** A prompt longer than this (characters or lines) is shown collapsed, with a button to show all of it. */
const PROMPT_COLLAPSE_CHARS = 600;
const PROMPT_COLLAPSE_LINES = 8;

/**
 * What the person asked (an execution's `user_prompt`), as text: wrapped, and collapsed with a
 * toggle when long. Null when there is none.
 */
export function promptBlock(prompt, props = {}) {
  if (typeof prompt !== 'string' || prompt === '') return null;
  const text = h('blockquote', { class: 'prompt-text', testid: 'user-prompt', ...props }, prompt);
  const long = prompt.length > PROMPT_COLLAPSE_CHARS || prompt.split('\n').length > PROMPT_COLLAPSE_LINES;
  if (!long) return h('div', { class: 'prompt' }, text);
  text.classList.add('collapsed');
  const toggle = h(
    'button',
    { type: 'button', class: 'btn btn-ghost btn-small', 'aria-expanded': 'false' },
    'Show all',
  );
  toggle.addEventListener('click', () => {
    const collapsed = text.classList.toggle('collapsed');
    toggle.setAttribute('aria-expanded', String(!collapsed));
    toggle.textContent = collapsed ? 'Show all' : 'Show less';
  });
  return h('div', { class: 'prompt' }, text, toggle);
}

/** The list of one conversation's executions. */
export function conversationHref(conversationId) {
  return `#/?conversation=${encodeURIComponent(conversationId)}`;
}

/** A conversation id as a link to its executions. */
export function conversationLink(conversationId) {
  return h(
    'a',
    {
      href: conversationHref(conversationId),
      class: 'mono',
      testid: 'conversation-link',
      title: "This conversation's executions",
    },
    conversationId,
  );
}

/** One line of a prompt, cut to `max` characters (the whole of it is the element's title). */
export function promptSnippet(prompt, max = 120) {
  if (typeof prompt !== 'string' || prompt === '') return null;
  const line = prompt.replace(/\s+/g, ' ').trim();
  return h(
    'div',
    { class: 'prompt-snippet small muted truncate', title: prompt, testid: 'prompt-snippet' },
    h('span', { class: 'prompt-icon', 'aria-label': 'Asked by the user:' }, '❝'),
    ' ',
    line.length > max ? `${line.slice(0, max - 1)}…` : line,
  );
}
