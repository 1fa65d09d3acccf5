/** One plan of each strategy, run for real, plus the DAG's validation and skip semantics. */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { type ExecutionEvent, ValidationError } from '../src/index.js';
import { makeEngine, sh, tempDir, until } from './helpers.js';

const lines = (path: string) => readFileSync(path, 'utf8').trim().split('\n');

describe('serial', () => {
  test('runs in order, each step after the previous ended; stop_on_error skips the rest', async () => {
    const dir = tempDir();
    const log = join(dir, 'log');
    const engine = makeEngine();
    const id = await engine.executePlan({
      strategy: { type: 'serial', stop_on_error: true },
      commands: [sh(`sleep 0.2; echo 0 >> ${log}`), sh(`echo 1 >> ${log}; exit 3`), sh(`echo 2 >> ${log}`)],
    });
    const result = await engine.waitPlan(id);
    expect(lines(log)).toEqual(['0', '1']);
    expect(result.status).toBe('failed');
    expect(result.results.map((r) => r.status)).toEqual(['completed', 'failed', 'skipped']);
    expect(result.results[2]!.error).toMatch(/step 1 did not complete \(failed\)/);
    expect(result.stats).toEqual({
      total: 3,
      completed: 1,
      failed: 1,
      cancelled: 0,
      timeout: 0,
      skipped: 1,
      rolled_back: 0,
      interrupted: 0,
    });
  });

  test('without stop_on_error every step runs and the plan still fails', async () => {
    const dir = tempDir();
    const engine = makeEngine();
    const id = await engine.executePlan({
      strategy: { type: 'serial', stop_on_error: false },
      commands: [sh('exit 1'), sh(`echo after >> ${dir}/log`)],
    });
    const result = await engine.waitPlan(id);
    expect(result.results.map((r) => r.status)).toEqual(['failed', 'completed']);
    expect(result.status).toBe('failed');
    expect(lines(join(dir, 'log'))).toEqual(['after']);
  });
});

describe('parallel', () => {
  test('max_concurrency bounds how many run at once (and they do overlap)', async () => {
    const dir = tempDir();
    const log = join(dir, 'log');
    const engine = makeEngine();
    const id = await engine.executePlan({
      strategy: { type: 'parallel', max_concurrency: 2 },
      commands: Array.from({ length: 6 }, () => sh(`echo start >> ${log}; sleep 0.2; echo end >> ${log}`)),
    });
    expect((await engine.waitPlan(id)).status).toBe('completed');
    let running = 0;
    let peak = 0;
    for (const l of lines(log)) {
      running += l === 'start' ? 1 : -1;
      peak = Math.max(peak, running);
    }
    expect(peak).toBe(2);
  });

  test('without a limit, all start before any ends', async () => {
    const dir = tempDir();
    const gate = join(dir, 'gate');
    const engine = makeEngine();
    const id = await engine.executePlan({
      strategy: { type: 'parallel', max_concurrency: null },
      commands: Array.from({ length: 4 }, (_, i) =>
        sh(`touch ${dir}/s${i}; while [ ! -f ${gate} ]; do sleep 0.02; done`),
      ),
    });
    const plan = await engine.listExecutions();
    const commandIds = plan.filter((s) => s.plan_id === id).map((s) => s.id);
    await until(
      async () => (await Promise.all(commandIds.map((c) => engine.getStatus(c)))).every((s) => s === 'running'),
      10_000,
      'all 4 running',
    );
    writeFileSync(gate, '');
    expect((await engine.waitPlan(id)).stats.completed).toBe(4);
  });
});

describe('dependency_graph', () => {
  test('a node runs after all its dependencies; a failure skips its dependents transitively, other branches go on', async () => {
    const dir = tempDir();
    const log = join(dir, 'log');
    const engine = makeEngine();
    const ok = await engine.executePlan({
      strategy: { type: 'dependency_graph', dependencies: { '2': [0, 1], '3': [2] } },
      commands: [
        sh(`sleep 0.2; echo 0 >> ${log}`),
        sh(`echo 1 >> ${log}`),
        sh(`echo 2 >> ${log}`),
        sh(`echo 3 >> ${log}`),
      ],
    });
    expect((await engine.waitPlan(ok)).status).toBe('completed');
    const order = lines(log);
    expect(order.indexOf('2')).toBeGreaterThan(Math.max(order.indexOf('0'), order.indexOf('1')));
    expect(order.indexOf('3')).toBeGreaterThan(order.indexOf('2'));

    const dir2 = tempDir();
    const failed = await engine.executePlan({
      strategy: { type: 'dependency_graph', dependencies: { '2': [0, 1], '3': [2] } },
      commands: [sh('exit 4'), sh(`echo 1 >> ${dir2}/log`), sh(`echo 2 >> ${dir2}/log`), sh(`echo 3 >> ${dir2}/log`)],
    });
    const result = await engine.waitPlan(failed);
    expect(result.results.map((r) => r.status)).toEqual(['failed', 'completed', 'skipped', 'skipped']);
    expect(result.results[2]!.error).toMatch(/dependency 0 \(exit 4\) did not complete \(failed\)/);
    expect(result.results[3]!.error).toMatch(/dependency 2 .* did not complete \(skipped\)/);
    expect(lines(join(dir2, 'log'))).toEqual(['1']);
  });

  test.each([
    [{ '0': [1], '1': [0] }, /cycle between commands 0 -> 1 -> 0/],
    [{ '0': [1], '1': [2], '2': [0] }, /cycle between commands 0 -> 1 -> 2 -> 0/],
    [{ '1': [1] }, /command 1 depends on itself/],
    [{ '1': [7] }, /index 7, which is out of range/],
  ])('%j is rejected with InvalidPlan naming the indices, and nothing runs', async (dependencies, message) => {
    const dir = tempDir();
    const engine = makeEngine();
    const err = await engine
      .executePlan({
        strategy: { type: 'dependency_graph', dependencies },
        commands: [0, 1, 2].map((i) => sh(`touch ${dir}/ran${i}`)),
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ kind: 'InvalidPlan' });
    expect((err as Error).message).toMatch(message);
    expect(await engine.listExecutions()).toEqual([]);
  });
});

test('progress events count finished commands and the plan iterator ends by itself', async () => {
  const engine = makeEngine();
  const id = await engine.executePlan({ commands: [sh('echo a'), sh('echo b'), sh('echo c')] });
  const events: ExecutionEvent[] = [];
  for await (const e of engine.events(id)) events.push(e);
  const progress = events.filter((e) => e.event_type === 'progress');
  const completed = progress.map((p) => p.completed);
  expect(completed).toEqual([...completed].sort((a, b) => a - b));
  expect(progress.every((p) => p.total === 3 && p.plan_id === id)).toBe(true);
  expect(progress.at(-1)).toMatchObject({ completed: 3, current_command: null });
  expect(events.filter((e) => e.event_type === 'stdout').map((e) => e.line)).toEqual(['a', 'b', 'c']);
  expect(events.filter((e) => e.event_type === 'started')).toHaveLength(3);
});

test('cancelling a plan cancels the running command and everything not started', async () => {
  const engine = makeEngine();
  const id = await engine.executePlan({ commands: [sh('sleep 30'), sh('echo never')] });
  const first = (await engine.listExecutions()).find((s) => s.plan_id === id)!.id;
  await until(async () => (await engine.getStatus(first)) === 'running', 10_000, 'first running');
  await engine.cancel(id);
  const result = await engine.waitPlan(id);
  expect(result.status).toBe('cancelled');
  expect(result.results.map((r) => r.status)).toEqual(['cancelled', 'cancelled']);
  expect(result.stats.cancelled).toBe(2);
});
