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
import {
  ApprovalDecisionSchema,
  ApprovalWorkflow,
  createEngine,
  jsonSchemaOf,
  parsePlan,
  parseRequest,
  resolveConfig,
  ValidationError,
} from '../src/index.js';
import { parseWith } from '../src/wire/parse.js';
import { makeEngine, tempDir } from './helpers.js';
import { decideAs } from './support/approvals.js';
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
    // Gone from where it was written (a plan has a `params` field of its own, for one).
    const path = field.split(/[.[\]]/).filter(Boolean);
    const parent = path.slice(0, -1).reduce<unknown>((at, step) => (at as Record<string, unknown>)[step], parsed);
    expect(parent as object).not.toHaveProperty(key);
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

describe('approval decisions', () => {
  test('a field the decision type does not take is refused, not dropped', () => {
    const edited = plan();
    // An approve carrying an edit would run the original plan while its approver believes it edited it.
    const [approve] = issuesOf(() => parseWith(ApprovalDecisionSchema, { type: 'approve', modified_plan: edited }));
    expect(approve).toMatchObject({ code: 'InvalidField', field: 'modified_plan' });
    expect(approve!.reason).toContain('unknown field "modified_plan"');
    const [reject] = issuesOf(() => parseWith(ApprovalDecisionSchema, { type: 'reject', reason: 'no', reasn: 'more' }));
    expect(reject).toMatchObject({ field: 'reasn', reason: 'unknown field "reasn"; did you mean "reason"?' });
    expect(parseWith(ApprovalDecisionSchema, { type: 'modify_and_approve', modified_plan: edited }).type).toBe(
      'modify_and_approve',
    );
  });

  test('the library workflow refuses an approve carrying a modified plan', () => {
    const workflow = new ApprovalWorkflow();
    const decision = { type: 'approve', modified_plan: plan() } as never;
    const [issue] = issuesOf(() => workflow.processDecision(parsePlan(plan()), decision, { approved_by: 'alice' }));
    expect(issue!.field).toBe('modified_plan');
  });

  test('over HTTP: an approve with modified_plan is a 400 naming decision.modified_plan, and nothing runs', async () => {
    const ts = await startTestServer({ approval: { auto_approve_readonly: true } });
    const submitted = await ts.api('POST', '/api/plans', {
      commands: [{ command: { type: 'shell', command: 'echo original' }, risk_level: 'modify' }],
    });
    expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
    const id = submitted.body.approval_id as string;
    const answer = await decideAs(ts, id, {
      type: 'approve',
      modified_plan: { commands: [{ command: { type: 'shell', command: 'echo edited' }, risk_level: 'modify' }] },
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    expect(answer.body.error.field).toBe('decision.modified_plan');
    expect(answer.body.error.reason).toContain('unknown field "modified_plan"');
    const typo = await decideAs(ts, id, { type: 'reject', reason: 'no', reasn: 'x' });
    expect(typo.status).toBe(400);
    expect(typo.body.error).toMatchObject({ field: 'decision.reasn' });
    expect(typo.body.error.reason).toContain('did you mean "reason"?');
    const still = await ts.api('GET', `/api/approvals/${id}`);
    expect(still.body).toMatchObject({ state: 'pending', votes: [], execution_id: null });
  });
});

describe('configuration', () => {
  test('a misspelt engine option is an error naming it and the nearest known one', () => {
    // Left unnoticed, aws_endpoint_url stays null and AWS calls go to real AWS.
    for (const make of [
      () => resolveConfig({ aws_endpoint_ur: 'http://127.0.0.1:5000' } as never),
      () => createEngine({ aws_endpoint_ur: 'http://127.0.0.1:5000' } as never),
    ]) {
      const [issue] = issuesOf(make);
      expect(issue).toMatchObject({
        code: 'InvalidField',
        field: 'config.aws_endpoint_ur',
        reason: 'unknown field "aws_endpoint_ur"; did you mean "aws_endpoint_url"?',
      });
    }
  });

  test('nested parts (approval, redis, retry) are strict too', () => {
    const cases: Array<[object, string, string]> = [
      [
        { approval: { require_approval_destrutive: false } },
        'config.approval.require_approval_destrutive',
        'require_approval_destructive',
      ],
      [
        { redis: { url: 'redis://127.0.0.1:1', global_concurency: 2 } },
        'config.redis.global_concurency',
        'global_concurrency',
      ],
      [{ retry: { max_attempt: 2 } }, 'config.retry.max_attempt', 'max_attempts'],
    ];
    for (const [input, field, near] of cases) {
      const issues = issuesOf(() => resolveConfig(input as never));
      expect(issues).toContainEqual(
        expect.objectContaining({ field, reason: expect.stringContaining(`did you mean "${near}"?`) }),
      );
    }
  });

  test('allow_unknown_fields is for plans and requests, not for the configuration', () => {
    const [issue] = issuesOf(() => resolveConfig({ allow_unknown_fields: true, stream_ouput: false } as never));
    expect(issue!.field).toBe('config.stream_ouput');
  });

  test('new ApprovalWorkflow refuses a misspelt policy field', () => {
    const [issue] = issuesOf(() => new ApprovalWorkflow({ require_approval_destrutive: false } as never));
    expect(issue).toMatchObject({
      code: 'InvalidField',
      field: 'require_approval_destrutive',
      reason: 'unknown field "require_approval_destrutive"; did you mean "require_approval_destructive"?',
    });
    expect(new ApprovalWorkflow({ require_approval_destructive: false }).config.require_approval_destructive).toBe(
      false,
    );
  });
});

describe('HTTP query strings', () => {
  test('a misspelt parameter is a 400 naming it, not a filter left off', async () => {
    const { api } = await startTestServer();
    const approvals = await api('GET', '/api/approvals?stat=pending');
    expect(approvals.status).toBe(400);
    expect(approvals.body.error).toMatchObject({
      field: 'stat',
      reason: 'unknown field "stat"; did you mean "state"?',
    });
    const executions = await api('GET', '/api/executions?stauts=failed');
    expect(executions.status).toBe(400);
    expect(executions.body.error.reason).toContain('did you mean "status"?');
    const search = await api('GET', '/api/search?q=echo&limt=5');
    expect(search.status).toBe(400);
    expect(search.body.error.field).toBe('limt');
    const audit = await api('GET', '/api/audit?limt=5');
    expect(audit.status).toBe(400);
    expect(audit.body.error.reason).toContain('did you mean "limit"?');
  });

  test('the parameters the dashboard sends are accepted', async () => {
    const { api } = await startTestServer();
    expect((await api('GET', '/api/approvals?state=pending')).status).toBe(200);
    expect((await api('GET', '/api/approvals')).status).toBe(200);
    const list = await api('GET', '/api/executions?top_level=true&limit=50&offset=0&status=failed&risk_level=modify');
    expect(list.status).toBe(200);
    expect((await api('GET', '/api/search?q=echo&limit=200')).status).toBe(200);
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
    const accepted = cli('validate', '--allow-unknown-fields', file);
    expect(accepted.status).toBe(0);
    // Dropped, but said: a misspelt field would otherwise go unnoticed.
    expect(accepted.stderr).toContain('ignored unknown field: strategy.stop_on_eror');
    const lenient = cli('run', '--allow-unknown-fields', file);
    expect(lenient.stderr).toContain('ignored unknown field: strategy.stop_on_eror');
    expect(lenient.stdout).toContain('hi');
    expect(lenient.status).toBe(0);
  });
});
