/**
 * Queue mode when a worker cannot do its part: one that cannot reach Redis must exit, and one
 * that pauses past its lock must stop its command when it resumes (a command runs only where
 * someone is watching it).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { makeEngine, sh, tempDir, until } from './helpers.js';
import { freePort } from './support/processes.js';
import { queueName, settlesWithin, useQueueFailureFixtures } from './support/queue-failures.js';
import { startWorkerProcess } from './support/redis.js';

const { redis, workers, servers } = useQueueFailureFixtures();

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
