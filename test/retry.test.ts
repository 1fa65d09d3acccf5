/** Retries with backoff, through the engine, with a real script that fails twice with "ThrottlingException". */
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { ExecutionEvent } from '../src/index.js';
import { makeEngine, sh, tempDir, until } from './helpers.js';

const FAST = { max_attempts: 3, backoff: { type: 'fixed' as const, delay_ms: 20 }, jitter: 0 };

/** Fails with a throttling error until its `n`th run. */
function flaky(
  dir: string,
  succeedOn: number,
  error = 'An error occurred (ThrottlingException) when calling the DescribeInstances operation: Rate exceeded',
) {
  const counter = join(dir, 'count');
  return sh(
    `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo "attempt $n"; if [ $n -lt ${succeedOn} ]; then echo '${error}' >&2; exit 255; fi; echo done`,
  );
}

test('a command failing twice with ThrottlingException then succeeding completes on attempt 3; every attempt is visible', async () => {
  const engine = makeEngine();
  const events: ExecutionEvent[] = [];
  engine.withEventHandler((e) => void events.push(e));
  const id = await engine.execute({ ...flaky(tempDir(), 3), retry: FAST });
  const result = await engine.wait(id);
  expect(result).toMatchObject({ status: 'completed', exit_code: 0, attempts: 3, stdout: 'attempt 3\ndone\n' });
  expect(result.previous_attempts).toEqual([
    expect.objectContaining({
      attempt: 1,
      exit_code: 255,
      retry_reason: 'ThrottlingException',
      delay_ms: 20,
      error: 'Command failed with exit code 255',
    }),
    expect.objectContaining({ attempt: 2, exit_code: 255, retry_reason: 'ThrottlingException', delay_ms: 20 }),
  ]);
  const retrying = events.filter((e) => e.event_type === 'retrying');
  expect(retrying).toEqual([
    expect.objectContaining({
      execution_id: id,
      attempt: 1,
      max_attempts: 3,
      delay_ms: 20,
      reason: 'ThrottlingException',
    }),
    expect.objectContaining({
      execution_id: id,
      attempt: 2,
      max_attempts: 3,
      delay_ms: 20,
      reason: 'ThrottlingException',
    }),
  ]);
  const lines = events.filter((e) => e.event_type === 'stdout').map((e) => (e as { line: string }).line);
  expect(lines).toEqual(['attempt 1', 'attempt 2', 'attempt 3', 'done']);
  const log = await engine.readLogs(id);
  expect(log).toMatch(/attempt 1 of 3 failed \(ThrottlingException\); retrying in 20ms/);
  expect(log).toMatch(/attempt 2 of 3 failed/);
  expect(events.filter((e) => e.event_type === 'started')).toHaveLength(1);
});

test('retries stop at max_attempts; the last failure is the result', async () => {
  const engine = makeEngine();
  const result = await engine.wait(await engine.execute({ ...flaky(tempDir(), 99), retry: FAST }));
  expect(result).toMatchObject({ status: 'failed', exit_code: 255, attempts: 3, stdout: 'attempt 3\n' });
  expect(result.stderr).toContain('ThrottlingException');
});

test('a failure without a retryable pattern is not retried', async () => {
  const engine = makeEngine();
  const result = await engine.wait(await engine.execute({ ...flaky(tempDir(), 3, 'AccessDenied'), retry: FAST }));
  expect(result).toMatchObject({ status: 'failed', attempts: 1, previous_attempts: [] });
});

test('the engine-wide retry config applies to requests that set none (seed patterns by default)', async () => {
  const engine = makeEngine({ retry: { backoff: { type: 'linear', increment_ms: 10, max_ms: 50 } } });
  const result = await engine.wait(await engine.execute(flaky(tempDir(), 2, 'RequestLimitExceeded')));
  expect(result).toMatchObject({ status: 'completed', attempts: 2 });
});

test('cancelling during the backoff wait ends the execution as cancelled', async () => {
  const engine = makeEngine();
  const id = await engine.execute({
    ...flaky(tempDir(), 99),
    retry: { max_attempts: 5, backoff: { type: 'fixed', delay_ms: 60_000 }, jitter: 0 },
  });
  await until(async () => (await engine.readLogs(id)).includes('retrying in 60000ms'), 10_000, 'first retry scheduled');
  await engine.cancel(id);
  const result = await engine.wait(id);
  expect(result).toMatchObject({ status: 'cancelled', attempts: 1 });
});

test('a timeout is not retried', async () => {
  const engine = makeEngine();
  const result = await engine.wait(
    await engine.execute({ ...sh('echo ThrottlingException >&2; sleep 30'), timeout_ms: 200, retry: FAST }),
  );
  expect(result).toMatchObject({ status: 'timeout', attempts: 1 });
});

test('a command waiting to retry gives its slot to queued work', async () => {
  const dir = tempDir();
  const engine = makeEngine({ max_concurrent_executions: 1 });
  const flakyId = await engine.execute({
    ...flaky(dir, 2),
    retry: { max_attempts: 2, backoff: { type: 'fixed', delay_ms: 60_000 }, jitter: 0 },
  });
  await until(async () => (await engine.readLogs(flakyId)).includes('retrying in 60000ms'), 10_000, 'backoff started');
  // With the only slot held through the backoff this would wait a minute.
  const other = await engine.execute(sh('echo meanwhile'));
  expect((await engine.wait(other)).stdout).toBe('meanwhile\n');
  await engine.cancel(flakyId);
  expect((await engine.wait(flakyId)).status).toBe('cancelled');
});
