/**
 * Event handlers that misbehave: throwing (sync, async, non-Error values, throwing error
 * reporters), hanging (until handler_timeout_ms, or held indefinitely), re-entering the
 * engine. Executions must still complete, and every other subscriber must still get every
 * event, in order.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { ExecutionEngine, ExecutionEvent, ExecutionStatus } from '../src/index.js';
import { makeEngine, recordEvents, sh, tempDir, until } from './helpers.js';

const key = (e: ExecutionEvent) => JSON.stringify(e);

/** A mixed workload: successes with output, failures, a timeout, a cancel, and a plan. Returns what each id must end as. */
async function workload(engine: ExecutionEngine): Promise<{ ids: Map<string, ExecutionStatus>; planId: string }> {
  const ids = new Map<string, ExecutionStatus>();
  for (let i = 0; i < 20; i++) {
    const fails = i % 4 === 3;
    ids.set(
      await engine.execute(sh(`printf 'a${i}\\nb${i}\\n'; echo e${i} >&2${fails ? '; exit 2' : ''}`)),
      fails ? 'failed' : 'completed',
    );
  }
  ids.set(await engine.execute({ ...sh('echo slow; sleep 30'), timeout_ms: 300 }), 'timeout');
  const cancelled = await engine.execute(sh('echo waiting; sleep 30'));
  ids.set(cancelled, 'cancelled');
  const planId = await engine.executePlan({
    strategy: { type: 'dependency_graph', dependencies: { '1': [0], '2': [0], '3': [1, 2] } },
    commands: [sh('echo p0'), sh('echo p1; exit 1'), sh('echo p2'), sh('echo p3')],
  });
  await until(async () => (await engine.getStatus(cancelled)) === 'running', 30_000, 'command to cancel running');
  await engine.cancel(cancelled);
  return { ids, planId };
}

test('throwing and hanging handlers: every execution completes; well-behaved handlers and an iterator get every event, in order', async () => {
  const engine = makeEngine({ handler_timeout_ms: 20, kill_grace_ms: 200 });
  const reported = { sync: 0, async: 0, odd: 0, object: 0, hangTimeouts: 0 };
  const hangingSaw: ExecutionEvent[] = [];

  engine.withEventHandler(
    () => {
      throw new Error('sync handler bug');
    },
    { onError: () => void reported.sync++ },
  );
  engine.withEventHandler(
    async () => {
      await Promise.resolve();
      throw new Error('async handler bug');
    },
    { onError: () => void reported.async++ },
  );
  // Non-Error throwables, and an error reporter that itself throws.
  let flip = 0;
  engine.withEventHandler(
    () => {
      throw [undefined, null, 'a string', 42, { weird: true }][flip++ % 5];
    },
    {
      onError: () => {
        reported.odd++;
        throw new Error('the reporter is broken too');
      },
    },
  );
  // The seed's { onEvent } shape, throwing on lifecycle events only.
  engine.withEventHandler(
    {
      onEvent(e) {
        if (e.event_type !== 'stdout' && e.event_type !== 'stderr') throw new TypeError(`no ${e.event_type}`);
      },
    },
    { onError: () => void reported.object++ },
  );
  // Never settles: abandoned after handler_timeout_ms for each event.
  engine.withEventHandler(
    (e) => {
      hangingSaw.push(e);
      return new Promise<void>(() => {});
    },
    {
      onError: (err) =>
        void (String((err as Error).message).includes('did not finish within 20ms') && reported.hangTimeouts++),
    },
  );

  const reference = recordEvents(engine);
  const iterated: ExecutionEvent[] = [];
  const iterator = engine.events();
  const consuming = (async () => {
    for await (const e of iterator) iterated.push(e);
  })();

  const { ids, planId } = await workload(engine);
  for (const [id, status] of ids) expect((await engine.wait(id)).status, id).toBe(status);
  const plan = await engine.waitPlan(planId);
  expect(plan.results.map((r) => r.status)).toEqual(['completed', 'failed', 'completed', 'skipped']);

  // The reference handler saw each command's whole story, in order.
  const all = reference.map((r) => r.event);
  for (const [id, status] of ids) {
    const mine = all.filter((e) => 'execution_id' in e && e.execution_id === id);
    expect(mine[0]?.event_type).toBe('started');
    expect(mine.at(-1)?.event_type).toBe(
      status === 'completed' ? 'completed' : status === 'cancelled' ? 'cancelled' : 'failed',
    );
    expect(
      mine.filter(
        (e) =>
          e.event_type === 'started' ||
          e.event_type === 'completed' ||
          e.event_type === 'failed' ||
          e.event_type === 'cancelled',
      ),
    ).toHaveLength(2);
  }
  const lines = (id: string, stream: string) =>
    all
      .filter((e) => 'execution_id' in e && e.execution_id === id && e.event_type === stream)
      .map((e) => (e as { line: string }).line);
  [...ids.keys()].slice(0, 20).forEach((id, i) => {
    expect(lines(id, 'stdout')).toEqual([`a${i}`, `b${i}`]);
    expect(lines(id, 'stderr')).toEqual([`e${i}`]);
  });

  // Every throwing handler was called (and reported) once per event; the broken reporter did not stop the bus.
  const total = all.length;
  await until(() => reported.async === total, 30_000, 'async rejections reported');
  expect(reported.sync).toBe(total);
  expect(reported.odd).toBe(total);
  expect(reported.object).toBe(all.filter((e) => e.event_type !== 'stdout' && e.event_type !== 'stderr').length);

  // The hanging handler works through its own queue: it too gets every event, in order.
  await until(() => hangingSaw.length === total, 60_000, 'hanging handler to be given every event');
  expect(hangingSaw.map(key)).toEqual(all.map(key));
  await until(() => reported.hangTimeouts === total, 60_000, 'each hang reported');

  // An events() iterator running alongside got the same sequence and ends at shutdown.
  await engine.shutdown();
  await consuming;
  expect(iterated.map(key)).toEqual(all.map(key));
});

test('a handler held on its first event (no timeout in sight) stalls nothing: all work completes and others get everything; released, it catches up in order', async () => {
  const engine = makeEngine({ handler_timeout_ms: 600_000 });
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const stuckSaw: ExecutionEvent[] = [];
  engine.withEventHandler(async (e) => {
    stuckSaw.push(e);
    if (stuckSaw.length === 1) await held;
  });
  const reference = recordEvents(engine);
  const { ids, planId } = await workload(engine);
  for (const [id, status] of ids) expect((await engine.wait(id)).status).toBe(status);
  expect((await engine.waitPlan(planId)).status).toBe('failed');
  // Everything ended while the stuck handler was still on its first event.
  expect(stuckSaw).toHaveLength(1);
  expect(reference.length).toBeGreaterThan(100);

  release();
  await until(() => stuckSaw.length === reference.length, 30_000, 'released handler to catch up');
  expect(stuckSaw.map(key)).toEqual(reference.map((r) => key(r.event)));
});

test('handlers that re-enter the engine: cancel from a started event, submit from a completed event, unsubscribe themselves', async () => {
  const dir = tempDir();
  const gate = join(dir, 'gate');
  // One slot: the victim waits behind a gated blocker, so its `started` event comes after we are set up.
  const engine = makeEngine({ kill_grace_ms: 200, max_concurrent_executions: 1 });
  const outcomes: Array<Promise<unknown>> = [];
  const toCancel = new Set<string>();
  const followUps: string[] = [];
  let trigger = '';

  engine.withEventHandler((e) => {
    if (e.event_type === 'started' && toCancel.has(e.execution_id)) outcomes.push(engine.cancel(e.execution_id));
    if (e.event_type === 'completed' && e.execution_id === trigger) {
      // A handler may submit new work and query the engine while an event is being delivered.
      outcomes.push(engine.getResult(e.execution_id));
      outcomes.push(engine.execute(sh('echo follow-up')).then((id) => followUps.push(id)));
    }
  });
  let selfRemovedCount = 0;
  const unsubscribe = engine.subscribe(() => {
    selfRemovedCount++;
    unsubscribe();
  });
  const reference = recordEvents(engine);

  const blocker = await engine.execute(sh(`while [ ! -f ${gate} ]; do sleep 0.02; done`));
  const victim = await engine.execute(sh('echo victim-ran; sleep 30'));
  toCancel.add(victim);
  trigger = await engine.execute(sh('echo trigger'));
  expect(await engine.getStatus(victim)).toBe('pending');
  writeFileSync(gate, '');

  expect((await engine.wait(blocker)).status).toBe('completed');
  const victimResult = await engine.wait(victim);
  expect(victimResult.status).toBe('cancelled');
  // The handler cancelled it from its `started` event: if the cancel lands before the spawn, no
  // process runs at all (attempts 0); either way it never gets past its first attempt.
  expect(victimResult.attempts).toBeLessThanOrEqual(1);
  expect(victimResult.error_code).toBe('cancelled');
  expect((await engine.wait(trigger)).stdout).toBe('trigger\n');
  await until(() => followUps.length === 1, 30_000, 'follow-up submitted from a handler');
  expect((await engine.wait(followUps[0]!)).stdout).toBe('follow-up\n');
  await Promise.all(outcomes);
  expect(outcomes).toHaveLength(3);
  expect(selfRemovedCount).toBe(1);
  expect(reference.filter((r) => r.event.event_type === 'completed')).toHaveLength(3);
});
