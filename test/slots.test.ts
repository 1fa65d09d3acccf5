/** Slots: the engine-wide concurrency limit with a FIFO queue and abortable waiters. */
import { describe, expect, test } from 'vitest';
import { type Release, Slots } from '../src/scheduler/slots.js';

/** Let every already-settled promise callback run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Acquire, recording the grant order in `order` under `name`. */
function track(slots: Slots, order: string[], name: string, signal?: AbortSignal): Promise<Release> {
  return slots.acquire(signal).then((release) => {
    order.push(name);
    return release;
  });
}

describe('Slots', () => {
  test('grants immediately while under the limit', async () => {
    const slots = new Slots(2);
    const a = await slots.acquire();
    const b = await slots.acquire();
    expect(slots.running).toBe(2);
    expect(slots.queued).toBe(0);
    a();
    b();
    expect(slots.running).toBe(0);
  });

  test('never more than `limit` holders; the queue waits', async () => {
    const slots = new Slots(2);
    const order: string[] = [];
    const releases = ['a', 'b', 'c', 'd'].map((name) => track(slots, order, name));
    await flush();
    expect(order).toEqual(['a', 'b']);
    expect(slots.running).toBe(2);
    expect(slots.queued).toBe(2);
    (await releases[0]!)();
    await flush();
    expect(order).toEqual(['a', 'b', 'c']);
    expect(slots.running).toBe(2);
    expect(slots.queued).toBe(1);
  });

  test('waiters are granted in FIFO order', async () => {
    const slots = new Slots(1);
    const order: string[] = [];
    const first = await slots.acquire();
    const names = ['w1', 'w2', 'w3', 'w4', 'w5'];
    const pending = names.map((name) => track(slots, order, name));
    await flush();
    expect(order).toEqual([]);
    let release = first;
    for (let i = 0; i < names.length; i++) {
      release();
      release = await pending[i]!;
      await flush();
      expect(order).toEqual(names.slice(0, i + 1));
    }
    release();
    expect(slots.running).toBe(0);
  });

  test('a newcomer cannot jump the queue after a release', async () => {
    const slots = new Slots(1);
    const order: string[] = [];
    const held = await slots.acquire();
    const waiter = track(slots, order, 'waiter');
    held();
    // Acquired after the release but before the waiter's grant callback ran.
    const newcomer = track(slots, order, 'newcomer');
    await flush();
    expect(order).toEqual(['waiter']);
    (await waiter)();
    await flush();
    expect(order).toEqual(['waiter', 'newcomer']);
    (await newcomer)();
    expect(slots.running).toBe(0);
  });

  test('release is idempotent', async () => {
    const slots = new Slots(1);
    const order: string[] = [];
    const a = await slots.acquire();
    const b = track(slots, order, 'b');
    const c = track(slots, order, 'c');
    a();
    a();
    a();
    await flush();
    // A repeated release must not hand out a second slot.
    expect(order).toEqual(['b']);
    expect(slots.running).toBe(1);
    expect(slots.queued).toBe(1);
    (await b)();
    (await c)();
    (await c)();
    expect(slots.running).toBe(0);
    // And the count does not go negative: the limit still holds afterwards.
    const x = await slots.acquire();
    const order2: string[] = [];
    void track(slots, order2, 'y');
    await flush();
    expect(order2).toEqual([]);
    x();
  });

  test('an aborted waiter leaves the queue, rejects with the reason, and takes no slot', async () => {
    const slots = new Slots(1);
    const order: string[] = [];
    const held = await slots.acquire();
    const controller = new AbortController();
    const aborted = track(slots, order, 'aborted', controller.signal);
    const next = track(slots, order, 'next');
    expect(slots.queued).toBe(2);
    const reason = new Error('stop');
    controller.abort(reason);
    await expect(aborted).rejects.toBe(reason);
    expect(slots.queued).toBe(1);
    held();
    await flush();
    expect(order).toEqual(['next']);
    (await next)();
    expect(slots.running).toBe(0);
  });

  test('aborting after the grant changes nothing', async () => {
    const slots = new Slots(1);
    const controller = new AbortController();
    const release = await slots.acquire(controller.signal);
    controller.abort();
    expect(slots.running).toBe(1);
    release();
    expect(slots.running).toBe(0);
  });

  test('aborting a waiter after it was granted does not reject or free its slot', async () => {
    const slots = new Slots(1);
    const held = await slots.acquire();
    const controller = new AbortController();
    const waiter = slots.acquire(controller.signal);
    held();
    const release = await waiter;
    controller.abort();
    await flush();
    expect(slots.running).toBe(1);
    release();
    expect(slots.running).toBe(0);
  });

  test('acquire with an already-aborted signal rejects and takes nothing', async () => {
    const slots = new Slots(1);
    const controller = new AbortController();
    const reason = new Error('already');
    controller.abort(reason);
    await expect(slots.acquire(controller.signal)).rejects.toBe(reason);
    expect(slots.running).toBe(0);
    expect(slots.queued).toBe(0);
  });
});
