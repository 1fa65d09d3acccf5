/**
 * `for await (const event of engine.events(id))`: an async iterator over the bus that
 * first replays what the execution already emitted, then follows it live, and ends after
 * the execution's last event (or when the consumer breaks out, which unsubscribes).
 * Subscribing and copying the replay happen in one synchronous step, so nothing is
 * missed or seen twice.
 */
import type { ExecutionEvent } from '../wire/types.js';
import { type EventBus, isLineEvent } from './event-bus.js';

export interface IteratorSpec {
  filter: (event: ExecutionEvent) => boolean;
  /** Events already emitted, delivered first. */
  replay: readonly ExecutionEvent[];
  /** Already finished: end after the replay. */
  finished: boolean;
  bufferLimit: number;
  /** The bus owner calls `close` after the last event (execution finished, engine shut down). */
  registerCloser: (close: () => void) => () => void;
}

export function iterateEvents(bus: EventBus, spec: IteratorSpec): AsyncIterableIterator<ExecutionEvent> {
  const queue: ExecutionEvent[] = [...spec.replay];
  let done = spec.finished;
  let wake: (() => void) | null = null;

  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const end = () => {
    done = true;
    cleanup();
    notify();
  };
  const unsubscribe = done
    ? () => {}
    : bus.subscribe(
        (event) => {
          if (done) return;
          if (queue.length >= spec.bufferLimit && isLineEvent(event)) return;
          queue.push(event);
          notify();
        },
        { filter: spec.filter },
      );
  const unregister = done ? () => {} : spec.registerCloser(end);
  function cleanup() {
    unsubscribe();
    unregister();
  }

  const iterator: AsyncIterableIterator<ExecutionEvent> = {
    async next() {
      for (;;) {
        const event = queue.shift();
        if (event) return { value: event, done: false };
        if (done) return { value: undefined, done: true };
        await new Promise<void>((resolve) => (wake = resolve));
      }
    },
    async return() {
      done = true;
      queue.length = 0;
      cleanup();
      notify();
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}

/**
 * The replay, then the live events. Written by hand rather than as an async generator: a
 * generator queues `return()` behind its pending `next()`, so a consumer stopping from
 * outside (a client that disconnects) would wait for the next live event, maybe forever.
 */
export function concatEvents(
  replay: AsyncGenerator<ExecutionEvent>,
  live: AsyncIterableIterator<ExecutionEvent>,
): AsyncIterableIterator<ExecutionEvent> {
  let replaying = true;
  let stopped = false;
  const iterator: AsyncIterableIterator<ExecutionEvent> = {
    async next() {
      if (replaying && !stopped) {
        const step = await replay.next();
        if (!step.done && !stopped) return step;
        replaying = false;
      }
      if (stopped) return { value: undefined, done: true };
      return live.next();
    },
    async return() {
      stopped = true;
      // Unsubscribes and wakes a pending live `next()`; the replay finishes its read and closes its file.
      await live.return?.();
      if (replaying) void replay.return(undefined);
      return { value: undefined, done: true };
    },
    [Symbol.asyncIterator]() {
      return iterator;
    },
  };
  return iterator;
}
