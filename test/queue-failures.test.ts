/**
 * Queue mode when things go wrong: Redis going away, the last worker dying, a worker that
 * pauses past its lock, ids reused across submissions. Every run must end (never a `wait`
 * that hangs), and a command must run only where someone is watching it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue, Worker } from 'bullmq';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import { createEngine } from '../src/index.js';
import { makeEngine, sh, tempDir, until } from './helpers.js';
import { freePort, kill } from './support/processes.js';
import { type RedisServer, startPrivateRedis, startRedis, startWorkerProcess } from './support/redis.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});
const workers: Array<Awaited<ReturnType<typeof startWorkerProcess>>> = [];
const servers: ChildProcess[] = [];
afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  await Promise.all(servers.splice(0).map((s) => kill(s)));
});

/** A redis-server of this test's own, which it may kill; stopped after the test if still up. */
async function privateRedis(): Promise<{ url: string; child: ChildProcess }> {
  const server = await startPrivateRedis();
  servers.push(server.child);
  return server;
}

/** Whether `promise` settles within `ms` (a bound for a test that would otherwise hang). */
const settlesWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms)),
  ]);

const queueName = () => `f-${randomUUID().slice(0, 8)}`;

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
  await kill(child);
  const second = await engine.execute(sh('true'));
  expect(await settlesWithin(engine.wait(second), 8_000)).toBe(true);
  const result = await engine.wait(second);
  expect(result.status).toBe('failed');
  expect(result.error_code).toBe('queue_unavailable');
  expect(result.error).toBe('Queue unavailable: queueing the command: no answer from Redis within 1000 ms');
  await engine.cancel(first);
  await engine.shutdown();
}, 30_000);

test('the only worker dies and none replaces it: the submitter notices and fails the command', async () => {
  const queue = queueName();
  const worker = await startWorkerProcess(redis.url, queue, tempDir('cee-worker-'), '--lock-duration', '1000');
  workers.push(worker);
  const engine = makeEngine({ redis: { url: redis.url, queue } });
  const id = await engine.execute(sh('echo begun; sleep 60'));
  await until(async () => (await engine.readLogs(id)).includes('[stdout] begun'), 20_000, 'running');
  worker.child.kill('SIGKILL');
  await worker.exited;
  // Lock expiry (1 s) plus two watchdog checks (5 s apart).
  expect(await settlesWithin(engine.wait(id), 20_000)).toBe(true);
  const result = await engine.wait(id);
  expect(result.status).toBe('failed');
  expect(result.error_code).toBe('worker_lost');
  expect(result.error).toMatch(/^Worker lost: no worker holds the job/);
}, 45_000);

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

test('a worker of another version refuses the job: the submitter reports why, and the failed job leaves the queue', async () => {
  const queue = queueName();
  // What a worker of an older version does with a job it does not know: BullMQ fails it, and
  // that worker writes nothing to the reply stream.
  const refusal = 'unknown job command.v4: this worker takes command.v3 jobs';
  const older = new Worker(
    queue,
    async () => {
      throw new Error(refusal);
    },
    { connection: { url: redis.url } as never },
  );
  const probe = new Queue(queue, { connection: { url: redis.url } as never });
  try {
    const engine = makeEngine({ redis: { url: redis.url, queue } });
    const id = await engine.execute(sh('echo never'));
    // Found by the submitter's watchdog (checks every 5 s).
    expect(await settlesWithin(engine.wait(id), 20_000)).toBe(true);
    expect(await engine.wait(id)).toMatchObject({
      status: 'failed',
      error_code: 'worker_lost',
      error: `Worker lost: ${refusal}`,
    });
    await until(async () => (await probe.getFailedCount()) === 0, 10_000, 'the failed job removed');
    await engine.shutdown();
  } finally {
    await older.close();
    await probe.close();
  }
}, 45_000);

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

test('a worker started against an unreachable Redis exits with a clear error instead of waiting forever', async () => {
  const bin = join(fileURLToPath(new URL('..', import.meta.url)), 'dist/cli/main.js');
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [bin, '--log-dir', tempDir(), 'worker', '--redis', `redis://127.0.0.1:${port}`],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, CLOUDOPS_REDIS_URL: '' },
    },
  );
  servers.push(child);
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  expect(await settlesWithin(exited, 25_000)).toBe(true);
  expect(await exited).not.toBe(0);
  expect(stderr).toContain('Queue unavailable');
}, 40_000);

test('retry mode: a command requeued after its worker died can still be cancelled while it waits', async () => {
  const queue = queueName();
  const args = ['--lock-duration', '1000', '--on-worker-lost', 'retry', '--concurrency', '1'];
  const a = await startWorkerProcess(redis.url, queue, tempDir('cee-worker-'), ...args);
  workers.push(a);
  const engine = makeEngine({ redis: { url: redis.url, queue } });
  const x = await engine.execute(sh('echo begun; sleep 60'));
  await until(async () => (await engine.readLogs(x)).includes('[stdout] begun'), 20_000, 'x running on A');
  // B is kept busy, so X waits in the queue once A is gone.
  workers.push(await startWorkerProcess(redis.url, queue, tempDir('cee-worker-'), ...args));
  const busy = await engine.execute(sh('echo busy; sleep 60'));
  await until(async () => (await engine.readLogs(busy)).includes('[stdout] busy'), 20_000, 'B busy');
  a.child.kill('SIGKILL');
  await a.exited;
  const probe = new Queue(queue, { connection: { url: redis.url } as never });
  try {
    const jobId = `${x}_`;
    await until(
      async () => {
        const waiting = await probe.getJobs(['waiting']);
        return waiting.some((job) => job.id?.startsWith(jobId));
      },
      15_000,
      'x back in the queue',
    );
  } finally {
    await probe.close();
  }
  await engine.cancel(x);
  expect(await settlesWithin(engine.wait(x), 15_000)).toBe(true);
  expect(await engine.wait(x)).toMatchObject({ status: 'cancelled', error_code: 'cancelled' });
  await engine.cancel(busy);
}, 60_000);

test('a worker that pauses past its lock stops its command when it resumes: it runs nowhere unwatched', async () => {
  const queue = queueName();
  const args = ['--lock-duration', '1000', '--on-worker-lost', 'fail'];
  const a = await startWorkerProcess(redis.url, queue, tempDir('cee-worker-'), ...args);
  workers.push(a);
  const engine = makeEngine({ redis: { url: redis.url, queue } });
  const marker = join(tempDir(), 'still-ran');
  // Long enough that, on a loaded machine, the lock expiry is noticed and A resumed before it ends.
  const id = await engine.execute(sh(`echo begun; sleep 14; touch ${marker}`));
  await until(async () => (await engine.readLogs(id)).includes('[stdout] begun'), 20_000, 'running on A');
  const startedAt = Date.now();
  // B's stalled-job check notices A's expired lock.
  workers.push(await startWorkerProcess(redis.url, queue, tempDir('cee-worker-'), ...args));
  a.child.kill('SIGSTOP'); // a long pause: blocked event loop, swapped out, network partition
  const result = await engine.wait(id);
  a.child.kill('SIGCONT');
  expect(result.status).toBe('failed');
  expect(result.error_code).toBe('worker_lost');
  expect(result.error).toMatch(/^Worker lost: /);
  // Past the moment the command would have finished, had A let it run.
  await new Promise((resolve) => setTimeout(resolve, Math.max(0, 16_000 - (Date.now() - startedAt))));
  expect(existsSync(marker)).toBe(false);
}, 60_000);
