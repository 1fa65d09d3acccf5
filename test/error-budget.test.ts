/**
 * The error budget (`max_failures`) of parallel and dependency-graph plans, run for real:
 * once that many steps have failed no new step starts, the ones not started end `skipped`
 * (error_code `error_budget`), running ones finish, and the plan says why it failed.
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { type ExecutionEvent, type PlanExecutionResult, parsePlan } from '../src/index.js';
import { failureBudget } from '../src/scheduler/dag.js';
import { makeEngine, sh, tempDir, validationErrorOf } from './helpers.js';

/** Runs `plan` and collects the ids of the steps that sent a `started` event. */
async function run(plan: Parameters<ReturnType<typeof makeEngine>['executePlan']>[0]) {
  const engine = makeEngine();
  const events: ExecutionEvent[] = [];
  engine.withEventHandler((e) => void events.push(e));
  const id = await engine.executePlan(plan);
  const result = await engine.waitPlan(id);
  const started = new Set(events.flatMap((e) => (e.event_type === 'started' ? [e.execution_id] : [])));
  return { result, started, planLog: await engine.readLogs(id) };
}

const statuses = (result: PlanExecutionResult) => result.results.map((r) => r.status);
const count = (result: PlanExecutionResult, status: string) => statuses(result).filter((s) => s === status).length;

/** 20 steps; those at `failing` indices exit 1, the others succeed. */
const twenty = (failing: number[]) =>
  Array.from({ length: 20 }, (_, i) => ({ id: randomUUID(), ...sh(failing.includes(i) ? 'exit 1' : 'true') }));

describe('parallel', () => {
  test('max_concurrency 1, 5 of 20 failing first, budget 2: 2 start and fail, 18 are skipped', async () => {
    const commands = twenty([0, 1, 2, 3, 4]);
    const { result, started, planLog } = await run({
      strategy: { type: 'parallel', max_concurrency: 1, max_failures: 2 },
      commands,
    });
    expect(planLog).toContain('error budget spent: 2 steps failed (max_failures 2)');
    expect(started).toEqual(new Set([commands[0]!.id, commands[1]!.id]));
    expect(statuses(result)).toEqual([...Array(2).fill('failed'), ...Array(18).fill('skipped')]);
    expect(result.stats).toMatchObject({ total: 20, completed: 0, failed: 2, skipped: 18 });
    expect(result.status).toBe('failed');
    expect(result.error_code).toBe('error_budget');
    expect(result.error).toBe('Error budget spent: 2 steps failed (max_failures 2); 18 steps not started');
    for (const skipped of result.results.slice(2)) {
      expect(skipped).toMatchObject({
        error_code: 'error_budget',
        error: 'Error budget spent: 2 steps failed (max_failures 2); not started',
        attempts: 0,
      });
    }
  });

  test('max_concurrency 2: the step started before the budget was spent finishes, the rest are skipped', async () => {
    // Steps 0 and 1 start together. Whichever fails first frees a slot while only one failure
    // is counted, so step 2 starts; the second failure spends the budget; step 2 still finishes.
    const commands = twenty([0, 1, 2, 3, 4]);
    const { result, started } = await run({
      strategy: { type: 'parallel', max_concurrency: 2, max_failures: '10%' },
      commands,
    });
    expect(started).toEqual(new Set(commands.slice(0, 3).map((c) => c.id)));
    expect(statuses(result)).toEqual([...Array(3).fill('failed'), ...Array(17).fill('skipped')]);
    expect(result.error).toBe('Error budget spent: 2 steps failed (max_failures "10%"); 17 steps not started');
  });

  test('successes do not spend the budget: steps run until the second failure (at index 7)', async () => {
    const commands = twenty([3, 7, 11, 15, 19]);
    const { result, started } = await run({
      strategy: { type: 'parallel', max_concurrency: 1, max_failures: 2 },
      commands,
    });
    expect(started.size).toBe(8);
    expect(count(result, 'completed')).toBe(6);
    expect(count(result, 'failed')).toBe(2);
    expect(count(result, 'skipped')).toBe(12);
    expect(statuses(result).slice(8)).toEqual(Array(12).fill('skipped'));
  });

  test('a budget that is not reached changes nothing: every step runs and the first failure is reported', async () => {
    const commands = twenty([4, 9]);
    const { result, started } = await run({
      strategy: { type: 'parallel', max_concurrency: 4, max_failures: 3 },
      commands,
    });
    expect(started.size).toBe(20);
    expect(result.stats).toMatchObject({ completed: 18, failed: 2, skipped: 0 });
    expect(result.error_code).toBe('step_failed');
  });

  test('a budget spent when every step has already started stops nothing: the first failure is reported', async () => {
    // No concurrency limit: all three start at once, before any has failed.
    const { result, started } = await run({
      strategy: { type: 'parallel', max_failures: 1 },
      commands: Array.from({ length: 3 }, () => sh('exit 1')),
    });
    expect(started.size).toBe(3);
    expect(result.stats).toMatchObject({ failed: 3, skipped: 0 });
    expect(result.error_code).toBe('step_failed');
  });

  test('without a budget (the default) every step runs', async () => {
    const { result, started } = await run({
      strategy: { type: 'parallel', max_concurrency: 2 },
      commands: twenty([0, 1, 2, 3, 4]),
    });
    expect(started.size).toBe(20);
    expect(result.stats).toMatchObject({ completed: 15, failed: 5, skipped: 0 });
    expect(result.error_code).toBe('step_failed');
  });

  test('a timeout counts as a failure; 0 acts as 1 (the first failure spends it)', async () => {
    const commands = [
      { id: randomUUID(), ...sh('sleep 5'), timeout_ms: 100 },
      ...Array.from({ length: 3 }, () => ({ id: randomUUID(), ...sh('true') })),
    ];
    const { result, started } = await run({
      strategy: { type: 'parallel', max_concurrency: 1, max_failures: 0 },
      commands,
    });
    expect(started).toEqual(new Set([commands[0]!.id]));
    expect(statuses(result)).toEqual(['timeout', 'skipped', 'skipped', 'skipped']);
    expect(result.error).toBe('Error budget spent: 1 step failed (max_failures 0); 3 steps not started');
  });
});

describe('dependency_graph', () => {
  test('after the budget is spent a running step finishes, its dependents are skipped for the budget', async () => {
    //  0 (fails) -> 1        2 (waits for 0 to have failed) -> 3 -> 4
    const dir = tempDir();
    const gate = join(dir, 'gate');
    const commands = [
      { id: randomUUID(), ...sh('exit 1') },
      { id: randomUUID(), ...sh('true') },
      { id: randomUUID(), ...sh(`while [ ! -f ${gate} ]; do sleep 0.02; done`) },
      { id: randomUUID(), ...sh('true') },
      { id: randomUUID(), ...sh('true') },
    ];
    const engine = makeEngine();
    const events: ExecutionEvent[] = [];
    engine.withEventHandler((e) => {
      events.push(e);
      // Step 2 ends only once step 0 has failed, so the budget is spent while it runs.
      if (e.event_type === 'failed' && e.execution_id === commands[0]!.id) writeFileSync(gate, '');
    });
    const id = await engine.executePlan({
      strategy: { type: 'dependency_graph', dependencies: { '1': [0], '3': [2], '4': [3] }, max_failures: 1 },
      commands,
    });
    const result = await engine.waitPlan(id);
    const started = events.flatMap((e) => (e.event_type === 'started' ? [e.execution_id] : []));
    expect(new Set(started)).toEqual(new Set([commands[0]!.id, commands[2]!.id]));
    expect(statuses(result)).toEqual(['failed', 'skipped', 'completed', 'skipped', 'skipped']);
    // Step 1 is skipped because its dependency failed; 3 and 4 because the budget was spent.
    expect(result.results[1]!.error_code).toBe('skipped');
    expect(result.results[3]!.error_code).toBe('error_budget');
    expect(result.results[4]!.error_code).toBe('error_budget');
    expect(result.error_code).toBe('error_budget');
    expect(result.error).toBe('Error budget spent: 1 step failed (max_failures 1); 2 steps not started');
  });
});

describe('max_failures values', () => {
  const commands = [sh('true')];

  test('a count or a whole percentage; defaults to null', () => {
    expect(parsePlan({ strategy: { type: 'parallel' }, commands }).strategy).toMatchObject({ max_failures: null });
    expect(parsePlan({ strategy: { type: 'dependency_graph', max_failures: '10%' }, commands }).strategy).toMatchObject(
      { max_failures: '10%' },
    );
    expect(parsePlan({ strategy: { type: 'parallel', max_failures: 0 }, commands }).strategy).toMatchObject({
      max_failures: 0,
    });
  });

  test('a percentage is of the plan steps, rounded down', () => {
    expect(failureBudget('10%', 20)).toBe(2);
    expect(failureBudget('10%', 29)).toBe(2);
    expect(failureBudget('10%', 5)).toBe(0);
    expect(failureBudget('100%', 7)).toBe(7);
    expect(failureBudget('0%', 7)).toBe(0);
    expect(failureBudget(3, 7)).toBe(3);
    expect(failureBudget(null, 7)).toBeNull();
  });

  test.each([
    ['parallel', '150%', /whole percentage from "0%" to "100%"/],
    ['parallel', '10', /whole percentage/],
    ['parallel', '-5%', /whole percentage/],
    ['parallel', '2.5%', /whole percentage/],
    ['parallel', -1, /a number of steps, 0 or more/],
    ['dependency_graph', 1.5, /a number of steps \(0 or more\) or a percentage/],
    ['dependency_graph', true, /a number of steps \(0 or more\) or a percentage/],
  ])('%s max_failures %j is refused, naming strategy.max_failures', (type, value, reason) => {
    const err = validationErrorOf(() => parsePlan({ strategy: { type, max_failures: value }, commands }));
    expect(err.field).toBe('strategy.max_failures');
    expect(err.message).toMatch(reason);
  });

  test('a serial plan has no budget (stop_on_error decides): the field is refused', () => {
    const err = validationErrorOf(() => parsePlan({ strategy: { type: 'serial', max_failures: 1 }, commands }));
    expect(err.field).toBe('strategy.max_failures');
    expect(err.message).toMatch(/unknown field "max_failures"/);
  });
});
