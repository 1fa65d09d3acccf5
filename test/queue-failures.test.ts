/**
 * Queue mode when Redis goes away, and ids reused across submissions. Every run must end (never
 * a `wait` that hangs). The worker failures are in queue-worker-lost.test.ts and
 * queue-worker-stalls.test.ts (split so the test workers run them side by side).
 */
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { expect, test } from 'vitest';
import { createEngine } from '../src/index.js';
import { makeEngine, sh, tempDir, until } from './helpers.js';
import { kill } from './support/processes.js';
import { queueName, settlesWithin, useQueueFailureFixtures } from './support/queue-failures.js';
import { startWorkerProcess } from './support/redis.js';

const { redis, workers, privateRedis } = useQueueFailureFixtures();

test('Redis gone mid-run: the cancel still ends the command, and shutdown returns', async () => {
  const { url, child } = await privateRedis();
  const queue = queueName();
  workers.push(await startWorkerProcess(url, queue, tempDir('cee-worker-')));
  const engine = createEngine({
    log_dir: tempDir(),
    kill_grace_ms: 200,
    redis: { url, queue, connect_timeout_ms: 1000 },
  });
  const id = await engine.execute(sh('echo begun; sleep 60'));
  await until(async () => (await engine.readLogs(id)).includes('[stdout] begun'), 20_000, 'running');
  await kill(child);
  await engine.cancel(id);
  // kill_grace_ms + the 10 s a worker has to confirm.
  expect(await settlesWithin(engine.wait(id), 15_000)).toBe(true);
  expect(await engine.wait(id)).toMatchObject({ status: 'cancelled', error_code: 'cancelled' });
  expect(await settlesWithin(engine.shutdown(), 8_000)).toBe(true);
}, 45_000);

test('Redis gone after the first command: the next one fails with "Queue unavailable" after connect_timeout_ms', async () => {
  const { url, child } = await privateRedis();
  const queue = queueName();
  const engine = createEngine({
    log_dir: tempDir(),
    kill_grace_ms: 200,
    redis: { url, queue, connect_timeout_ms: 1000 },
  });
  const first = await engine.execute(sh('true')); // no worker: it waits in the queue
  const probe = new Queue(queue, { connection: { url } as never });
  await until(async () => (await probe.getWaitingCount()) === 1, 10_000, 'first queued');
  await probe.close();
  // Taken out of the queue while Redis still answers (its connections stay open): cancelled
  // with Redis gone, it would only end after the time a worker has to confirm a cancel.
  await engine.cancel(first);
  expect((await engine.wait(first)).status).toBe('cancelled');
  await kill(child);
  const second = await engine.execute(sh('true'));
  expect(await settlesWithin(engine.wait(second), 8_000)).toBe(true);
  const result = await engine.wait(second);
  expect(result.status).toBe('failed');
  expect(result.error_code).toBe('queue_unavailable');
  expect(result.error).toBe('Queue unavailable: queueing the command: no answer from Redis within 1000 ms');
  expect(await settlesWithin(engine.shutdown(), 8_000)).toBe(true);
}, 30_000);

test('an id cancelled once runs normally when submitted again (by another engine, after a restart)', async () => {
  const queue = queueName();
  workers.push(await startWorkerProcess(redis.url, queue, tempDir('cee-worker-')));
  const id = randomUUID();
  const first = makeEngine({ redis: { url: redis.url, queue } });
  await first.execute({ id, ...sh('echo begun; sleep 30') });
  await until(async () => (await first.readLogs(id)).includes('[stdout] begun'), 20_000, 'running');
  await first.cancel(id);
  expect((await first.wait(id)).status).toBe('cancelled');
  await first.shutdown();

  const second = makeEngine({ redis: { url: redis.url, queue } });
  const marker = join(tempDir(), 'ran');
  await second.execute({ id, ...sh(`touch ${marker}`) });
  expect((await second.wait(id)).status).toBe('completed');
  expect(existsSync(marker)).toBe(true);
}, 40_000);

test('two engines submitting the same execution id each get their own run and result', async () => {
  const queue = queueName();
  workers.push(await startWorkerProcess(redis.url, queue, tempDir('cee-worker-'), '--concurrency', '2'));
  const id = randomUUID();
  const a = makeEngine({ redis: { url: redis.url, queue } });
  const b = makeEngine({ redis: { url: redis.url, queue } });
  await a.execute({ id, ...sh('sleep 1; echo from-a') });
  await b.execute({ id, ...sh('echo from-b') });
  expect(await settlesWithin(b.wait(id), 15_000)).toBe(true);
  expect((await b.wait(id)).stdout).toBe('from-b\n');
  expect((await a.wait(id)).stdout).toBe('from-a\n');
}, 30_000);

test('an engine without global_concurrency leaves the fleet-wide limit another one set', async () => {
  const queue = queueName();
  const probe = new Queue(queue, { connection: { url: redis.url } as never });
  try {
    const strict = makeEngine({ redis: { url: redis.url, queue, global_concurrency: 1 } });
    const other = makeEngine({ redis: { url: redis.url, queue }, max_concurrent_executions: 8 });
    const one = await strict.execute(sh('true')); // no worker: both only enqueue
    await until(async () => Number(await probe.getGlobalConcurrency()) === 1, 10_000, 'the strict limit set');
    const two = await other.execute(sh('true'));
    await until(async () => (await probe.getWaitingCount()) === 2, 10_000, 'both queued');
    expect(Number(await probe.getGlobalConcurrency())).toBe(1);
    await strict.cancel(one);
    await other.cancel(two);
  } finally {
    await probe.close();
  }
}, 30_000);

test("output_log_path is the submitter's: the file names the worker it ran on and has one footer", async () => {
  const queue = queueName();
  workers.push(await startWorkerProcess(redis.url, queue, tempDir('cee-worker-')));
  const engine = makeEngine({ redis: { url: redis.url, queue } });
  const path = join(tempDir(), 'my.log');
  const id = await engine.execute({ ...sh('for i in $(seq 1 200); do echo line-$i; done'), output_log_path: path });
  expect((await engine.wait(id)).status).toBe('completed');
  const log = readFileSync(path, 'utf8');
  expect(log).toMatch(/^# execution_id: /m);
  expect(log).toMatch(/\[engine\] ran on worker \S+ \(.+, pid \d+\)/);
  expect(log.match(/^# completed_at:/gm)).toHaveLength(1);
  expect(log.match(/\[stdout\] line-\d+$/gm)).toHaveLength(200);
}, 30_000);
