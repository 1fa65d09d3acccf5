/** Late subscribers: what `events(id)` replays from the log and the history before going live. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ExecutionEngine, type ExecutionEvent } from '../src/index.js';
import { makeEngine, sh, tempDir, until } from './helpers.js';

const FIRST = '00000000-0000-4000-8000-000000000001';
const SECOND = '00000000-0000-4000-8000-000000000002';

async function collect(events: AsyncIterable<ExecutionEvent>): Promise<ExecutionEvent[]> {
  const out: ExecutionEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}
const linesOf = (events: ExecutionEvent[], id?: string) =>
  events.flatMap((e) =>
    (e.event_type === 'stdout' || e.event_type === 'stderr') && (id === undefined || e.execution_id === id)
      ? [e.line]
      : [],
  );

test('a subscriber arriving after far more lines than the event buffer holds still gets every one, in order, once', async () => {
  const dir = tempDir();
  const gate = join(dir, 'gate');
  const engine = makeEngine({ event_buffer_limit: 100 });
  const id = await engine.execute(sh(`seq 1 5000; while [ ! -f ${gate} ]; do sleep 0.02; done; seq 5001 5100`));
  await until(async () => (await engine.readLogs(id)).includes('[stdout] 5000'), 10_000, '5000 lines logged');
  const events = engine.events(id);
  writeFileSync(gate, '');
  const got = await collect(events);
  expect(linesOf(got)).toEqual(Array.from({ length: 5100 }, (_, i) => String(i + 1)));
  expect(got[0]!.event_type).toBe('started');
  expect(got.at(-1)!.event_type).toBe('completed');
});

test('stdout and stderr come back interleaved as they were logged', async () => {
  const engine = makeEngine();
  const id = await engine.execute(sh('echo a; sleep 0.05; echo b >&2; sleep 0.05; echo c'));
  await engine.wait(id);
  const got = await collect(engine.events(id));
  expect(
    got.map((e) =>
      e.event_type === 'stdout' || e.event_type === 'stderr' ? `${e.event_type}:${e.line}` : e.event_type,
    ),
  ).toEqual(['started', 'stdout:a', 'stderr:b', 'stdout:c', 'completed']);
});

test('retry events are replayed between the lines of the attempts they separate', async () => {
  const dir = tempDir();
  const counter = join(dir, 'n');
  const engine = makeEngine();
  const id = await engine.execute({
    ...sh(
      `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo attempt $n; [ $n -ge 2 ] || { echo ThrottlingException >&2; exit 1; }`,
    ),
    retry: { max_attempts: 3, backoff: { type: 'fixed', delay_ms: 10 }, jitter: 0 },
  });
  await engine.wait(id);
  const got = await collect(engine.events(id));
  expect(got.map((e) => (e.event_type === 'stdout' || e.event_type === 'stderr' ? e.line : e.event_type))).toEqual([
    'started',
    'attempt 1',
    'ThrottlingException',
    'retrying',
    'attempt 2',
    'completed',
  ]);
});

test('a plan replays each command with its own lines and follows the rest live', async () => {
  const dir = tempDir();
  const gate = join(dir, 'gate');
  const engine = makeEngine();
  const planId = await engine.executePlan({
    strategy: { type: 'serial', stop_on_error: true },
    commands: [
      { id: FIRST, ...sh('echo one; echo two') },
      { id: SECOND, ...sh(`while [ ! -f ${gate} ]; do sleep 0.02; done; echo three`) },
    ],
  });
  await until(async () => (await engine.getStatus(SECOND)) === 'running', 10_000, 'second step running');
  const events = engine.events(planId);
  writeFileSync(gate, '');
  const got = await collect(events);
  expect(linesOf(got, FIRST)).toEqual(['one', 'two']);
  expect(linesOf(got, SECOND)).toEqual(['three']);
  const order = got
    .filter((e) => e.event_type !== 'progress')
    .map((e) => `${'execution_id' in e ? e.execution_id : ''}:${e.event_type}`);
  expect(order).toEqual([
    `${FIRST}:started`,
    `${FIRST}:stdout`,
    `${FIRST}:stdout`,
    `${FIRST}:completed`,
    `${SECOND}:started`,
    `${SECOND}:stdout`,
    `${SECOND}:completed`,
  ]);
});

test('an execution from an earlier engine is replayed from the history and its log', async () => {
  const logDir = tempDir();
  const first = new ExecutionEngine({ log_dir: logDir });
  const ok = await first.execute({ id: FIRST, ...sh('echo alpha; echo beta >&2') });
  const bad = await first.execute({ id: SECOND, ...sh('echo gamma; exit 3') });
  await first.wait(ok);
  await first.wait(bad);
  await first.shutdown();
  first.close();

  const second = makeEngine({ log_dir: logDir });
  const okEvents = await collect(second.events(FIRST));
  expect(okEvents.map((e) => e.event_type)).toEqual(['started', 'stdout', 'stderr', 'completed']);
  expect(linesOf(okEvents)).toEqual(['alpha', 'beta']);
  expect(okEvents.at(-1)).toMatchObject({
    event_type: 'completed',
    result: { id: FIRST, status: 'completed', exit_code: 0 },
  });
  const badEvents = await collect(second.events(SECOND));
  expect(badEvents.map((e) => e.event_type)).toEqual(['started', 'stdout', 'failed']);
  expect(badEvents.at(-1)).toMatchObject({ error: 'Command failed with exit code 3' });
  expect(() => second.events('00000000-0000-4000-8000-000000000009')).toThrow(
    /Execution not found: 00000000-0000-4000-8000-000000000009/,
  );
});

test('with stream_output off, neither live nor replayed events carry lines', async () => {
  const engine = makeEngine({ stream_output: false });
  const id = await engine.execute(sh('echo hidden'));
  await engine.wait(id);
  expect((await collect(engine.events(id))).map((e) => e.event_type)).toEqual(['started', 'completed']);
});

test('breaking out during the replay stops the live part too', async () => {
  const engine = makeEngine();
  const id = await engine.execute(sh('seq 1 50; sleep 30'));
  await until(async () => (await engine.readLogs(id)).includes('[stdout] 50'), 10_000, 'lines logged');
  let seen = 0;
  for await (const e of engine.events(id)) {
    if (e.event_type === 'stdout' && ++seen === 10) break;
  }
  expect(seen).toBe(10);
  await engine.cancel(id);
  expect((await engine.wait(id)).status).toBe('cancelled');
});

test('return() from outside ends a next() that is waiting for a live event', async () => {
  const engine = makeEngine();
  const id = await engine.execute(sh('sleep 30'));
  const events = engine.events(id);
  expect((await events.next()).value).toMatchObject({ event_type: 'started' });
  const waiting = events.next();
  await events.return!();
  expect(await waiting).toEqual({ value: undefined, done: true });
  await engine.cancel(id);
});
