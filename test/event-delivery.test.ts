/** Events reach handlers and iterators in order; no handler can stall or crash the engine. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { ExecutionEvent } from '../src/index.js';
import { makeEngine, sh, tempDir, until } from './helpers.js';

const SCRIPT = 'for i in $(seq 1 2000); do echo out$i; echo err$i >&2; done';

test('every line reaches a handler, in order per stream, each event timestamped; started first, completed last', async () => {
  const engine = makeEngine();
  const seen: ExecutionEvent[] = [];
  engine.withEventHandler({ onEvent: (e) => void seen.push(e) }); // the seed's EventHandler shape
  const id = await engine.execute(sh(SCRIPT));
  await engine.wait(id);
  const mine = seen.filter((e) => 'execution_id' in e && e.execution_id === id);
  expect(mine[0]!.event_type).toBe('started');
  expect(mine.at(-1)).toMatchObject({ event_type: 'completed', result: { exit_code: 0 } });
  const lines = (type: string) => mine.filter((e) => e.event_type === type).map((e) => (e as { line: string }).line);
  expect(lines('stdout')).toEqual(Array.from({ length: 2000 }, (_, i) => `out${i + 1}`));
  expect(lines('stderr')).toEqual(Array.from({ length: 2000 }, (_, i) => `err${i + 1}`));
  for (const e of mine) expect(e.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
});

test('a throwing handler is reported and skipped; other handlers still get everything', async () => {
  const errors: unknown[] = [];
  const engine = makeEngine();
  engine.withEventHandler(
    () => {
      throw new Error('handler bug');
    },
    { onError: (err) => errors.push(err) },
  );
  const seen: string[] = [];
  engine.withEventHandler((e) => void (e.event_type === 'stdout' && seen.push(e.line)));
  const result = await engine.wait(await engine.execute(sh('echo a; echo b')));
  expect(result.status).toBe('completed');
  expect(seen).toEqual(['a', 'b']);
  expect(errors.length).toBeGreaterThanOrEqual(4); // started, 2 lines, completed
  expect((errors[0] as Error).message).toBe('handler bug');
});

test('a handler that never settles does not stall the engine or other handlers', async () => {
  const engine = makeEngine({ handler_timeout_ms: 50 });
  const warnings: unknown[] = [];
  engine.withEventHandler(() => new Promise<void>(() => {}), { onError: (err) => warnings.push(err) });
  const seen: string[] = [];
  engine.withEventHandler((e) => void (e.event_type === 'stdout' && seen.push(e.line)));
  const result = await engine.wait(await engine.execute(sh('seq 1 50')));
  expect(result.status).toBe('completed');
  expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => String(i + 1)));
  await until(() => warnings.length > 0, 5_000, 'timeout warning');
  expect(String((warnings[0] as Error).message)).toMatch(/did not finish within 50ms/);
});

test('a slow async handler gets every event in order while the command finishes on its own', async () => {
  const engine = makeEngine();
  const seen: string[] = [];
  engine.withEventHandler(async (e) => {
    await new Promise((r) => setTimeout(r, 2));
    if (e.event_type === 'stdout') seen.push(e.line);
  });
  const result = await engine.wait(await engine.execute(sh('seq 1 200')));
  expect(result.status).toBe('completed'); // did not wait for the handler
  await until(() => seen.length === 200, 10_000, 'slow handler to catch up');
  expect(seen).toEqual(Array.from({ length: 200 }, (_, i) => String(i + 1)));
});

test('failed, timeout and cancelled executions end with the seed events', async () => {
  const engine = makeEngine();
  const last = async (id: string) => {
    const events: ExecutionEvent[] = [];
    for await (const e of engine.events(id)) events.push(e);
    return events.at(-1);
  };
  expect(await last(await engine.execute(sh('exit 2')))).toMatchObject({
    event_type: 'failed',
    error: 'Command failed with exit code 2',
  });
  expect(await last(await engine.execute({ ...sh('sleep 30'), timeout_ms: 200 }))).toMatchObject({
    event_type: 'failed',
    error: 'Execution timeout after 200ms',
  });
  const id = await engine.execute(sh('sleep 30'));
  const ending = last(id);
  await until(async () => (await engine.getStatus(id)) === 'running', 10_000, 'running');
  await engine.cancel(id);
  expect(await ending).toMatchObject({ event_type: 'cancelled', execution_id: id });
});

test('a late subscriber gets the missed lines replayed exactly once, then live ones', async () => {
  const dir = tempDir();
  const gate = join(dir, 'gate');
  const engine = makeEngine();
  const id = await engine.execute(
    sh(`echo 1; echo 2; echo 3; while [ ! -f ${gate} ]; do sleep 0.02; done; echo 4; echo 5`),
  );
  await until(async () => (await engine.readLogs(id)).includes('[stdout] 3'), 10_000, 'three lines logged');
  const iterator = engine.events(id);
  writeFileSync(gate, '');
  const lines: string[] = [];
  for await (const e of iterator) if (e.event_type === 'stdout') lines.push(e.line);
  expect(lines).toEqual(['1', '2', '3', '4', '5']);
  // After the end: the whole story again, lines read back from the log, and the iterator ends.
  const after: string[] = [];
  for await (const e of engine.events(id)) after.push(e.event_type === 'stdout' ? e.line : e.event_type);
  expect(after).toEqual(['started', '1', '2', '3', '4', '5', 'completed']);
});

test('events() without an id sees every execution and ends at shutdown', async () => {
  const engine = makeEngine();
  const all = engine.events();
  const a = await engine.execute(sh('echo a'));
  const b = await engine.execute(sh('echo b'));
  await Promise.all([engine.wait(a), engine.wait(b)]);
  await engine.shutdown();
  const ids = new Set<string>();
  for await (const e of all) if ('execution_id' in e) ids.add(e.execution_id);
  expect(ids).toEqual(new Set([a, b]));
});

test('stream_output: false sends no line events but keeps output in results and logs', async () => {
  const engine = makeEngine({ stream_output: false });
  const types: string[] = [];
  engine.withEventHandler((e) => void types.push(e.event_type));
  const id = await engine.execute(sh('echo quiet'));
  const result = await engine.wait(id);
  expect(types).toEqual(['started', 'completed']);
  expect(result.stdout).toBe('quiet\n');
  expect(await engine.readLogs(id)).toContain('[stdout] quiet');
});

test('breaking out of an iterator unsubscribes it', async () => {
  const engine = makeEngine();
  const id = await engine.execute(sh('seq 1 1000'));
  let count = 0;
  for await (const e of engine.events(id)) {
    if (e.event_type === 'stdout' && ++count === 3) break;
  }
  expect(count).toBe(3);
  expect((await engine.wait(id)).status).toBe('completed');
});
