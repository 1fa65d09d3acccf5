// The output pane of an execution page: batched appends, capped rows, follow-the-end scrolling.

import { fmtClock, h } from './dom.js';

const MAX_LOG_ROWS = 10_000;

/** Output lines, appended in batches; follows the end while the reader is at the bottom. */
export class LogView {
  constructor({ showSource = false, sourceOf = null } = {}) {
    this.showSource = showSource;
    this.sourceOf = sourceOf;
    this.el = h('div', {
      class: 'log-view',
      testid: 'log-view',
      role: 'log',
      'aria-label': 'Output',
      tabindex: '0',
      'data-empty': 'No output yet',
    });
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
    const row = h(
      'div',
      { class: `log-row log-${entry.kind}` },
      h('span', { class: 'log-ts', 'aria-hidden': 'true' }, fmtClock(entry.ts)),
    );
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
