/** Beyond max_concurrent_executions, work queues as pending: never rejected, never lost. */
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { makeEngine, sh, tempDir, until } from './helpers.js';

test('11 executions with limit 10: the 11th waits as pending, then all complete with their own output', async () => {
  const dir = tempDir();
  const gate = join(dir, 'gate');
  const engine = makeEngine({ max_concurrent_executions: 10 });
  const ids: string[] = [];
  for (let i = 0; i < 11; i++) {
    ids.push(
      await engine.execute(sh(`echo job${i}; touch ${dir}/started${i}; while [ ! -f ${gate} ]; do sleep 0.02; done`)),
    );
  }
  const statuses = async () => Promise.all(ids.map((id) => engine.getStatus(id)));
  await until(async () => (await statuses()).filter((s) => s === 'running').length === 10, 10_000, '10 running');
  // Ten slots are taken and held until the gate opens: the eleventh cannot have started.
  expect(await statuses()).toEqual([...Array(10).fill('running'), 'pending']);
  expect(existsSync(join(dir, 'started10'))).toBe(false);
  const listed = await engine.listExecutions();
  expect(listed.filter((s) => s.status === 'pending').map((s) => s.id)).toEqual([ids[10]]);
  expect(listed.find((s) => s.id === ids[10])!.started_at).toBeNull();

  writeFileSync(gate, '');
  const results = await Promise.all(ids.map((id) => engine.wait(id)));
  results.forEach((r, i) => {
    expect(r.status).toBe('completed');
    expect(r.stdout).toBe(`job${i}\n`);
  });
  expect(existsSync(join(dir, 'started10'))).toBe(true);
});

test('queued work is served in submission order', async () => {
  const dir = tempDir();
  const engine = makeEngine({ max_concurrent_executions: 1 });
  const ids: string[] = [];
  for (let i = 0; i < 8; i++) ids.push(await engine.execute(sh(`echo ${i} >> ${dir}/order`)));
  await Promise.all(ids.map((id) => engine.wait(id)));
  const { readFileSync } = await import('node:fs');
  expect(readFileSync(join(dir, 'order'), 'utf8')).toBe('0\n1\n2\n3\n4\n5\n6\n7\n');
});

test('a pending execution can be cancelled before it starts: it never runs', async () => {
  const dir = tempDir();
  const gate = join(dir, 'gate');
  const engine = makeEngine({ max_concurrent_executions: 1 });
  const blocker = await engine.execute(sh(`while [ ! -f ${gate} ]; do sleep 0.02; done`));
  const queued = await engine.execute(sh(`touch ${dir}/ran`));
  await until(async () => (await engine.getStatus(blocker)) === 'running', 10_000, 'blocker running');
  expect(await engine.getStatus(queued)).toBe('pending');
  await engine.cancel(queued);
  const result = await engine.wait(queued);
  expect(result.status).toBe('cancelled');
  expect(result.exit_code).toBe(-1);
  writeFileSync(gate, '');
  expect((await engine.wait(blocker)).status).toBe('completed');
  expect(existsSync(join(dir, 'ran'))).toBe(false);
  await expect(engine.cancel(queued)).rejects.toMatchObject({ code: 'NotRunning' });
});

test('300 short commands through 3 slots: none lost, each result matches its command', async () => {
  const engine = makeEngine({ max_concurrent_executions: 3 });
  const ids = await Promise.all(
    Array.from({ length: 300 }, (_, i) =>
      engine.execute({ command: { type: 'exec', program: 'echo', args: [`n${i}`] } }),
    ),
  );
  const results = await Promise.all(ids.map((id) => engine.wait(id)));
  expect(results.map((r) => r.stdout)).toEqual(Array.from({ length: 300 }, (_, i) => `n${i}\n`));
  expect(new Set(results.map((r) => r.id)).size).toBe(300);
});
