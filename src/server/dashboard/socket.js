// The one WebSocket (/api/ws): reconnect with backoff, subscriptions re-sent after a reconnect.

import { api } from './api.js';
import { bus } from './bus.js';

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

export const live = new Live();
