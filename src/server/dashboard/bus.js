// The event bus between the live connection and the pages, and the per-page scope that cleans up after a page.

import { debounce, throttle } from './util.js';

/** A tiny event bus between the live connection and the pages. */
export const bus = {
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

/** What a page holds while it is shown; disposed when the route changes. */
export function makeScope() {
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
