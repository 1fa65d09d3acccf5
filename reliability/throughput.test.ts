/**
 * Volume: thousands of submissions through the engine-wide limit. None is lost, each
 * result is its own command's (a unique token echoed back), the list has every one, and
 * each execution gets exactly one started and one terminal event.
 */
import { randomUUID } from 'node:crypto';
import { expect, test } from 'vitest';
import type { ExecutionEngine, ExecutionResult } from '../src/index.js';
import { makeEngine, type Recorded, recordEvents } from './helpers.js';

async function flood(engine: ExecutionEngine, count: number, events: Recorded[]) {
  const run = randomUUID().slice(0, 8);
  const tokens = Array.from({ length: count }, (_, i) => `tok-${run}-${i}-${randomUUID()}`);
  // All submitted at once, without waiting for any to finish.
  const ids = await Promise.all(
    tokens.map((token) => engine.execute({ command: { type: 'exec', program: 'echo', args: [token] } })),
  );
  expect(new Set(ids).size).toBe(count);
  const results: ExecutionResult[] = await Promise.all(ids.map((id) => engine.wait(id)));

  // Each result is its own command's: right id, its own token, nothing else.
  const wrong = results.flatMap((r, i) =>
    r.id !== ids[i] || r.status !== 'completed' || r.exit_code !== 0 || r.stdout !== `${tokens[i]}\n` || r.stderr !== ''
      ? [{ i, r }]
      : [],
  );
  expect(wrong.slice(0, 3)).toEqual([]);

  // The engine's list has every one of them, completed.
  const listed = new Map((await engine.listExecutions()).map((s) => [s.id, s]));
  expect(ids.filter((id) => listed.get(id)?.status !== 'completed')).toEqual([]);

  // Events: exactly one `started`, one stdout line (the token) and one `completed` per execution, in that order.
  const perId = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const { event } of events) {
    if (!('execution_id' in event)) continue;
    const list = perId.get(event.execution_id);
    if (list) list.push(event.event_type === 'stdout' ? `stdout:${event.line}` : event.event_type);
  }
  const badEvents = ids.flatMap((id, i) => {
    const seen = perId.get(id)!;
    return JSON.stringify(seen) === JSON.stringify(['started', `stdout:${tokens[i]}`, 'completed'])
      ? []
      : [{ i, seen }];
  });
  expect(badEvents.slice(0, 3)).toEqual([]);

  // Never more than the limit running at once (from the event order).
  let running = 0;
  let peak = 0;
  for (const { event } of events) {
    if (event.event_type === 'started') peak = Math.max(peak, ++running);
    else if (event.event_type === 'completed' || event.event_type === 'failed') running--;
  }
  expect(peak).toBeLessThanOrEqual(engine.config.max_concurrent_executions);
  return { ids, tokens };
}

test('5,000 submissions at once through 10 slots (history off): none lost, each result its own token, all listed', async () => {
  const engine = makeEngine({ max_concurrent_executions: 10, store_history: false });
  const events = recordEvents(engine);
  await flood(engine, 5_000, events);
}, 240_000);

test('1,000 submissions with the history store on: every one recorded as completed with its own output', async () => {
  const engine = makeEngine({ max_concurrent_executions: 10 });
  const events = recordEvents(engine);
  const { ids, tokens } = await flood(engine, 1_000, events);
  const history = engine.history!;
  expect(history).not.toBeNull();
  const wrong = ids.flatMap((id, i) => {
    const record = history.get(id);
    return record?.status === 'completed' &&
      record.exit_code === 0 &&
      record.kind === 'command' &&
      (record.output ?? '').includes(tokens[i]!)
      ? []
      : [{ i, record }];
  });
  expect(wrong.slice(0, 3)).toEqual([]);
}, 120_000);
