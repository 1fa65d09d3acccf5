/**
 * Queue mode when workers are lost: the last worker dying, a worker of another version refusing
 * the job, a job requeued after its worker died. Every run must end (never a `wait` that hangs).
 */
import { Queue, Worker } from 'bullmq';
import { expect, test } from 'vitest';
import { makeEngine, sh, tempDir, until } from './helpers.js';
import { queueName, settlesWithin, useQueueFailureFixtures } from './support/queue-failures.js';
import { startWorkerProcess } from './support/redis.js';

const { redis, workers } = useQueueFailureFixtures();

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
  // SIGKILL left the worker no chance to end its command: end its group here.
  const pid = /spawned pid (\d+) on worker/.exec(await engine.readLogs(id))?.[1];
  expect(pid).toBeDefined();
  try {
    process.kill(-Number(pid), 'SIGKILL');
  } catch {
    // already gone
  }
}, 45_000);

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
