/** Shutdown and AbortSignal: how work ends when its owner goes away. */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { makeEngine, sh, tempDir, until } from './helpers.js';

test("shutdown({mode:'cancel'}) cancels running work and resolves when it has ended", async () => {
  const engine = makeEngine();
  const id = await engine.execute(sh('sleep 30'));
  await until(async () => (await engine.getStatus(id)) === 'running', 10_000, 'running');
  await engine.shutdown({ mode: 'cancel' });
  expect(await engine.getStatus(id)).toBe('cancelled');
  await expect(engine.execute(sh('true'))).rejects.toMatchObject({ code: 'ShuttingDown' });
  await expect(engine.executePlan({ commands: [sh('true')] })).rejects.toMatchObject({ code: 'ShuttingDown' });
});

test("shutdown({mode:'drain'}) lets running and queued work finish", async () => {
  const engine = makeEngine({ max_concurrent_executions: 1 });
  const a = await engine.execute(sh('sleep 0.2; echo a'));
  const b = await engine.execute(sh('echo b'));
  await engine.shutdown({ mode: 'drain' });
  expect((await engine.getResult(a)).status).toBe('completed');
  expect((await engine.getResult(b)).stdout).toBe('b\n');
});

test('drain with timeout_ms cancels what is still running after the timeout', async () => {
  const engine = makeEngine();
  const id = await engine.execute(sh('sleep 30'));
  await engine.shutdown({ mode: 'drain', timeout_ms: 200 });
  expect(await engine.getStatus(id)).toBe('cancelled');
});

test('an AbortSignal on execute cancels; an already-aborted one means the command never runs', async () => {
  const dir = tempDir();
  const engine = makeEngine();
  const controller = new AbortController();
  const id = await engine.execute(sh('sleep 30'), { signal: controller.signal });
  await until(async () => (await engine.getStatus(id)) === 'running', 10_000, 'running');
  controller.abort();
  expect((await engine.wait(id)).status).toBe('cancelled');

  const never = await engine.execute(sh(`touch ${join(dir, 'ran')}`), { signal: AbortSignal.abort() });
  const result = await engine.wait(never);
  expect(result.status).toBe('cancelled');
  expect(existsSync(join(dir, 'ran'))).toBe(false);
});

test('an AbortSignal on executePlan cancels the plan', async () => {
  const engine = makeEngine();
  const controller = new AbortController();
  const id = await engine.executePlan({ commands: [sh('sleep 30'), sh('true')] }, { signal: controller.signal });
  const first = (await engine.listExecutions()).find((s) => s.plan_id === id)!.id;
  await until(async () => (await engine.getStatus(first)) === 'running', 10_000, 'running');
  controller.abort();
  expect((await engine.waitPlan(id)).status).toBe('cancelled');
});

test('finished executions beyond max_retained_executions leave memory, oldest first; history and logs keep them', async () => {
  const engine = makeEngine({ max_retained_executions: 2 });
  const ids: string[] = [];
  for (let i = 0; i < 3; i++) {
    const id = await engine.execute(sh(`echo ${i}`));
    await engine.wait(id);
    ids.push(id);
  }
  await expect(engine.wait(ids[0]!)).rejects.toMatchObject({ code: 'NotFound' }); // gone from memory
  expect((await engine.listExecutions()).map((s) => s.id)).toEqual(ids.slice(1));
  expect(await engine.getStatus(ids[0]!)).toBe('completed'); // answered by the history
  expect(await engine.readLogs(ids[0]!)).toContain('[stdout] 0');
});

test('without a history store, a forgotten execution is NotFound', async () => {
  const engine = makeEngine({ max_retained_executions: 1, store_history: false });
  const first = await engine.execute(sh('true'));
  await engine.wait(first);
  await engine.wait(await engine.execute(sh('true')));
  expect(engine.history).toBeNull();
  await expect(engine.getStatus(first)).rejects.toMatchObject({ code: 'NotFound' });
});

test('a command cancelled right after it was submitted is never spawned', async () => {
  const engine = makeEngine();
  const dir = tempDir();
  const events: string[] = [];
  engine.subscribe((event) => {
    if ('execution_id' in event) events.push(event.event_type);
  });
  for (let i = 0; i < 20; i++) {
    const id = await engine.execute(sh(`touch ${join(dir, `ran-${i}`)}`));
    await engine.cancel(id);
    expect(await engine.wait(id)).toMatchObject({ status: 'cancelled', error_code: 'cancelled', attempts: 0 });
  }
  for (let i = 0; i < 20; i++) expect(existsSync(join(dir, `ran-${i}`)), `command ${i} ran`).toBe(false);
  expect(events).not.toContain('started');
});
