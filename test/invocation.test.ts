/** What gets spawned for each command type, shebang reading, script validation, and the display form. */
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { awsCliArgs } from '../src/command/aws.js';
import { quoteArg } from '../src/command/display.js';
import { type InvocationOptions, resolveInvocation } from '../src/command/invocation.js';
import { readShebang, scriptPathOf } from '../src/command/script.js';
import {
  type Command,
  DEFAULT_CONFIG,
  displayCommand,
  parsePlan,
  parseRequest,
  ValidationError,
  validatePlan,
  validateRequest,
} from '../src/index.js';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cee-invocation-'));
  await writeFile(join(dir, 'py.py'), '#!/usr/bin/env python3 -u\nprint("hi")\n');
  await writeFile(join(dir, 'bash.sh'), '#!/bin/bash\necho hi\n');
  await writeFile(join(dir, 'crlf.sh'), '#!/bin/sh -e\r\necho hi\r\n');
  await writeFile(join(dir, 'spaced.sh'), '#!  /bin/sh \t -x  \necho hi\n');
  await writeFile(join(dir, 'plain.sh'), 'echo no shebang\n');
  await writeFile(join(dir, 'empty-shebang.sh'), '#!\necho hi\n');
  await writeFile(join(dir, 'empty.sh'), '');
  await mkdir(join(dir, 'sub'));
  await writeFile(join(dir, 'sub', 'rel.rb'), '#!/usr/bin/ruby -w\nputs 1\n');
  await chmod(join(dir, 'py.py'), 0o755);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const opts = (over: Partial<InvocationOptions> = {}): InvocationOptions => ({
  awsCliPath: 'aws',
  workingDir: null,
  ...over,
});
const cmd = (command: unknown): Command => parseRequest({ command }).command;

async function rejection(promise: Promise<unknown>): Promise<ValidationError> {
  let thrown: unknown;
  try {
    await promise;
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ValidationError);
  return thrown as ValidationError;
}

describe('resolveInvocation', () => {
  test('exec passes argv unchanged, no shell', async () => {
    const args = ['hello world', "it's", '$(rm -rf /)', '*', '', 'a;b|c'];
    const inv = await resolveInvocation(cmd({ type: 'exec', program: 'echo', args }), opts());
    expect(inv).toEqual({ file: 'echo', args });
  });

  test('exec args are copied, not shared with the command', async () => {
    const command = cmd({ type: 'exec', program: 'echo', args: ['a'] });
    const inv = await resolveInvocation(command, opts());
    inv.args.push('b');
    expect(command).toMatchObject({ args: ['a'] });
  });

  test('shell runs [shell, -c, command]', async () => {
    expect(await resolveInvocation(cmd({ type: 'shell', command: 'echo $HOME && ls | wc -l' }), opts())).toEqual({
      file: 'bash',
      args: ['-c', 'echo $HOME && ls | wc -l'],
    });
    expect(await resolveInvocation(cmd({ type: 'shell', command: 'echo hi', shell: '/bin/sh' }), opts())).toEqual({
      file: '/bin/sh',
      args: ['-c', 'echo hi'],
    });
  });

  test('aws_cli builds [service, operation, ...args, --profile, --region] on the configured binary', async () => {
    const command = cmd({
      type: 'aws_cli',
      service: 'ec2',
      operation: 'describe-instances',
      args: ['--output', 'json'],
      profile: 'prod',
      region: 'eu-west-1',
    });
    expect(await resolveInvocation(command, opts({ awsCliPath: '/opt/aws/bin/aws' }))).toEqual({
      file: '/opt/aws/bin/aws',
      args: ['ec2', 'describe-instances', '--output', 'json', '--profile', 'prod', '--region', 'eu-west-1'],
      // No endpoint_url from the AWS config file: the engine's own endpoint, if any, is the flag.
      env: { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' },
    });
  });

  test('aws_cli without profile and region adds neither', async () => {
    const command = cmd({ type: 'aws_cli', service: 's3', operation: 'ls' });
    expect(await resolveInvocation(command, opts())).toEqual({
      file: 'aws',
      args: ['s3', 'ls'],
      env: { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' },
    });
  });

  test('aws_cli does not duplicate --region (or --profile) already in args', async () => {
    // The seed's own example.
    const seed = cmd({
      type: 'aws_cli',
      service: 'ec2',
      operation: 'describe-instances',
      args: ['--region', 'us-west-2'],
      profile: 'production',
      region: 'us-west-2',
    });
    const inv = await resolveInvocation(seed, opts());
    expect(inv.args).toEqual(['ec2', 'describe-instances', '--region', 'us-west-2', '--profile', 'production']);
    expect(inv.args.filter((a) => a === '--region')).toHaveLength(1);

    const eqForm = cmd({
      type: 'aws_cli',
      service: 's3',
      operation: 'ls',
      args: ['--region=us-east-2', '--profile=dev'],
      profile: 'p',
      region: 'r',
    });
    expect(awsCliArgs(eqForm as Extract<Command, { type: 'aws_cli' }>)).toEqual([
      's3',
      'ls',
      '--region=us-east-2',
      '--profile=dev',
    ]);
  });

  test('a script with `#!/usr/bin/env python3 -u` runs as /usr/bin/env python3 -u <path>', async () => {
    const path = join(dir, 'py.py');
    expect(await resolveInvocation(cmd({ type: 'script', path }), opts())).toEqual({
      file: '/usr/bin/env',
      args: ['python3', '-u', path],
    });
  });

  test('a simple shebang', async () => {
    const path = join(dir, 'bash.sh');
    expect(await resolveInvocation(cmd({ type: 'script', path }), opts())).toEqual({ file: '/bin/bash', args: [path] });
  });

  test('an explicit interpreter wins over the shebang and is split on whitespace', async () => {
    const path = join(dir, 'py.py');
    expect(await resolveInvocation(cmd({ type: 'script', path, interpreter: 'python3' }), opts())).toEqual({
      file: 'python3',
      args: [path],
    });
    expect(await resolveInvocation(cmd({ type: 'script', path, interpreter: ' bash  -x ' }), opts())).toEqual({
      file: 'bash',
      args: ['-x', path],
    });
  });

  test('an explicit interpreter does not need the file to exist', async () => {
    const path = join(dir, 'missing.sh');
    expect(await resolveInvocation(cmd({ type: 'script', path, interpreter: 'bash' }), opts())).toEqual({
      file: 'bash',
      args: [path],
    });
  });

  test('a relative script path is read from the working dir, and passed on as given', async () => {
    const inv = await resolveInvocation(cmd({ type: 'script', path: 'sub/rel.rb' }), opts({ workingDir: dir }));
    expect(inv).toEqual({ file: '/usr/bin/ruby', args: ['-w', 'sub/rel.rb'] });
  });

  test('a relative script path that only exists under the working dir is not found without it', async () => {
    const err = await rejection(
      resolveInvocation(cmd({ type: 'script', path: 'sub/rel.rb' }), opts({ workingDir: tmpdir() })),
    );
    expect(err.kind).toBe('ScriptNotFound');
  });

  test('a script with no shebang and no interpreter is InvalidCommand on command.interpreter', async () => {
    for (const name of ['plain.sh', 'empty-shebang.sh', 'empty.sh']) {
      const err = await rejection(resolveInvocation(cmd({ type: 'script', path: join(dir, name) }), opts()));
      expect(err.kind, name).toBe('InvalidCommand');
      expect(err.field, name).toBe('command.interpreter');
      expect(err.message).toMatch(/^Validation error: Invalid command format: /);
    }
  });

  test('a missing script is ScriptNotFound', async () => {
    const err = await rejection(resolveInvocation(cmd({ type: 'script', path: join(dir, 'nope.sh') }), opts()));
    expect(err.kind).toBe('ScriptNotFound');
    expect(err.field).toBe('command.path');
  });
});

describe('readShebang', () => {
  test('splits the #! line into program and arguments', async () => {
    expect(await readShebang(join(dir, 'py.py'))).toEqual(['/usr/bin/env', 'python3', '-u']);
    expect(await readShebang(join(dir, 'bash.sh'))).toEqual(['/bin/bash']);
  });

  test('strips CR and extra whitespace', async () => {
    expect(await readShebang(join(dir, 'crlf.sh'))).toEqual(['/bin/sh', '-e']);
    expect(await readShebang(join(dir, 'spaced.sh'))).toEqual(['/bin/sh', '-x']);
  });

  test('null without a shebang (or with an empty one, or an empty file)', async () => {
    expect(await readShebang(join(dir, 'plain.sh'))).toBeNull();
    expect(await readShebang(join(dir, 'empty-shebang.sh'))).toBeNull();
    expect(await readShebang(join(dir, 'empty.sh'))).toBeNull();
  });

  test('a missing file is ScriptNotFound naming the path', async () => {
    const path = join(dir, 'does-not-exist.sh');
    const err = await rejection(readShebang(path));
    expect(err.kind).toBe('ScriptNotFound');
    expect(err.field).toBe('command.path');
    expect(err.message).toMatch(/^Validation error: Script file not found: /);
    expect(err.message).toContain(path);
  });

  test('a directory is ScriptNotFound (not a regular file)', async () => {
    const err = await rejection(readShebang(join(dir, 'sub')));
    expect(err.kind).toBe('ScriptNotFound');
    expect(err.reason).toMatch(/not a regular file/);
  });

  test('scriptPathOf resolves relative paths against the working dir only', () => {
    expect(scriptPathOf('/abs/x.sh', '/work')).toBe('/abs/x.sh');
    expect(scriptPathOf('x.sh', '/work')).toBe('/work/x.sh');
    expect(scriptPathOf('x.sh', null)).toBe('x.sh');
  });
});

describe('validateRequest / validatePlan (file-system checks)', () => {
  test('a script request is valid with a shebang, reports a missing file or a missing interpreter', async () => {
    await expect(
      validateRequest(parseRequest({ command: { type: 'script', path: join(dir, 'py.py') } }), DEFAULT_CONFIG),
    ).resolves.toBeUndefined();
    await expect(
      validateRequest(
        parseRequest({ command: { type: 'script', path: 'rel.rb' }, working_dir: join(dir, 'sub') }),
        DEFAULT_CONFIG,
      ),
    ).resolves.toBeUndefined();
    const missing = await rejection(
      validateRequest(parseRequest({ command: { type: 'script', path: join(dir, 'x.sh') } }), DEFAULT_CONFIG),
    );
    expect(missing.kind).toBe('ScriptNotFound');
    const noInterp = await rejection(
      validateRequest(parseRequest({ command: { type: 'script', path: join(dir, 'plain.sh') } }), DEFAULT_CONFIG),
    );
    expect(noInterp).toMatchObject({ kind: 'InvalidCommand', field: 'command.interpreter' });
  });

  // Regression: a blank interpreter used to pass validation and fail at spawn with an
  // internal error; it must be rejected up front.
  test('a whitespace-only interpreter is rejected at validation', async () => {
    const err = await rejection(
      (async () => {
        const request = parseRequest({ command: { type: 'script', path: join(dir, 'bash.sh'), interpreter: '   ' } });
        await validateRequest(request, DEFAULT_CONFIG);
      })(),
    );
    expect(err.field).toMatch(/interpreter/);
  });

  test('a missing or non-directory working dir is InvalidWorkingDir', async () => {
    const gone = await rejection(
      validateRequest(
        parseRequest({ command: { type: 'exec', program: 'ls' }, working_dir: join(dir, 'gone') }),
        DEFAULT_CONFIG,
      ),
    );
    expect(gone).toMatchObject({ kind: 'InvalidWorkingDir', field: 'working_dir' });
    expect(gone.message).toMatch(/^Validation error: Invalid working directory: /);
    const file = await rejection(
      validateRequest(
        parseRequest({ command: { type: 'exec', program: 'ls' }, working_dir: join(dir, 'plain.sh') }),
        DEFAULT_CONFIG,
      ),
    );
    expect(file.reason).toMatch(/not a directory/);
  });

  test('timeout_ms equal to max_timeout_ms is allowed, one more is TimeoutTooLarge', async () => {
    const at = (timeout_ms: number) => parseRequest({ command: { type: 'exec', program: 'ls' }, timeout_ms });
    await expect(validateRequest(at(DEFAULT_CONFIG.max_timeout_ms), DEFAULT_CONFIG)).resolves.toBeUndefined();
    const err = await rejection(validateRequest(at(DEFAULT_CONFIG.max_timeout_ms + 1), DEFAULT_CONFIG));
    expect(err).toMatchObject({ kind: 'TimeoutTooLarge', field: 'timeout_ms' });
    expect(err.message).toContain('600001ms > 600000ms');
  });

  test('plan problems carry the command prefix and are all reported', async () => {
    const plan = parsePlan({
      commands: [
        { command: { type: 'exec', program: 'ls' } },
        { command: { type: 'script', path: join(dir, 'nope.sh') } },
        { command: { type: 'exec', program: 'ls' }, timeout_ms: 700_000 },
      ],
    });
    const err = await rejection(validatePlan(plan, DEFAULT_CONFIG));
    expect(err.issues.map((i) => [i.code, i.field])).toEqual([
      ['ScriptNotFound', 'commands[1].command.path'],
      ['TimeoutTooLarge', 'commands[2].timeout_ms'],
    ]);
  });

  test('a duplicate command id in a plan is InvalidPlan', async () => {
    const id = '5f0c6a3e-8a51-4d3b-9b1e-2f1b7a0c9d11';
    const plan = parsePlan({
      commands: [
        { id, command: { type: 'exec', program: 'ls' } },
        { id, command: { type: 'exec', program: 'ls' } },
      ],
    });
    const err = await rejection(validatePlan(plan, DEFAULT_CONFIG));
    expect(err).toMatchObject({ kind: 'InvalidPlan', field: 'commands[1].id' });
    expect(err.reason).toContain('commands[0]');
  });
});

describe('displayCommand', () => {
  test('exec quotes arguments that need it, POSIX style', () => {
    expect(
      displayCommand(
        cmd({ type: 'exec', program: 'echo', args: ['hello', 'hello world', "it's", '', '$HOME', 'a=b', '/x/y.z'] }),
      ),
    ).toBe(`echo hello 'hello world' 'it'\\''s' '' '$HOME' a=b /x/y.z`);
  });

  test('quoteArg leaves safe words alone', () => {
    expect(quoteArg('abc-DEF_1.2/3:4@5%6+7,8=9')).toBe('abc-DEF_1.2/3:4@5%6+7,8=9');
    expect(quoteArg('a b')).toBe("'a b'");
    expect(quoteArg('')).toBe("''");
    expect(quoteArg("'")).toBe(`''\\'''`);
  });

  test('shell shows the command string as is', () => {
    expect(displayCommand(cmd({ type: 'shell', command: "echo 'x' | wc -c" }))).toBe("echo 'x' | wc -c");
  });

  test('script shows interpreter and quoted path', () => {
    expect(displayCommand(cmd({ type: 'script', path: '/tmp/deploy.sh' }))).toBe('/tmp/deploy.sh');
    expect(displayCommand(cmd({ type: 'script', path: '/tmp/my script.py', interpreter: 'python3' }))).toBe(
      "python3 '/tmp/my script.py'",
    );
  });

  test('aws_cli shows the aws command line without duplicated flags', () => {
    expect(
      displayCommand(
        cmd({
          type: 'aws_cli',
          service: 'ec2',
          operation: 'describe-instances',
          args: ['--region', 'us-west-2'],
          profile: 'production',
          region: 'us-west-2',
        }),
      ),
    ).toBe('aws ec2 describe-instances --region us-west-2 --profile production');
    expect(displayCommand(cmd({ type: 'aws_cli', service: 's3', operation: 'ls', args: ['s3://my bucket'] }))).toBe(
      "aws s3 ls 's3://my bucket'",
    );
  });
});
