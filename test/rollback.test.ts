/** Rollback: the completed steps' rollback commands, in reverse order, automatically or on request. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { ExecutionEvent, ExecutionPlanInput } from '../src/index.js';
import { makeEngine, sh, tempDir, until } from './helpers.js';

/** Three serial steps that record what they do and undo in `journal`; step `failAt` fails. */
function deployPlan(
  journal: string,
  failAt: number | null,
  rollback_strategy: 'on_failure' | 'manual',
): ExecutionPlanInput {
  return {
    description: 'deploy',
    rollback_strategy,
    strategy: { type: 'serial', stop_on_error: true },
    commands: [0, 1, 2].map((i) => ({
      ...sh(`echo do${i} >> ${journal}${i === failAt ? '; exit 1' : ''}`),
      rollback: [sh(`echo undo${i}a >> ${journal}`), sh(`echo undo${i}b >> ${journal}`)],
    })),
  };
}

const journalOf = (path: string) => readFileSync(path, 'utf8').trim().split('\n');

test('a failed serial plan with on_failure rolls back its completed steps in reverse order', async () => {
  const journal = join(tempDir(), 'journal');
  const engine = makeEngine();
  const events: ExecutionEvent[] = [];
  engine.withEventHandler((e) => void events.push(e));
  const id = await engine.executePlan(deployPlan(journal, 2, 'on_failure'));
  const result = await engine.waitPlan(id);
  expect(journalOf(journal)).toEqual(['do0', 'do1', 'do2', 'undo1a', 'undo1b', 'undo0a', 'undo0b']);
  expect(result.status).toBe('rolled_back');
  expect(result.results.map((r) => r.status)).toEqual(['rolled_back', 'rolled_back', 'failed']);
  expect(result.stats).toMatchObject({ rolled_back: 2, failed: 1 });
  expect(result.rollback_results.map((r) => r.status)).toEqual(['completed', 'completed', 'completed', 'completed']);
  const kinds = events.map((e) => e.event_type);
  expect(kinds.indexOf('rollback_started')).toBeGreaterThan(kinds.lastIndexOf('failed'));
  expect(events.find((e) => e.event_type === 'rollback_completed')).toMatchObject({
    execution_id: id,
    status: 'rolled_back',
  });
  expect(await engine.getStatus(id)).toBe('rolled_back');
});

test('a plan that completed is rolled back on request, once', async () => {
  const journal = join(tempDir(), 'journal');
  const engine = makeEngine();
  const id = await engine.executePlan(deployPlan(journal, null, 'manual'));
  expect((await engine.waitPlan(id)).status).toBe('completed');
  const result = await engine.rollback(id);
  expect(result.status).toBe('rolled_back');
  expect(journalOf(journal)).toEqual(['do0', 'do1', 'do2', 'undo2a', 'undo2b', 'undo1a', 'undo1b', 'undo0a', 'undo0b']);
  expect(await engine.rollback(id)).toBe(result); // not twice
  expect((await engine.getPlanResult(id)).status).toBe('rolled_back');
});

test('a failing rollback command stops the rollback: the plan fails with RollbackFailed', async () => {
  const journal = join(tempDir(), 'journal');
  const engine = makeEngine();
  const plan = deployPlan(journal, null, 'manual');
  plan.commands[1]!.rollback = [sh(`echo undo1-broken >> ${journal}; exit 9`)];
  const id = await engine.executePlan(plan);
  await engine.waitPlan(id);
  const result = await engine.rollback(id);
  expect(result.status).toBe('failed');
  expect(result.error).toMatch(/^Rollback failed: undoing command 1 .*exit code 9/);
  expect(journalOf(journal)).toEqual(['do0', 'do1', 'do2', 'undo2a', 'undo2b', 'undo1-broken']);
  expect(result.results.map((r) => r.status)).toEqual(['completed', 'completed', 'rolled_back']);
});

test('without on_failure a failed plan is not rolled back by itself; steps without rollback stay completed', async () => {
  const journal = join(tempDir(), 'journal');
  const engine = makeEngine();
  const plan = deployPlan(journal, 2, 'manual');
  plan.commands[0]!.rollback = [];
  const id = await engine.executePlan(plan);
  expect((await engine.waitPlan(id)).status).toBe('failed');
  expect(journalOf(journal)).toEqual(['do0', 'do1', 'do2']);
  const result = await engine.rollback(id);
  expect(journalOf(journal)).toEqual(['do0', 'do1', 'do2', 'undo1a', 'undo1b']);
  expect(result.results.map((r) => r.status)).toEqual(['completed', 'rolled_back', 'failed']);
});

test('rollback needs a finished plan; rollback ids are validated like command ids', async () => {
  const engine = makeEngine();
  const id = await engine.executePlan({ commands: [sh('sleep 30')] });
  await expect(engine.rollback(id)).rejects.toMatchObject({ code: 'NotCompleted' });
  const single = await engine.execute(sh('true'));
  await expect(engine.rollback(single)).rejects.toMatchObject({ code: 'NotFound' });
  const dup = '11111111-0000-4000-8000-00000000000a';
  await expect(
    engine.executePlan({ commands: [{ id: dup, ...sh('true'), rollback: [{ id: dup, ...sh('true') }] }] }),
  ).rejects.toMatchObject({
    kind: 'InvalidPlan',
    message: expect.stringContaining('is also used by commands[0]'),
  });
  await engine.cancel(id);
  await until(async () => (await engine.getStatus(id)) === 'cancelled', 10_000, 'plan cancelled');
});
