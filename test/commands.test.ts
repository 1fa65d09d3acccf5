/** Each command type, run for real: what gets spawned, with which env, where, and for how long. */
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ExecutionError, ValidationError } from '../src/index.js';
import { exec, makeEngine, sh, tempDir } from './helpers.js';

describe('exec', () => {
  test('passes argv verbatim, never through a shell', async () => {
    const engine = makeEngine();
    const tricky = ['$HOME', '; echo injected', "it's", '*', ''];
    const id = await engine.execute(exec('printf', '[%s]\\n', ...tricky));
    const result = await engine.wait(id);
    expect(result.status).toBe('completed');
    expect(result.stdout).toBe(tricky.map((a) => `[${a}]\n`).join(''));
  });

  test('a non-zero exit is a failed execution with the seed message and the exit code', async () => {
    const engine = makeEngine();
    const result = await engine.wait(await engine.execute(exec('sh', '-c', 'echo oops >&2; exit 7')));
    expect(result).toMatchObject({
      status: 'failed',
      exit_code: 7,
      stderr: 'oops\n',
      error: 'Command failed with exit code 7',
    });
  });

  test('a program that does not exist fails with SpawnFailed wording, not an exception', async () => {
    const engine = makeEngine();
    const id = await engine.execute(exec('definitely-not-a-program-xyz'));
    const result = await engine.wait(id);
    expect(result.status).toBe('failed');
    expect(result.exit_code).toBe(-1);
    expect(result.error).toMatch(/^Process spawn failed: .*ENOENT/);
    expect(await engine.readLogs(id)).toContain('Process spawn failed');
  });
});

describe('shell', () => {
  test('runs the string with bash by default (bash-only syntax works)', async () => {
    const engine = makeEngine();
    const result = await engine.wait(await engine.execute(sh('a=(x y z); echo ${#a[@]} "${BASH_VERSION:+bash}"')));
    expect(result.stdout).toBe('3 bash\n');
  });

  test('uses the given shell', async () => {
    const engine = makeEngine();
    const id = await engine.execute({ command: { type: 'shell', command: 'echo $0', shell: 'sh' } });
    expect((await engine.wait(id)).stdout).toBe('sh\n');
  });
});

describe('script', () => {
  test('uses the interpreter from the shebang, with its arguments', async () => {
    const dir = tempDir();
    const path = join(dir, 'hello.py');
    writeFileSync(path, '#!/usr/bin/env python3 -u\nimport sys\nprint("py", sys.argv[1:] == [])\n');
    const engine = makeEngine();
    const result = await engine.wait(await engine.execute({ command: { type: 'script', path } }));
    expect(result).toMatchObject({ status: 'completed', stdout: 'py True\n' });
  });

  test('runs without the execute bit, and an explicit interpreter overrides the shebang', async () => {
    const dir = tempDir();
    const path = join(dir, 'run.sh');
    writeFileSync(path, '#!/bin/false\necho "interp=$0"\n');
    chmodSync(path, 0o644);
    const engine = makeEngine();
    const id = await engine.execute({ command: { type: 'script', path, interpreter: 'bash' } });
    expect((await engine.wait(id)).stdout).toBe(`interp=${path}\n`);
  });

  test('a relative path is taken from working_dir', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'rel.sh'), '#!/bin/sh\npwd\n');
    const engine = makeEngine();
    const id = await engine.execute({ command: { type: 'script', path: 'rel.sh' }, working_dir: dir });
    expect((await engine.wait(id)).stdout).toBe(`${dir}\n`);
  });

  test('a missing script is rejected at submission with ScriptNotFound naming the path', async () => {
    const engine = makeEngine();
    const missing = join(tempDir(), 'nope.sh');
    const err = await engine.execute({ command: { type: 'script', path: missing } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ kind: 'ScriptNotFound', field: 'command.path' });
    expect((err as Error).message).toContain(missing);
    expect(await engine.listExecutions()).toEqual([]);
  });

  test('a script without shebang and without interpreter is rejected with a hint', async () => {
    const path = join(tempDir(), 'plain.txt');
    writeFileSync(path, 'echo hi\n');
    const engine = makeEngine();
    const err = await engine.execute({ command: { type: 'script', path } }).catch((e: unknown) => e);
    expect(err).toMatchObject({ kind: 'InvalidCommand', field: 'command.interpreter' });
    expect((err as Error).message).toMatch(/no #! line.*interpreter/);
  });
});

describe('aws_cli', () => {
  test('builds `aws <service> <operation> ... --profile --region` as argv for the configured binary', async () => {
    const dir = tempDir();
    const fakeAws = join(dir, 'aws');
    // Our own stand-in binary that reports the argv it was given (AWS itself is never reached here).
    writeFileSync(fakeAws, '#!/bin/sh\nfor a in "$@"; do echo "<$a>"; done\n');
    chmodSync(fakeAws, 0o755);
    const engine = makeEngine({ aws_cli_path: fakeAws });
    const id = await engine.execute({
      command: {
        type: 'aws_cli',
        service: 'ec2',
        operation: 'describe-instances',
        args: ['--filters', 'Name=tag:env,Values=a b'],
        profile: 'prod',
        region: 'us-west-2',
      },
    });
    const result = await engine.wait(id);
    expect(result.stdout.trim().split('\n')).toEqual([
      '<ec2>',
      '<describe-instances>',
      '<--filters>',
      '<Name=tag:env,Values=a b>',
      '<--profile>',
      '<prod>',
      '<--region>',
      '<us-west-2>',
    ]);
    const list = await engine.listExecutions();
    expect(list[0]!.command).toBe(
      "aws ec2 describe-instances --filters 'Name=tag:env,Values=a b' --profile prod --region us-west-2",
    );
  });
});

describe('environment and working directory', () => {
  test('env adds to the inherited environment', async () => {
    const engine = makeEngine();
    const id = await engine.execute({ ...sh('echo "$GREETING|${PATH:+has-path}"'), env: { GREETING: 'hi there' } });
    expect((await engine.wait(id)).stdout).toBe('hi there|has-path\n');
  });

  test('working_dir sets the cwd; a missing or non-directory one is InvalidWorkingDir', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'file'), '');
    const engine = makeEngine();
    expect((await engine.wait(await engine.execute({ ...exec('pwd'), working_dir: join(dir, 'sub') }))).stdout).toBe(
      `${join(dir, 'sub')}\n`,
    );
    for (const bad of [join(dir, 'missing'), join(dir, 'file')]) {
      const err = await engine.execute({ ...exec('pwd'), working_dir: bad }).catch((e: unknown) => e);
      expect(err).toMatchObject({ kind: 'InvalidWorkingDir', field: 'working_dir' });
      expect((err as Error).message).toContain(bad);
    }
  });
});

describe('timeouts', () => {
  test('a timeout above max_timeout_ms is rejected naming both values', async () => {
    const engine = makeEngine({ max_timeout_ms: 1000, default_timeout_ms: 500 });
    const err = await engine.execute({ ...exec('true'), timeout_ms: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionError);
    expect(err).toMatchObject({ code: 'Validation', kind: 'TimeoutTooLarge', field: 'timeout_ms' });
    expect((err as Error).message).toContain('5000ms > 1000ms');
  });

  test('the per-request timeout ends the command with status timeout and keeps output so far', async () => {
    const engine = makeEngine();
    const id = await engine.execute({ ...sh('echo before; sleep 30; echo after'), timeout_ms: 300 });
    const result = await engine.wait(id);
    expect(result).toMatchObject({ status: 'timeout', stdout: 'before\n', error: 'Execution timeout after 300ms' });
  });

  test('the config default timeout applies when the request sets none', async () => {
    const engine = makeEngine({ default_timeout_ms: 300 });
    const result = await engine.wait(await engine.execute(sh('sleep 30')));
    expect(result.status).toBe('timeout');
    expect(result.error).toBe('Execution timeout after 300ms');
  });
});

describe('queries', () => {
  test('getResult before the end is NotCompleted; unknown ids are NotFound', async () => {
    const engine = makeEngine();
    const id = await engine.execute(sh('sleep 30'));
    await expect(engine.getResult(id)).rejects.toMatchObject({ code: 'NotCompleted' });
    await expect(engine.getStatus('00000000-0000-4000-8000-000000000000')).rejects.toMatchObject({
      code: 'NotFound',
      message: 'Execution not found: 00000000-0000-4000-8000-000000000000',
    });
    await engine.cancel(id);
    expect((await engine.wait(id)).status).toBe('cancelled');
    expect(await engine.getStatus(id)).toBe('cancelled');
  });

  test('bad input to execute is a ValidationError naming the field', async () => {
    const engine = makeEngine();
    await expect(engine.execute({ command: { type: 'exec' } } as never)).rejects.toMatchObject({
      kind: 'MissingField',
      field: 'command.program',
    });
    await expect(engine.execute({ command: { type: 'powershell', command: 'dir' } } as never)).rejects.toMatchObject({
      kind: 'InvalidCommand',
    });
  });
});
