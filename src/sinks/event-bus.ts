/**
 * Fan-out of execution events to handlers and iterators. Each subscriber has its own queue
 * and sees events one at a time, in publish order; a slow subscriber only delays itself,
 * a throwing one is reported and skipped, and one that never settles is abandoned after
 * `handlerTimeoutMs`. A subscriber that falls more than `bufferLimit` events behind loses
 * line events (counted and reported), never lifecycle events.
 */

import { LINE_EVENT_TYPES } from '../wire/schema.js';
import type { ExecutionEvent } from '../wire/types.js';

export type EventListener = (event: ExecutionEvent) => void | PromiseLike<void>;

/**
 * Receives the engine's events one at a time, in order; the next waits until a returned
 * promise settles (or the engine's `handler_timeout_ms` passes).
 */
export interface EventHandler {
  onEvent(event: ExecutionEvent): void | PromiseLike<void>;
}

export type EventHandlerLike = EventHandler | EventListener;

export interface SubscribeOptions {
  filter?: (event: ExecutionEvent) => boolean;
  /** Called with what a handler threw or rejected with; default: `process.emitWarning`. */
  onError?: (error: unknown, event: ExecutionEvent | null) => void;
}

export interface BusLimits {
  bufferLimit: number;
  handlerTimeoutMs: number;
}

export function isLineEvent(event: ExecutionEvent): boolean {
  return LINE_EVENT_TYPES.includes(event.event_type);
}

function warn(error: unknown, event: ExecutionEvent | null): void {
  const what = event ? ` while handling a "${event.event_type}" event` : '';
  const message = error instanceof Error ? error.message : String(error);
  process.emitWarning(`cloudops-execution-engine: event handler failed${what}: ${message}`, {
    code: 'CLOUDOPS_EVENT_HANDLER',
  });
}

const TIMED_OUT = Symbol('timed out');

class Subscription {
  private readonly queue: ExecutionEvent[] = [];
  private head = 0;
  private draining = false;
  private dropped = 0;

  constructor(
    private readonly listener: EventListener,
    private readonly options: SubscribeOptions,
    private readonly limits: BusLimits,
  ) {}

  offer(event: ExecutionEvent): void {
    if (this.options.filter && !this.options.filter(event)) return;
    if (!this.draining) {
      // Nothing queued (the queue is empty whenever no delivery is under way): deliver at
      // once, without a queue entry. At millions of line events per second, the queue's growth
      // and compaction were the bus's own garbage. A handler that publishes again meanwhile
      // finds `draining` set, so its events queue behind this one.
      this.draining = true;
      if (this.deliver(event)) this.drain();
      return;
    }
    if (this.queue.length - this.head >= this.limits.bufferLimit && isLineEvent(event)) {
      this.dropped++;
      return;
    }
    this.queue.push(event);
  }

  private report(error: unknown, event: ExecutionEvent | null): void {
    try {
      (this.options.onError ?? warn)(error, event);
    } catch {
      // An error reporter that throws must not take the bus down with it.
    }
  }

  /**
   * Delivers queued events in order. Synchronous handlers are called in this same turn, with
   * no promise per event (millions of line events per second); the first handler that returns
   * a promise suspends delivery until it settles (or times out), then delivery resumes.
   */
  private drain(): void {
    this.draining = true;
    while (this.head < this.queue.length) {
      const event = this.queue[this.head]!;
      this.queue[this.head++] = undefined as never; // let delivered events be collected
      if (this.head > 1024 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head);
        this.head = 0;
      }
      if (!this.deliver(event)) return;
    }
    if (this.head > 0) {
      this.queue.length = 0;
      this.head = 0;
    }
    this.draining = false;
  }

  /** Calls the handler; false when it returned a promise (delivery resumes once that settles). */
  private deliver(event: ExecutionEvent): boolean {
    let pending: PromiseLike<void> | undefined | void;
    try {
      pending = this.listener(event);
    } catch (err) {
      this.report(err, event);
    }
    if (pending && typeof pending.then === 'function') {
      this.settle(pending, event).then(
        () => this.afterDelivery(),
        (err: unknown) => {
          this.report(err, event);
          this.afterDelivery();
        },
      );
      return false;
    }
    this.reportDropped();
    return true;
  }

  private afterDelivery(): void {
    this.reportDropped();
    this.drain();
  }

  private reportDropped(): void {
    if (this.dropped > 0 && this.head === this.queue.length) {
      this.report(new Error(`subscriber fell behind; dropped ${this.dropped} output line events`), null);
      this.dropped = 0;
    }
  }

  private async settle(pending: PromiseLike<void>, event: ExecutionEvent): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
      timer = setTimeout(() => resolve(TIMED_OUT), this.limits.handlerTimeoutMs);
    });
    try {
      const outcome = await Promise.race([pending, timeout]);
      if (outcome === TIMED_OUT) {
        this.report(new Error(`handler did not finish within ${this.limits.handlerTimeoutMs}ms; moving on`), event);
      }
    } finally {
      clearTimeout(timer);
    }
  }
}

export class EventBus {
  private readonly subscriptions = new Set<Subscription>();

  constructor(private readonly limits: BusLimits) {}

  get hasSubscribers(): boolean {
    return this.subscriptions.size > 0;
  }

  subscribe(handler: EventHandlerLike, options: SubscribeOptions = {}): () => void {
    const listener: EventListener = typeof handler === 'function' ? handler : (event) => handler.onEvent(event);
    const subscription = new Subscription(listener, options, this.limits);
    this.subscriptions.add(subscription);
    return () => {
      this.subscriptions.delete(subscription);
    };
  }

  publish(event: ExecutionEvent): void {
    for (const subscription of this.subscriptions) subscription.offer(event);
  }
}
