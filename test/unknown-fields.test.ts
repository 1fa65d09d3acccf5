/**
 * Unknown fields in requests and plans are errors naming the field and the nearest known name,
 * at every level, through the library, the engine, the HTTP API and the CLI, unless
 * `allow_unknown_fields` says to accept (and drop) them.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { jsonSchemaOf, parsePlan, parseRequest, ValidationError } from '../src/index.js';
import { makeEngine, tempDir } from './helpers.js';
import { startTestServer } from './support/server.js';

const echo = { type: 'exec', program: 'echo', args: ['hi'] } as const;
const request = (extra: Record<string, unknown> = {}) => ({ command: echo, ...extra });
const plan = (extra: Record<string, unknown> = {}, command: Record<string, unknown> = request()) => ({
  commands: [command],
  ...extra,
});

function issuesOf(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).issues;
  }
  throw new Error('expected a ValidationError');
}

// [what, plan input, field path, nearest known name (null: none)]
const PLAN_TYPOS: Array<[string, unknown, string, string | null]> = [
  ['plan field', plan({ descripton: 'x' }), 'descripton', 'description'],
  [
    'serial strategy',
    plan({ strategy: { type: 'serial', stop_on_eror: false } }),
    'strategy.stop_on_eror',
    'stop_on_error',
  ],
  [
    'parallel strategy',
    plan({ strategy: { type: 'parallel', max_concurency: 2 } }),
    'strategy.max_concurency',
    'max_concurrency',
  ],
  [
    'dependency graph',
    plan({ strategy: { type: 'dependency_graph', dependecies: {} } }),
    'strategy.dependecies',
    'dependencies',
  ],
  ['plan metadata', plan({ metadata: { tag: {} } }), 'metadata.tag', 'tags'],
  ['request env alias', plan({}, request({ enviroment: { A: '1' } })), 'commands[0].enviroment', 'env'],
  ['request env alias 2', plan({}, request({ environment: { A: '1' } })), 'commands[0].environment', 'env'],
  ['request timeout alias', plan({}, request({ timeout: 5 })), 'commands[0].timeout', 'timeout_ms'],
  ['request typo', plan({}, request({ working_dri: '/tmp' })), 'commands[0].working_dri', 'working_dir'],
  ['exec command', plan({}, request({ command: { ...echo, arg: [] } })), 'commands[0].command.arg', 'args'],
  [
    'shell command',
    plan({}, request({ command: { type: 'shell', command: 'ls', shel: 'sh' } })),
    'commands[0].command.shel',
    'shell',
  ],
  [
    'script command',
    plan({}, request({ command: { type: 'script', path: 'x.sh', interpeter: 'sh' } })),
    'commands[0].command.interpeter',
    'interpreter',
  ],
  [
    'aws_cli command',
    plan({}, request({ command: { type: 'aws_cli', service: 's3', operation: 'ls', regoin: 'x' } })),
    'commands[0].command.regoin',
    'region',
  ],
  [
    'sdk command',
    plan({}, request({ command: { type: 'sdk', service: 's3', operation: 'ListBuckets', params: {} } })),
    'commands[0].command.params',
    'parameters',
  ],
  ['retry policy', plan({}, request({ retry: { max_attempt: 2 } })), 'commands[0].retry.max_attempt', 'max_attempts'],
  [
    'retry backoff',
    plan({}, request({ retry: { backoff: { type: 'fixed', delay_ms: 1, dely: 2 } } })),
    'commands[0].retry.backoff.dely',
    'delay_ms',
  ],
  ['request metadata', plan({}, request({ metadata: { sorce: 'x' } })), 'commands[0].metadata.sorce', 'source'],
  [
    'rollback step',
    plan({}, request({ rollback: [{ command: echo, cwd: '/tmp' }] })),
    'commands[0].rollback[0].cwd',
    'working_dir',
  ],
  ['nothing near', plan({ zzqqxxyy: 1 }), 'zzqqxxyy', null],
];

describe('unknown fields are refused, naming the field and the nearest known one', () => {
  test.each(PLAN_TYPOS)('%s', (_what, input, field, near) => {
    const issues = issuesOf(() => parsePlan(input));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'InvalidField', field });
    const key = field
      .split(/[.[\]]/)
      .filter(Boolean)
      .at(-1)!;
    expect(issues[0]!.reason).toContain(`unknown field "${key}"`);
    if (near) expect(issues[0]!.reason).toContain(`did you mean "${near}"?`);
    else expect(issues[0]!.reason).toMatch(/known fields: id, description, strategy, commands/);
    // The opt-out reads the same input, without the unknown field.
    const parsed = parsePlan(input, { allow_unknown_fields: true });
    expect(JSON.stringify(parsed)).not.toContain(`"${key}"`);
  });

  test('a request read alone: the field path starts at the request', () => {
    const issues = issuesOf(() => parseRequest(request({ enviroment: {}, stop_on_eror: true })));
    expect(issues.map((i) => [i.field, i.reason])).toEqual([
      ['enviroment', 'unknown field "enviroment"; did you mean "env"?'],
      ['stop_on_eror', expect.stringContaining('unknown field "stop_on_eror"; known fields: id, command')],
    ]);
    expect(parseRequest(request({ enviroment: {} }), { allow_unknown_fields: true }).env).toEqual({});
  });

  test('every unknown field is named, at every level at once', () => {
    const input = plan({ strategy: { type: 'serial', stop_on_eror: false }, extra: 1 }, request({ timeout: 1 }));
    const fields = issuesOf(() => parsePlan(input)).map((i) => i.field);
    expect(fields.sort()).toEqual(['commands[0].timeout', 'extra', 'strategy.stop_on_eror']);
  });

  test('a misspelt required field is said once, by the missing field', () => {
    const issues = issuesOf(() => parseRequest({ comand: echo }));
    expect(issues).toEqual([
      {
        code: 'MissingField',
        field: 'command',
        reason: 'command is required; "comand" is there: did you mean "command"?',
      },
    ]);
  });

  test('allow_unknown_fields keeps every known field and its checks', () => {
    const parsed = parsePlan(
      plan(
        { strategy: { type: 'serial', stop_on_error: false, future: 1 } },
        request({ future: { x: 1 }, timeout_ms: 5 }),
      ),
      { allow_unknown_fields: true },
    );
    expect(parsed.strategy).toEqual({ type: 'serial', stop_on_error: false });
    expect(parsed.commands[0]!.timeout_ms).toBe(5);
    // Other problems are still problems.
    const issues = issuesOf(() =>
      parsePlan(plan({ future: 1 }, request({ timeout_ms: -1 })), { allow_unknown_fields: true }),
    );
    expect(issues.map((i) => i.field)).toEqual(['commands[0].timeout_ms']);
  });

  test('the published JSON Schemas say additionalProperties: false for what a caller writes', () => {
    const schema = jsonSchemaOf('plan') as any;
    expect(schema.additionalProperties).toBe(false);
    const command = schema.properties.commands.items;
    expect(command.additionalProperties).toBe(false);
    for (const option of schema.properties.strategy.oneOf ?? schema.properties.strategy.anyOf)
      expect(option.additionalProperties).toBe(false);
    for (const option of command.properties.command.oneOf ?? command.properties.command.anyOf)
      expect(option.additionalProperties).toBe(false);
    expect((jsonSchemaOf('request') as any).additionalProperties).toBe(false);
    // Results are the engine's to write: a newer engine may add fields.
    expect((jsonSchemaOf('result') as any).additionalProperties).not.toBe(false);
  });
});

describe('the engine', () => {
  test('refuses an unknown field by default, and runs the plan under allow_unknown_fields', async () => {
    const input = plan({ strategy: { type: 'serial', stop_on_eror: false } });
    await expect(makeEngine().executePlan(input as any)).rejects.toThrow(
      /unknown field "stop_on_eror"; did you mean "stop_on_error"\? \(at strategy\.stop_on_eror\)/,
    );
    await expect(makeEngine().execute(request({ timeout: 5 }) as any)).rejects.toThrow(
      /unknown field "timeout"; did you mean "timeout_ms"\?/,
    );
    const lenient = makeEngine({ allow_unknown_fields: true });
    const id = await lenient.executePlan(input as any);
    expect((await lenient.waitPlan(id)).status).toBe('completed');
  });
});

describe('the HTTP API', () => {
  test('a submitted plan or request with an unknown field is a 400 naming it', async () => {
    const { api } = await startTestServer();
    const planAnswer = await api('POST', '/api/plans', plan({}, request({ enviroment: {} })));
    expect(planAnswer.status).toBe(400);
    expect(JSON.stringify(planAnswer.body)).toContain('commands[0].enviroment');
    expect(JSON.stringify(planAnswer.body)).toContain('did you mean \\"env\\"?');
    const requestAnswer = await api('POST', '/api/executions', request({ timeout: 5 }));
    expect(requestAnswer.status).toBe(400);
    expect(JSON.stringify(requestAnswer.body)).toContain('did you mean \\"timeout_ms\\"?');
  });

  test('a server whose engine allows unknown fields accepts them', async () => {
    const { api } = await startTestServer({ allow_unknown_fields: true });
    const answer = await api('POST', '/api/executions', request({ from_a_newer_version: true }));
    expect(answer.status).toBe(202);
  });
});

const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));

describe.skipIf(!existsSync(BIN))('the CLI', () => {
  test('validate and run refuse a typo with exit 2; --allow-unknown-fields accepts it', () => {
    const dir = tempDir();
    const file = join(dir, 'plan.yaml');
    writeFileSync(
      file,
      'strategy:\n  type: serial\n  stop_on_eror: false\ncommands:\n  - command: {type: exec, program: echo, args: [hi]}\n',
    );
    const cli = (...args: string[]) =>
      spawnSync(process.execPath, [BIN, '--log-dir', dir, ...args], { encoding: 'utf8', timeout: 30_000 });
    const refused = cli('validate', file);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('strategy.stop_on_eror');
    expect(refused.stderr).toContain('did you mean "stop_on_error"?');
    const ran = cli('run', file);
    expect(ran.status).toBe(2);
    expect(ran.stderr).toContain('strategy.stop_on_eror');
    expect(cli('validate', '--allow-unknown-fields', file).status).toBe(0);
    const lenient = cli('run', '--allow-unknown-fields', file);
    expect(lenient.stdout).toContain('hi');
    expect(lenient.status).toBe(0);
  });
});
