/**
 * Shared setup of the queue failure tests (test/queue-failures*.test.ts, split so that the two
 * test workers run them side by side): a Redis for the file, worker processes and servers that
 * are stopped after each test, and small helpers for tests that must never hang.
 */
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { kill } from './processes.js';
import { type RedisServer, startPrivateRedis, startRedis, type startWorkerProcess } from './redis.js';

type WorkerProcess = Awaited<ReturnType<typeof startWorkerProcess>>;

/** How long a stopping worker gets to say it is draining before it is told to cancel instead. */
const DRAIN_NOTICE_MS = 2_000;
/** How long it then gets to cancel its commands and exit (a third signal makes it exit at once). */
const CANCEL_GRACE_MS = 3_000;

/**
 * Stops a worker as a person would with Ctrl-C twice: the second signal cancels what it still
 * runs (a test's `sleep 60`), so it neither waits for that command nor leaves it running.
 * `kill` (a third SIGTERM, then SIGKILL) ends a worker that does not exit on its own.
 */
async function stopWorker(worker: WorkerProcess): Promise<void> {
  const { child } = worker;
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const deadline = Date.now() + DRAIN_NOTICE_MS;
  while (!worker.stderr().includes('Stopping:') && child.exitCode === null && Date.now() < deadline)
    await new Promise((resolve) => setTimeout(resolve, 20));
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  await Promise.race([worker.exited, new Promise((resolve) => setTimeout(resolve, CANCEL_GRACE_MS))]);
  await kill(child);
}

/**
 * Registers the file's hooks: one Redis for the file, and after each test, every worker and
 * server the test registered is stopped.
 */
export function useQueueFailureFixtures() {
  let redis: RedisServer | undefined;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.stop();
  });
  const workers: WorkerProcess[] = [];
  const servers: ChildProcess[] = [];
  afterEach(async () => {
    await Promise.all(workers.splice(0).map(stopWorker));
    await Promise.all(servers.splice(0).map((s) => kill(s)));
  });
  return {
    /** The file's Redis (its URL once beforeAll has run). */
    redis: {
      get url(): string {
        if (!redis) throw new Error('Redis is not started yet');
        return redis.url;
      },
    },
    /** Stopped after the test (a worker the test killed is skipped). */
    workers,
    /** Stopped after the test, if still running. */
    servers,
    /** A redis-server of this test's own, which it may kill; stopped after the test if still up. */
    async privateRedis(): Promise<{ url: string; child: ChildProcess }> {
      const server = await startPrivateRedis();
      servers.push(server.child);
      return server;
    },
  };
}

/** Whether `promise` settles within `ms` (a bound for a test that would otherwise hang). */
export const settlesWithin = (promise: Promise<unknown>, ms: number) =>
  Promise.race([
    promise.then(
      () => true,
      () => true,
    ),
    new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms)),
  ]);

/** A queue of the test's own: tests sharing a Redis never see each other's jobs. */
export const queueName = () => `f-${randomUUID().slice(0, 8)}`;
