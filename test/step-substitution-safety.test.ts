/**
 * Substitution under attack: shell strings whose quoting is hard to read (the review's cases)
 * never run a value, since a shell reads each value from a variable of its own environment;
 * a step resolved into riskier work than was judged does not start; outputs files carry no
 * secret and no line from a failed attempt.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ValidationError } from '../src/index.js';
import { makeEngine, sh, tempDir } from './helpers.js';

test.each([
  ['a "#" after an escaped blank, then a double-quoted reference', 'echo a\\ #"\n${{ params.p }}"', '$(touch MARK)'],
  ['"$" right before a reference in double quotes', 'echo "id-$${{ params.p }}"', '(touch MARK)'],
  ['"$" right before a reference outside quotes', 'echo $${{ params.p }}', "\\'; touch MARK; #"],
  ['a case inside $(...)', 'echo "$(case a in a) echo ${{ params.p }};; esac)"', 'x; touch MARK'],
  ['a ")" inside ${x%)} within "$(...)"', 'x=1; echo "$(echo ${x%)} ${{ params.p }})"', 'y; touch MARK'],
])('%s: the value is never run (refused, or read from a variable)', async (_label, command, value) => {
  const marker = join(tempDir(), 'pwned');
  const engine = makeEngine();
  const submitted = await engine
    .executePlan({
      parameters: { p: { type: 'string' } },
      params: { p: value.replace('MARK', marker) },
      commands: [sh(command)],
    })
    .then(
      (id) => id,
      (err: unknown) => err,
    );
  if (typeof submitted === 'string') {
    const result = await engine.waitPlan(submitted);
    expect(['completed', 'failed']).toContain(result.status);
    // What ran read the value from its environment.
    expect(result.results[0]!.stdout).not.toContain('CLOUDOPS_REF_');
  } else {
    expect(submitted).toBeInstanceOf(ValidationError);
  }
  expect(existsSync(marker)).toBe(false);
  await engine.shutdown();
});

test('a step whose resolved arguments are riskier than what was admitted does not start (risk_raised)', async () => {
  const dir = tempDir();
  const engine = makeEngine({ approval: { auto_approve_readonly: true } });
  // Written, `find DIR -name x` reads; resolved with DIR "-delete" it deletes.
  const id = await engine.executePlan({
    parameters: { dir: { type: 'string' } },
    params: { dir: '-delete' },
    commands: [{ command: { type: 'exec', program: 'find', args: ['${{ params.dir }}', dir, '-name', 'x'] } }],
  });
  const result = await engine.waitPlan(id);
  expect(result.status).toBe('failed');
  expect(result.results[0]).toMatchObject({ status: 'failed', error_code: 'risk_raised', attempts: 0 });
  expect(result.results[0]!.error).toMatch(/rated destructive, above the read_only it was admitted at/);
  expect(existsSync(dir)).toBe(true);

  // The same value where it stays harmless runs.
  const fine = await engine.executePlan({
    parameters: { name: { type: 'string' } },
    params: { name: '-delete' },
    commands: [{ command: { type: 'exec', program: 'echo', args: ['${{ params.name }}'] } }],
  });
  expect((await engine.waitPlan(fine)).status).toBe('completed');
  await engine.shutdown();
});

test('an outputs file holds no secret and no line a failed attempt wrote', async () => {
  const engine = makeEngine();
  const dir = tempDir();
  const counter = join(dir, 'count');
  const id = await engine.executePlan({
    commands: [
      {
        name: 'write',
        env: { API_TOKEN: 'tok-9f8e7d6c5b4a3210' },
        // First attempt: a stale key, then exit 75 (retried). Second: only the token.
        ...sh(
          `if [ ! -e ${counter} ]; then touch ${counter}; echo stale=yes >> "$CLOUDOPS_OUTPUTS"; exit 75; fi; echo "tok=$API_TOKEN" >> "$CLOUDOPS_OUTPUTS"`,
        ),
        retry: { max_attempts: 2, backoff: { type: 'fixed', delay_ms: 1 }, retryable_exit_codes: [75] },
        outputs: { tok: { file: true }, stale: { file: true } },
      },
    ],
  });
  const result = await engine.waitPlan(id);
  expect(result.status).toBe('completed');
  expect(result.results[0]!.attempts).toBe(2);
  expect(result.results[0]!.outputs).toEqual({ tok: '***' });
  await engine.shutdown();
});

test('a shell string with references is judged as it will run: printing a value is read-only, removing one is not', async () => {
  const engine = makeEngine({ approval: { auto_approve_readonly: true } });
  const plan = (command: string) => ({
    parameters: { target: { type: 'string' as const } },
    params: { target: 'scratch' },
    commands: [sh(command)],
  });
  const id = await engine.executePlan(plan('echo "target is ${{ params.target }}"'));
  const result = await engine.waitPlan(id);
  expect(result.status).toBe('completed');
  expect(result.results[0]!.stdout).toBe('target is scratch\n');
  await expect(engine.executePlan(plan('rm -rf /tmp/${{ params.target }}'))).rejects.toMatchObject({
    code: 'ApprovalRequired',
  });
  await engine.shutdown();
});
