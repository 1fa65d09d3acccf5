/**
 * Attacks on the engine's own responsiveness through what a client chooses:
 * - retry patterns: a backtracking regex (`/(a+)+$/`) run on command output froze the
 *   server. Patterns now run in RE2 (linear time) in a worker thread; what RE2 cannot run
 *   or would run slowly is refused up front, naming the entry.
 * - script paths: opening a FIFO blocks until someone writes to it, and four such opens
 *   took every libuv I/O thread. Client paths are now type-checked before opening and
 *   opened without blocking; FIFOs and devices are refused, naming `command.path`.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { readShebang } from '../../src/command/script.js';
import { ExecutionEngine, ValidationError } from '../../src/index.js';
import { RetryConfigSchema, retryableMatch } from '../../src/policy/retry.js';
import { Re2JobFailed, re2FirstMatch } from '../../src/policy/retry-matcher.js';
import { parseRetryPattern, type RegexPattern } from '../../src/wire/retry-pattern.js';
import { makeEngine, tempDir } from '../helpers.js';
import { startTestServer } from '../support/server.js';

const CATASTROPHIC = ['/(a+)+$/', '/(x+x+)+y/', '/^(\\w+\\s?)*$/'];

/** Output built to make each catastrophic pattern backtrack: long runs that fail at the last character. */
function adversarialOutput(n: number): string[] {
  return [`${'a'.repeat(n)}!`, `${'x'.repeat(n)}!`, `${'word '.repeat(n / 5)}!`];
}

async function rejection(promise: Promise<unknown>): Promise<ValidationError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

describe('retry patterns cannot freeze the server', () => {
  test('catastrophic patterns on long adversarial output: matching leaves the event loop free, and finds nothing', async () => {
    const config = RetryConfigSchema.parse({ retryable_errors: CATASTROPHIC });
    // A backtracking engine takes exponential time on these (31 characters took 113 s).
    const texts = adversarialOutput(200_000);
    let finished = false;
    const match = retryableMatch(config, texts).finally(() => (finished = true));
    // The event loop turns while the match runs: it is not on this thread.
    await new Promise((resolve) => setImmediate(resolve));
    expect(finished).toBe(false);
    expect(await match).toBeNull();
    // The same patterns still match what they describe.
    expect(await retryableMatch(config, ['aaaa'])).toBe('/(a+)+$/');
    expect(await retryableMatch(config, ['xxy'])).toBe('/(x+x+)+y/');
    expect(await retryableMatch(config, [`${'x'.repeat(100_000)}y`])).toBe('/(x+x+)+y/');
    expect(await retryableMatch(config, ['two words'])).toBe('/^(\\w+\\s?)*$/');
  });

  test('an RE2 abort (its fixed heap exhausted) fails only that job: the next one runs on a fresh worker', async () => {
    // Retry matching never sends this much (each stream is windowed); this drives the worker into the abort on purpose.
    const pattern = parseRetryPattern('/b+$/') as RegexPattern;
    const [aborted, next] = await Promise.all([
      re2FirstMatch([pattern], ['a'.repeat(9 * 1024 * 1024)]).catch((e: unknown) => e),
      re2FirstMatch([pattern], ['abb']),
    ]);
    expect(aborted).toBeInstanceOf(Re2JobFailed);
    expect(String(aborted)).toMatch(/abort/);
    expect(next).toBe(0);
    expect(await re2FirstMatch([pattern], ['abba'])).toBe(-1);
  });

  test('through a real server: /api/health answers while a failed command is matched against catastrophic patterns; its result arrives', async () => {
    const { api, engine } = await startTestServer();
    const dir = tempDir();
    const n = 300_000;
    // Each stream ends in a way that makes its pattern fail only after trying everything.
    const script = join(dir, 'noisy.sh');
    writeFileSync(
      script,
      `#!/bin/sh\nhead -c ${n} /dev/zero | tr '\\0' a; echo '!'\nhead -c ${n} /dev/zero | tr '\\0' x >&2\nyes word | head -n ${n / 5} | tr '\\n' ' '; echo '!'\nexit 3\n`,
      { mode: 0o755 },
    );
    const submitted = await api('POST', '/api/executions', {
      command: { type: 'exec', program: '/bin/sh', args: [script] },
      retry: { max_attempts: 3, backoff: { type: 'fixed', delay_ms: 0 }, jitter: 0, retryable_errors: CATASTROPHIC },
    });
    expect(submitted.status).toBe(202);
    const id = submitted.body.id as string;
    const result = engine.wait(id);
    let done = false;
    void result.finally(() => (done = true));
    let answered = 0;
    while (!done) {
      const health = await api('GET', '/api/health');
      expect(health.status).toBe(200);
      answered++;
    }
    expect(answered).toBeGreaterThan(0);
    // Nothing matched, so nothing was retried: the command's own failure is the result.
    expect(await result).toMatchObject({ status: 'failed', exit_code: 3, attempts: 1, previous_attempts: [] });
  });

  test.each([
    ['/(a)\\1/', /backreferences/],
    ['/(?<n>a)\\k<n>/', /named backreferences/],
    ['/a(?=b)/', /lookaround/],
    ['/a(?!b)/', /lookaround/],
    ['/(?<=a)b/', /lookaround/],
    ['/(?<!a)b/', /lookaround/],
    ['/a/g', /flag "g" is not supported/],
    ['/a/y', /flag "y" is not supported/],
    ['/a/ii', /flag "i" is repeated/],
    ['/x{5000}/', /too large/],
    ['/(x{1,99}){1,99}/', /too large/],
    ['/\\pL{999}/i', /too large/],
    [`/${'a'.repeat(300)}/`, /at most 256/],
  ])('%s is refused over HTTP: 400 naming retry.retryable_errors[1], and nothing runs', async (pattern, reason) => {
    const { api } = await startTestServer();
    const sentinel = join(tempDir(), 'ran');
    const response = await api('POST', '/api/executions', {
      command: { type: 'exec', program: 'touch', args: [sentinel] },
      retry: { retryable_errors: ['ThrottlingException', pattern] },
    });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'Validation', field: 'retry.retryable_errors[1]' });
    expect(response.body.error.reason).toMatch(reason);
    expect(existsSync(sentinel)).toBe(false);
  });

  test.each([
    ['/(unclosed/', /missing \)/],
    ['/a++/', /bad repetition operator/],
    ['/[z-a]/', /invalid character class range/],
    ['/a{2,1}/', /invalid repetition size/],
    ['/\\e/', /invalid escape sequence/],
  ])("%s, which RE2 cannot compile, is refused with RE2's reason, and nothing runs", async (pattern, reason) => {
    const { api } = await startTestServer();
    const sentinel = join(tempDir(), 'ran');
    const response = await api('POST', '/api/executions', {
      command: { type: 'exec', program: 'touch', args: [sentinel] },
      retry: { retryable_errors: [pattern] },
    });
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ code: 'Validation', field: 'retry.retryable_errors[0]' });
    expect(response.body.error.reason).toMatch(/RE2 cannot compile/);
    expect(response.body.error.reason).toMatch(reason);
    expect(existsSync(sentinel)).toBe(false);
  });

  test('limits on the whole list: at most 32 entries, and a bounded total regex size; in plans and rollback steps the field is located', async () => {
    const { api } = await startTestServer();
    const sentinel = join(tempDir(), 'ran');
    const touch = { command: { type: 'exec', program: 'touch', args: [sentinel] } };
    const many = await api('POST', '/api/executions', {
      ...touch,
      retry: { retryable_errors: Array.from({ length: 33 }, (_, i) => `E${i}`) },
    });
    expect(many.status).toBe(400);
    expect(many.body.error).toMatchObject({ field: 'retry.retryable_errors' });
    expect(many.body.error.reason).toMatch(/at most 32/);
    const heavy = await api('POST', '/api/executions', {
      ...touch,
      retry: { retryable_errors: ['/x{190}/', '/y{190}/', '/z{190}/'] },
    });
    expect(heavy.status).toBe(400);
    expect(heavy.body.error).toMatchObject({ field: 'retry.retryable_errors' });
    expect(heavy.body.error.reason).toMatch(/too large together/);
    const plan = await api('POST', '/api/plans', {
      commands: [
        touch,
        {
          ...touch,
          rollback: [{ command: { type: 'exec', program: 'true' }, retry: { retryable_errors: ['/(?<n>a/'] } }],
        },
      ],
    });
    expect(plan.status).toBe(400);
    expect(plan.body.error).toMatchObject({ field: 'commands[1].rollback[0].retry.retryable_errors[0]' });
    expect(plan.body.error.reason).toMatch(/RE2 cannot compile.*missing \)/);
    expect(existsSync(sentinel)).toBe(false);
  });

  test("the engine's own config is checked the same way, naming config.retry.retryable_errors[i]", () => {
    for (const [pattern, reason] of [
      ['/(a)\\1/', /backreferences/],
      ['/a/g', /flag "g"/],
      ['/(?=a)/', /lookaround/],
    ] as const) {
      let thrown: unknown;
      try {
        new ExecutionEngine({ log_dir: tempDir(), retry: { retryable_errors: ['ok', pattern] } });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(ValidationError);
      expect((thrown as ValidationError).field).toBe('config.retry.retryable_errors[1]');
      expect((thrown as ValidationError).reason).toMatch(reason);
    }
  });

  test('ordinary regexes and substrings keep working end to end: a failure matching a regex is retried', async () => {
    const engine = makeEngine();
    const dir = tempDir();
    const counter = join(dir, 'count');
    const id = await engine.execute({
      command: {
        type: 'shell',
        command: `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; if [ $n -lt 2 ]; then echo 'HTTP 503 Slow Down' >&2; exit 1; fi; echo ok`,
      },
      retry: {
        max_attempts: 3,
        backoff: { type: 'fixed', delay_ms: 0 },
        jitter: 0,
        retryable_errors: ['Throttling', '/HTTP 5\\d\\d (?<why>slow down)/i'],
      },
    });
    const result = await engine.wait(id);
    expect(result).toMatchObject({ status: 'completed', attempts: 2, stdout: 'ok\n' });
    expect(result.previous_attempts[0]).toMatchObject({ retry_reason: '/HTTP 5\\d\\d (?<why>slow down)/i' });
  });

  test('an idle RE2 worker does not keep a library process alive after shutdown', () => {
    // The workers outlived the engine: a process that checked and matched a regex pattern
    // then shut its engine down stayed alive 30 s (the workers' idle timeout). The child
    // exercises both workers (validation, then a retry decided by the regex) and must end
    // on its own; the bound is only there so a regression fails instead of hanging.
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const script = `
      import { ExecutionEngine } from ${JSON.stringify(new URL('dist/index.js', `file://${root}/`).href)};
      const engine = new ExecutionEngine({ log_dir: ${JSON.stringify(tempDir())} });
      const id = await engine.execute({
        command: { type: 'shell', command: 'echo "HTTP 503" >&2; exit 1' },
        retry: { max_attempts: 2, retryable_errors: ['/HTTP 5\\\\d\\\\d/'], backoff: { type: 'fixed', delay_ms: 0 }, jitter: 0 },
      });
      const result = await engine.wait(id);
      await engine.shutdown();
      engine.close();
      console.log(JSON.stringify({ status: result.status, attempts: result.attempts, reason: result.previous_attempts[0]?.retry_reason }));
    `;
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(run.signal, 'the process had to be killed: something kept it alive').toBeNull();
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ status: 'failed', attempts: 2, reason: '/HTTP 5\\d\\d/' });
  }, 60_000);
});

describe('client paths cannot block the I/O threads', () => {
  function fifo(dir: string, name: string): string {
    const path = join(dir, name);
    execFileSync('mkfifo', [path]);
    return path;
  }

  test('six script requests at FIFOs are refused naming command.path; a normal command, its logs and validation still work', async () => {
    const engine = makeEngine();
    const dir = tempDir();
    const fifos = Array.from({ length: 6 }, (_, i) => fifo(dir, `script-${i}.sh`));
    const attempts = fifos.map((path, i) =>
      rejection(
        engine.execute({
          // With and without an interpreter, absolute and relative to working_dir.
          command: { type: 'script', path: i % 2 === 0 ? path : `script-${i}.sh`, interpreter: i < 3 ? 'sh' : null },
          working_dir: dir,
        }),
      ),
    );
    for (const err of await Promise.all(attempts)) {
      expect(err.field).toBe('command.path');
      expect(err.kind).toBe('ScriptNotFound');
      expect(err.reason).toMatch(/is not a regular file \(a FIFO\)/);
    }
    // The I/O threads are free: a command runs, its log is read, a script is validated.
    const id = await engine.execute({ command: { type: 'exec', program: 'echo', args: ['still alive'] } });
    expect(await engine.wait(id)).toMatchObject({ status: 'completed', stdout: 'still alive\n' });
    expect(await engine.readLogs(id)).toMatch(/still alive/);
    const real = join(dir, 'real.sh');
    writeFileSync(real, '#!/bin/sh\necho real\n', { mode: 0o755 });
    expect(await engine.wait(await engine.execute({ command: { type: 'script', path: real } }))).toMatchObject({
      status: 'completed',
      stdout: 'real\n',
    });
    // None of the refused requests became an execution.
    expect((await engine.listExecutions()).map((e) => e.id).sort()).toEqual(expect.arrayContaining([id]));
    expect(await engine.listExecutions()).toHaveLength(2);
  });

  test('over HTTP too: FIFO script requests are 400s, and /logs, validate and run keep answering', async () => {
    const { api } = await startTestServer();
    const dir = tempDir();
    for (let i = 0; i < 6; i++) {
      const response = await api('POST', '/api/executions', {
        command: { type: 'script', path: fifo(dir, `s${i}`), interpreter: 'sh' },
      });
      expect(response.status).toBe(400);
      expect(response.body.error).toMatchObject({ kind: 'ScriptNotFound', field: 'command.path' });
      expect(response.body.error.reason).toMatch(/not a regular file \(a FIFO\)/);
    }
    const plan = await api('POST', '/api/plans', {
      commands: [
        { command: { type: 'exec', program: 'true' } },
        { command: { type: 'script', path: fifo(dir, 'in-plan') } },
      ],
    });
    expect(plan.status).toBe(400);
    expect(plan.body.error).toMatchObject({ field: 'commands[1].command.path' });
    const ok = await api('POST', '/api/executions', { command: { type: 'exec', program: 'echo', args: ['fine'] } });
    expect(ok.status).toBe(202);
    const result = await api('GET', `/api/executions/${ok.body.id}/result?wait=true`);
    expect(result.body).toMatchObject({ status: 'completed', stdout: 'fine\n' });
    const logs = await api('GET', `/api/executions/${ok.body.id}/logs`);
    expect(logs.body).toMatch(/\[stdout\] fine/);
  });

  test('devices, sockets and directories are refused by type, before anything reads them', async () => {
    const dir = tempDir();
    const socketPath = join(dir, 'sock');
    const server = createServer().listen(socketPath);
    await new Promise((resolve) => server.once('listening', resolve));
    try {
      mkdirSync(join(dir, 'a-dir'));
      const cases: Array<[string, RegExp]> = [
        // Devices are not scripts: /dev/zero never ends, a terminal or /dev/stdin could wait forever.
        ['/dev/zero', /not a regular file \(a character device\)/],
        ['/dev/null', /not a regular file \(a character device\)/],
        ['/dev/urandom', /not a regular file \(a character device\)/],
        [socketPath, /not a regular file \(a socket\)/],
        [join(dir, 'a-dir'), /not a regular file \(a directory\)/],
        [join(dir, 'missing.sh'), /no such file/],
      ];
      const engine = makeEngine();
      for (const [path, reason] of cases) {
        const err = await rejection(engine.execute({ command: { type: 'script', path, interpreter: 'sh' } }));
        expect(err.field).toBe('command.path');
        expect(err.reason).toMatch(reason);
        await expect(readShebang(path)).rejects.toThrow(reason);
      }
    } finally {
      server.close();
    }
  });

  test('a FIFO as working_dir or as output_log_path is refused naming the field, and nothing runs', async () => {
    const engine = makeEngine();
    const dir = tempDir();
    const sentinel = join(dir, 'ran');
    const touch = { command: { type: 'exec' as const, program: 'touch', args: [sentinel] } };
    const badDir = await rejection(engine.execute({ ...touch, working_dir: fifo(dir, 'wd') }));
    expect(badDir).toMatchObject({ kind: 'InvalidWorkingDir', field: 'working_dir' });
    expect(badDir.reason).toMatch(/not a directory: a FIFO/);
    // The log is opened for writing when the command starts; a FIFO would wait for a reader.
    const badLog = await rejection(engine.execute({ ...touch, output_log_path: fifo(dir, 'log') }));
    expect(badLog).toMatchObject({ kind: 'InvalidField', field: 'output_log_path' });
    expect(badLog.reason).toMatch(/is not a regular file \(a FIFO\)/);
    const inPlan = await rejection(
      engine.executePlan({ commands: [touch, { ...touch, rollback: [{ ...touch, output_log_path: '/dev/null' }] }] }),
    );
    expect(inPlan.field).toBe('commands[1].rollback[0].output_log_path');
    expect(inPlan.reason).toMatch(/a character device/);
    expect(existsSync(sentinel)).toBe(false);
  });

  test('`cloudops-exec validate` on a plan with a FIFO script exits 2 naming the field', () => {
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const dir = tempDir();
    const path = fifo(dir, 'deploy.sh');
    const planPath = join(dir, 'plan.yaml');
    writeFileSync(
      planPath,
      `commands:\n  - command: { type: exec, program: "true" }\n  - command: { type: script, path: "${path}" }\n`,
    );
    const run = spawnSync(
      process.execPath,
      [join(root, 'dist/cli/main.js'), '--log-dir', tempDir(), 'validate', planPath],
      {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(run.status).toBe(2);
    expect(run.stderr).toMatch(/commands\[1\]\.command\.path: .*deploy\.sh is not a regular file \(a FIFO\)/);
  });
});
