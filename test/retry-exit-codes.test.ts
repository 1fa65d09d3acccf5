/**
 * `retry.retryable_exit_codes`: a failed attempt whose exit code is listed is retried like one
 * whose output matched a retryable pattern, through the engine, with a real script that
 * counts its runs in a file.
 */
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { type ExecutionEvent, parsePlan, parseRequest } from '../src/index.js';
import { makeEngine, sh, tempDir, validationErrorOf } from './helpers.js';

const FAST = { max_attempts: 3, backoff: { type: 'fixed' as const, delay_ms: 20 }, jitter: 0 };

/** Exits with `code` (printing nothing a pattern could match) until its `succeedOn`th run. */
function exitsWith(dir: string, code: number, succeedOn: number) {
  const counter = join(dir, 'count');
  return sh(
    `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo "attempt $n"; if [ $n -lt ${succeedOn} ]; then exit ${code}; fi`,
  );
}

describe('retry on exit codes', () => {
  test('exit 75 (listed) once, then 0: retried, completes on attempt 2; the reason names the exit code', async () => {
    const engine = makeEngine();
    const events: ExecutionEvent[] = [];
    engine.withEventHandler((e) => void events.push(e));
    const id = await engine.execute({
      ...exitsWith(tempDir(), 75, 2),
      retry: { ...FAST, retryable_exit_codes: [75, 255] },
    });
    const result = await engine.wait(id);
    expect(result).toMatchObject({ status: 'completed', exit_code: 0, attempts: 2, stdout: 'attempt 2\n' });
    expect(result.previous_attempts).toEqual([
      expect.objectContaining({ attempt: 1, exit_code: 75, retry_reason: 'exit code 75', delay_ms: 20 }),
    ]);
    expect(events.filter((e) => e.event_type === 'retrying')).toEqual([
      expect.objectContaining({ execution_id: id, attempt: 1, max_attempts: 3, reason: 'exit code 75' }),
    ]);
    expect(await engine.readLogs(id)).toMatch(/attempt 1 of 3 failed \(exit code 75\); retrying in 20ms/);
  });

  test('exit 3, not in the list, is not retried', async () => {
    const engine = makeEngine();
    const events: ExecutionEvent[] = [];
    engine.withEventHandler((e) => void events.push(e));
    const id = await engine.execute({ ...exitsWith(tempDir(), 3, 2), retry: { ...FAST, retryable_exit_codes: [75] } });
    const result = await engine.wait(id);
    expect(result).toMatchObject({ status: 'failed', exit_code: 3, attempts: 1, previous_attempts: [] });
    expect(events.some((e) => e.event_type === 'retrying')).toBe(false);
  });

  test('retries still stop at max_attempts', async () => {
    const engine = makeEngine();
    const id = await engine.execute({
      ...exitsWith(tempDir(), 75, 99),
      retry: { ...FAST, retryable_exit_codes: [75] },
    });
    expect(await engine.wait(id)).toMatchObject({
      status: 'failed',
      exit_code: 75,
      attempts: 3,
      stdout: 'attempt 3\n',
    });
  });

  test('by default no exit code is retryable (the output patterns still are)', async () => {
    const engine = makeEngine({ retry: FAST });
    const id = await engine.execute(exitsWith(tempDir(), 75, 2));
    expect(await engine.wait(id)).toMatchObject({ status: 'failed', exit_code: 75, attempts: 1 });
  });

  test('the engine-wide retry config may list exit codes too', async () => {
    const engine = makeEngine({ retry: { ...FAST, retryable_exit_codes: [75] } });
    const id = await engine.execute(exitsWith(tempDir(), 75, 2));
    expect(await engine.wait(id)).toMatchObject({ status: 'completed', attempts: 2 });
  });
});

describe('retryable_exit_codes values', () => {
  const request = (codes: unknown) => ({ ...sh('true'), retry: { retryable_exit_codes: codes } });

  test('defaults to none', () => {
    expect(parseRequest({ ...sh('true'), retry: {} }).retry?.retryable_exit_codes).toEqual([]);
    expect(parseRequest(request([75, 255])).retry?.retryable_exit_codes).toEqual([75, 255]);
  });

  test.each([
    [[0], 'retry.retryable_exit_codes[0]', /exit codes are 1 to 255/],
    [[75, 256], 'retry.retryable_exit_codes[1]', /exit codes are 1 to 255/],
    [['75'], 'retry.retryable_exit_codes[0]', /expected number/],
    [[75, 75], 'retry.retryable_exit_codes', /must not list an exit code twice/],
    [Array.from({ length: 33 }, (_, i) => i + 1), 'retry.retryable_exit_codes', /at most 32 exit codes/],
  ])('%j is refused, naming %s', (codes, field, reason) => {
    const err = validationErrorOf(() => parseRequest(request(codes)));
    expect(err.field).toBe(field);
    expect(err.message).toMatch(reason);
  });

  test('in a plan step the field names the step', () => {
    const err = validationErrorOf(() => parsePlan({ commands: [request([1, 300])] }));
    expect(err.field).toBe('commands[0].retry.retryable_exit_codes[1]');
  });
});
