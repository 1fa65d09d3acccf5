/** The wire boundary: parse defaults, error reporting by field path, every event type, and the error classes. */
import { describe, expect, test } from 'vitest';
import {
  EVENT_TYPES,
  ExecutionError,
  type ExecutionResult,
  parseEvent,
  parsePlan,
  parseRequest,
  parseResult,
  serialize,
  ValidationError,
} from '../src/index.js';
import { validationErrorOf } from './helpers.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const ID = '5f0c6a3e-8a51-4d3b-9b1e-2f1b7a0c9d11';
const PLAN_ID = '11111111-2222-4333-8444-555555555555';
const TS = '2026-11-22T10:00:00.123Z';
const ls = { type: 'exec', program: 'ls' } as const;

describe('parse defaults', () => {
  test('a request with only `command` gets the seed defaults', () => {
    const req = parseRequest({ command: ls });
    expect(req.id).toMatch(UUID_RE);
    expect(req.command).toEqual({ type: 'exec', program: 'ls', args: [] });
    expect(req.env).toEqual({});
    expect(req.working_dir).toBeNull();
    expect(req.timeout_ms).toBeNull();
    expect(req.output_log_path).toBeNull();
    expect(req.metadata).toEqual({ source: null, conversation_id: null, user_prompt: null, tags: {} });
  });

  test('generated ids are fresh per parse', () => {
    expect(parseRequest({ command: ls }).id).not.toBe(parseRequest({ command: ls }).id);
  });

  test('a given id is kept', () => {
    expect(parseRequest({ id: ID, command: ls }).id).toBe(ID);
  });

  test('metadata objects are not shared between parses', () => {
    const a = parseRequest({ command: ls });
    const b = parseRequest({ command: ls });
    a.metadata.tags.x = 'y';
    expect(b.metadata.tags).toEqual({});
  });

  test('shell defaults to bash', () => {
    const req = parseRequest({ command: { type: 'shell', command: 'echo hi' } });
    expect(req.command).toEqual({ type: 'shell', command: 'echo hi', shell: 'bash' });
  });

  test('script interpreter defaults to null, aws_cli optionals to null and args to []', () => {
    expect(parseRequest({ command: { type: 'script', path: '/tmp/x.sh' } }).command).toEqual({
      type: 'script',
      path: '/tmp/x.sh',
      interpreter: null,
    });
    expect(parseRequest({ command: { type: 'aws_cli', service: 's3', operation: 'ls' } }).command).toEqual({
      type: 'aws_cli',
      service: 's3',
      operation: 'ls',
      args: [],
      profile: null,
      region: null,
    });
  });

  test('a plan defaults: serial stop_on_error true, empty description, generated ids', () => {
    const plan = parsePlan({ commands: [{ command: ls }] });
    expect(plan.id).toMatch(UUID_RE);
    expect(plan.description).toBe('');
    expect(plan.strategy).toEqual({ type: 'serial', stop_on_error: true });
    expect(plan.commands[0]!.id).toMatch(UUID_RE);
    expect(plan.commands[0]!.id).not.toBe(plan.id);
    expect(plan.metadata).toEqual({ source: null, conversation_id: null, user_prompt: null, tags: {} });
  });

  test('serial stop_on_error defaults to true when the strategy is given without it', () => {
    const plan = parsePlan({ strategy: { type: 'serial' }, commands: [{ command: ls }] });
    expect(plan.strategy).toEqual({ type: 'serial', stop_on_error: true });
  });

  test('serial stop_on_error false is kept', () => {
    const plan = parsePlan({ strategy: { type: 'serial', stop_on_error: false }, commands: [{ command: ls }] });
    expect(plan.strategy).toEqual({ type: 'serial', stop_on_error: false });
  });

  test('parallel max_concurrency defaults to null', () => {
    const plan = parsePlan({ strategy: { type: 'parallel' }, commands: [{ command: ls }] });
    expect(plan.strategy).toEqual({ type: 'parallel', max_concurrency: null, max_failures: null });
  });

  test('dependency_graph dependencies default to {}', () => {
    const plan = parsePlan({ strategy: { type: 'dependency_graph' }, commands: [{ command: ls }] });
    expect(plan.strategy).toEqual({ type: 'dependency_graph', dependencies: {}, max_failures: null });
  });
});

describe('JSON text input', () => {
  test('a request can be parsed from JSON text', () => {
    const req = parseRequest(`{"id":"${ID}","command":{"type":"shell","command":"ls"},"env":{"A":"1"}}`);
    expect(req.id).toBe(ID);
    expect(req.command).toEqual({ type: 'shell', command: 'ls', shell: 'bash' });
    expect(req.env).toEqual({ A: '1' });
  });

  test('a plan can be parsed from JSON text', () => {
    const plan = parsePlan(
      '{"strategy":{"type":"parallel","max_concurrency":3},"commands":[{"command":{"type":"exec","program":"ls"}}]}',
    );
    expect(plan.strategy).toEqual({ type: 'parallel', max_concurrency: 3, max_failures: null });
    expect(plan.commands).toHaveLength(1);
  });

  test('invalid JSON text is a ValidationError saying "not valid JSON"', () => {
    const err = validationErrorOf(() => parseRequest('{"command":'));
    expect(err.message).toContain('not valid JSON');
    expect(err.reason).toContain('not valid JSON');
    expect(err.message.startsWith('Validation error: ')).toBe(true);
    expect(validationErrorOf(() => parsePlan('not json')).message).toContain('not valid JSON');
    expect(validationErrorOf(() => parseEvent('')).message).toContain('not valid JSON');
  });

  test('serialize then parse is the identity for a request', () => {
    const req = parseRequest({
      command: { type: 'exec', program: 'echo', args: ['a b', "c'd"] },
      env: { X: 'y' },
      timeout_ms: 5,
    });
    expect(parseRequest(serialize(req))).toEqual(req);
  });
});

describe('request errors', () => {
  test('missing `command` is MissingField "command"', () => {
    const err = validationErrorOf(() => parseRequest({}));
    expect(err.kind).toBe('MissingField');
    expect(err.field).toBe('command');
    expect(err.message).toMatch(/^Validation error: Missing required field: /);
    expect(err.message).toContain('command');
  });

  test('a missing field inside the command names its path', () => {
    const err = validationErrorOf(() => parseRequest({ command: { type: 'shell' } }));
    expect(err.kind).toBe('MissingField');
    expect(err.field).toBe('command.command');
  });

  test('an unknown command type is InvalidCommand naming the type', () => {
    const err = validationErrorOf(() => parseRequest({ command: { type: 'powershell', command: 'dir' } }));
    expect(err.kind).toBe('InvalidCommand');
    expect(err.field).toBe('command.type');
    expect(err.message).toMatch(/^Validation error: Invalid command format: /);
    expect(err.message).toContain('"powershell"');
  });

  test('a non-string env value names env.FOO', () => {
    const err = validationErrorOf(() => parseRequest({ command: ls, env: { FOO: 1 } }));
    expect(err.kind).toBe('InvalidField');
    expect(err.field).toBe('env.FOO');
    expect(err.message).toContain('env.FOO');
  });

  test.each([0, -1, 1.5, '100'])('timeout_ms %j is rejected', (timeout) => {
    const err = validationErrorOf(() => parseRequest({ command: ls, timeout_ms: timeout }));
    expect(err.kind).toBe('InvalidField');
    expect(err.field).toBe('timeout_ms');
  });

  test('a negative timeout says it must be positive', () => {
    expect(validationErrorOf(() => parseRequest({ command: ls, timeout_ms: -5 })).reason).toMatch(/positive/);
  });

  test('an env var name containing "=" is rejected', () => {
    const err = validationErrorOf(() => parseRequest({ command: ls, env: { 'A=B': 'x' } }));
    expect(err.field).toMatch(/^env/);
  });

  test('an empty env var name is rejected', () => {
    validationErrorOf(() => parseRequest({ command: ls, env: { '': 'x' } }));
  });

  // Regression: zod reports a bad record key as an `invalid_key` issue with a generic message;
  // the schema's own explanation must reach the user.
  test('an env var name containing "=" is rejected with the reason why', () => {
    const err = validationErrorOf(() => parseRequest({ command: ls, env: { 'A=B': 'x' } }));
    expect(err.reason).toContain('=');
    expect(err.reason).toMatch(/must not contain/);
  });

  test('an id that is not a uuid is rejected on field id', () => {
    const err = validationErrorOf(() => parseRequest({ id: 'not-a-uuid', command: ls }));
    expect(err.field).toBe('id');
  });

  test('an empty or NUL-containing program is rejected', () => {
    expect(validationErrorOf(() => parseRequest({ command: { type: 'exec', program: '' } })).field).toBe(
      'command.program',
    );
    expect(validationErrorOf(() => parseRequest({ command: { type: 'exec', program: 'a\0b' } })).field).toBe(
      'command.program',
    );
  });

  test('non-object input is rejected', () => {
    validationErrorOf(() => parseRequest(null));
    validationErrorOf(() => parseRequest(42));
    validationErrorOf(() => parseRequest('[]'));
  });

  test('several problems are all reported, the first describing the error', () => {
    const err = validationErrorOf(() => parseRequest({ command: ls, timeout_ms: 0, env: { A: 1 } }));
    expect(err.issues).toHaveLength(2);
    expect(err.issues.map((i) => i.field).sort()).toEqual(['env.A', 'timeout_ms']);
    expect(err.kind).toBe(err.issues[0]!.code);
    expect(err.field).toBe(err.issues[0]!.field);
    expect(err.reason).toBe(err.issues[0]!.reason);
    expect(err.message).toContain('(and 1 more problem)');
  });
});

describe('plan errors', () => {
  test('a wrong type inside a command names commands[1].timeout_ms', () => {
    const err = validationErrorOf(() => parsePlan({ commands: [{ command: ls }, { command: ls, timeout_ms: 'x' }] }));
    expect(err.field).toBe('commands[1].timeout_ms');
    expect(err.message).toContain('commands[1].timeout_ms');
  });

  test('an unknown command type inside a plan is InvalidCommand', () => {
    const err = validationErrorOf(() => parsePlan({ commands: [{ command: ls }, { command: { type: 'cmd' } }] }));
    expect(err.kind).toBe('InvalidCommand');
    expect(err.field).toBe('commands[1].command.type');
  });

  test('an unknown strategy type is InvalidPlan', () => {
    const err = validationErrorOf(() => parsePlan({ strategy: { type: 'random' }, commands: [{ command: ls }] }));
    expect(err.kind).toBe('InvalidPlan');
    expect(err.field).toBe('strategy.type');
    expect(err.message).toMatch(/^Validation error: Invalid execution plan: /);
    expect(err.message).toContain('"random"');
  });

  test('an empty command list is InvalidPlan', () => {
    const err = validationErrorOf(() => parsePlan({ commands: [] }));
    expect(err.kind).toBe('InvalidPlan');
    expect(err.field).toBe('commands');
  });

  test('a missing command list is MissingField', () => {
    const err = validationErrorOf(() => parsePlan({ description: 'x' }));
    expect(err.kind).toBe('MissingField');
    expect(err.field).toBe('commands');
  });

  test('a dependency key that is neither an index nor a step name is rejected', () => {
    // (A key that is a step name but names no step is refused by validation: test/step-names.test.ts.)
    for (const key of ['X', 'a b', '1.5', '01']) {
      const err = validationErrorOf(() =>
        parsePlan({
          strategy: { type: 'dependency_graph', dependencies: { [key]: [0] } },
          commands: [{ command: ls }, { command: ls }],
        }),
      );
      expect(err.field.startsWith('strategy.dependencies'), key).toBe(true);
    }
  });

  // Regression: the schema's "keys must be command indices or step names" must reach the message.
  test('a dependency key that is neither an index nor a name is rejected with the reason why', () => {
    const err = validationErrorOf(() =>
      parsePlan({
        strategy: { type: 'dependency_graph', dependencies: { 'x y': [0] } },
        commands: [{ command: ls }, { command: ls }],
      }),
    );
    expect(err.reason).toMatch(/command indices or step names/);
  });

  test('a negative or fractional dependency index is rejected', () => {
    for (const dep of [-1, 0.5, '0']) {
      const err = validationErrorOf(() =>
        parsePlan({
          strategy: { type: 'dependency_graph', dependencies: { '1': [dep] } },
          commands: [{ command: ls }, { command: ls }],
        }),
      );
      expect(err.field).toBe('strategy.dependencies.1[0]');
    }
  });

  test('parallel max_concurrency 0 is rejected', () => {
    const err = validationErrorOf(() =>
      parsePlan({ strategy: { type: 'parallel', max_concurrency: 0 }, commands: [{ command: ls }] }),
    );
    expect(err.field).toBe('strategy.max_concurrency');
  });
});

function fullResult(): ExecutionResult {
  return {
    id: ID,
    status: 'completed',
    exit_code: 0,
    stdout: 'hello\n',
    stderr: '',
    duration_ms: 12,
    started_at: '2026-11-22T10:00:00Z',
    completed_at: '2026-11-22T10:00:00.012Z',
    log_path: '/tmp/x.log',
    error: null,
    error_code: null,
    signal: null,
    stdout_truncated: false,
    stderr_truncated: false,
    attempts: 1,
    previous_attempts: [],
    outputs: {},
    carried_from: null,
  };
}

describe('events', () => {
  const samples: Record<(typeof EVENT_TYPES)[number], Record<string, unknown>> = {
    started: { event_type: 'started', execution_id: ID, command: 'echo hi', name: 'build', timestamp: TS },
    stdout: { event_type: 'stdout', execution_id: ID, line: 'hello', timestamp: TS },
    stderr: { event_type: 'stderr', execution_id: ID, line: 'oops', timestamp: TS },
    completed: { event_type: 'completed', execution_id: ID, result: fullResult(), timestamp: TS },
    failed: {
      event_type: 'failed',
      execution_id: ID,
      error: 'Command failed with exit code 1',
      error_code: 'exit',
      timestamp: TS,
    },
    cancelled: { event_type: 'cancelled', execution_id: ID, timestamp: TS },
    progress: {
      event_type: 'progress',
      plan_id: PLAN_ID,
      completed: 1,
      total: 2,
      current_command: 'echo hi',
      timestamp: TS,
    },
    retrying: {
      event_type: 'retrying',
      execution_id: ID,
      attempt: 1,
      max_attempts: 3,
      delay_ms: 1000,
      reason: 'ThrottlingException',
      timestamp: TS,
    },
    rollback_started: { event_type: 'rollback_started', execution_id: PLAN_ID, timestamp: TS },
    rollback_completed: {
      event_type: 'rollback_completed',
      execution_id: PLAN_ID,
      results: [fullResult()],
      status: 'rolled_back',
      timestamp: TS,
    },
  };

  test('the samples cover every event type: the seed core set plus the cloud-operations layer', () => {
    expect(Object.keys(samples).sort()).toEqual([...EVENT_TYPES].sort());
    expect([...EVENT_TYPES].sort()).toEqual([
      'cancelled',
      'completed',
      'failed',
      'progress',
      'retrying',
      'rollback_completed',
      'rollback_started',
      'started',
      'stderr',
      'stdout',
    ]);
  });

  test.each(Object.entries(samples))('%s parses and round-trips', (_type, sample) => {
    const event = parseEvent(sample);
    expect(event).toEqual(sample);
    expect(parseEvent(JSON.parse(serialize(event)))).toEqual(event);
  });

  test('a completed event with a minimal seed result gets the extension defaults', () => {
    const {
      signal: _s,
      stdout_truncated: _o,
      stderr_truncated: _e,
      attempts: _a,
      previous_attempts: _p,
      ...seedResult
    } = fullResult();
    const event = parseEvent({ event_type: 'completed', execution_id: ID, result: seedResult, timestamp: TS });
    expect(event.event_type).toBe('completed');
    if (event.event_type !== 'completed') throw new Error('unreachable');
    expect(event.result).toEqual(fullResult());
  });

  test('a completed event with a broken result names the nested field', () => {
    const result = { ...fullResult(), exit_code: 'zero' };
    const err = validationErrorOf(() =>
      parseEvent({ event_type: 'completed', execution_id: ID, result, timestamp: TS }),
    );
    expect(err.field).toBe('result.exit_code');
  });

  test('progress current_command defaults to null', () => {
    const event = parseEvent({ event_type: 'progress', plan_id: PLAN_ID, completed: 0, total: 3, timestamp: TS });
    expect(event).toMatchObject({ current_command: null });
  });

  test('an unknown event_type is rejected', () => {
    const err = validationErrorOf(() => parseEvent({ event_type: 'exploded', execution_id: ID, timestamp: TS }));
    expect(err.field).toBe('event_type');
    expect(err.message).toContain('"exploded"');
  });

  test('a bad timestamp is rejected', () => {
    const err = validationErrorOf(() =>
      parseEvent({ event_type: 'cancelled', execution_id: ID, timestamp: 'yesterday' }),
    );
    expect(err.field).toBe('timestamp');
  });

  test('parseResult accepts a seed result and rejects an unknown status', () => {
    expect(parseResult(fullResult())).toEqual(fullResult());
    expect(validationErrorOf(() => parseResult({ ...fullResult(), status: 'exploded' })).field).toBe('status');
  });
});

describe('error classes', () => {
  test('ValidationError is an ExecutionError with code Validation', () => {
    const err = ValidationError.of('TimeoutTooLarge', 'timeout_ms', '700000ms > 600000ms');
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toBeInstanceOf(ExecutionError);
    expect(err).toBeInstanceOf(Error);
    expect(err.code).toBe('Validation');
    expect(err.kind).toBe('TimeoutTooLarge');
    expect(err.field).toBe('timeout_ms');
    expect(err.reason).toBe('700000ms > 600000ms');
    expect(err.issues).toEqual([{ code: 'TimeoutTooLarge', field: 'timeout_ms', reason: '700000ms > 600000ms' }]);
    expect(err.name).toBe('ValidationError');
    expect(err.message.startsWith('Validation error: Timeout exceeds maximum allowed: 700000ms > 600000ms')).toBe(true);
  });

  test.each([
    ['InvalidCommand', 'Validation error: Invalid command format: '],
    ['ScriptNotFound', 'Validation error: Script file not found: '],
    ['TimeoutTooLarge', 'Validation error: Timeout exceeds maximum allowed: '],
    ['InvalidWorkingDir', 'Validation error: Invalid working directory: '],
    ['MissingField', 'Validation error: Missing required field: '],
    ['InvalidPlan', 'Validation error: Invalid execution plan: '],
  ] as const)('%s messages start with the seed prefix', (kind, prefix) => {
    const err = ValidationError.of(kind, 'f', 'why');
    expect(err.message.startsWith(`${prefix}why`)).toBe(true);
    expect(err.message).toContain('f');
  });

  test('several issues: counts the rest, kind/field/reason describe the first', () => {
    const err = new ValidationError([
      { code: 'MissingField', field: 'a', reason: 'a is required' },
      { code: 'InvalidField', field: 'b', reason: 'bad' },
      { code: 'InvalidPlan', field: 'c', reason: 'worse' },
    ]);
    expect(err.kind).toBe('MissingField');
    expect(err.field).toBe('a');
    expect(err.reason).toBe('a is required');
    expect(err.issues).toHaveLength(3);
    expect(err.message).toContain('(and 2 more problems)');
  });

  test('a ValidationError needs at least one issue', () => {
    expect(() => new ValidationError([])).toThrow(TypeError);
  });

  test('static factories use the seed messages and codes', () => {
    const notFound = ExecutionError.notFound(ID);
    expect(notFound).toBeInstanceOf(ExecutionError);
    expect(notFound).not.toBeInstanceOf(ValidationError);
    expect(notFound.code).toBe('NotFound');
    expect(notFound.message).toBe(`Execution not found: ${ID}`);
    expect(notFound.name).toBe('ExecutionError');

    expect(ExecutionError.timeout(5000)).toMatchObject({ code: 'Timeout', message: 'Execution timeout after 5000ms' });
    expect(ExecutionError.cancelled()).toMatchObject({ code: 'Cancelled', message: 'Execution cancelled' });
    expect(ExecutionError.commandFailed(2)).toMatchObject({
      code: 'CommandFailed',
      message: 'Command failed with exit code 2',
    });
    const cause = new Error('ENOENT');
    const spawn = ExecutionError.spawnFailed('nope: not found', cause);
    expect(spawn).toMatchObject({ code: 'SpawnFailed', message: 'Process spawn failed: nope: not found' });
    expect(spawn.cause).toBe(cause);
    expect(ExecutionError.io('disk full')).toMatchObject({ code: 'Io', message: 'IO error: disk full' });
    expect(ExecutionError.serialization('bad')).toMatchObject({
      code: 'Serialization',
      message: 'Serialization error: bad',
    });
  });

  test('serialize reports a circular value as a Serialization ExecutionError', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    let thrown: unknown;
    try {
      serialize(loop as never);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ExecutionError);
    expect((thrown as ExecutionError).code).toBe('Serialization');
    expect((thrown as ExecutionError).message).toMatch(/^Serialization error: /);
  });
});

test('results and failed events written without error_code (older engines, the Rust crate) load with it null', () => {
  const { error_code: _omitted, ...old } = fullResult();
  expect(parseResult(old).error_code).toBeNull();
  expect(parseEvent({ event_type: 'failed', execution_id: ID, error: 'boom', timestamp: TS })).toMatchObject({
    error_code: null,
  });
  expect(() => parseResult({ ...fullResult(), error_code: 'exploded' })).toThrow(/error_code/);
});

test('a required key written with a typo is named with the key it was meant to be', () => {
  const err = validationErrorOf(() => parsePlan({ commands: [{ comand: { type: 'shell', command: 'echo hi' } }] }));
  expect(err.field).toBe('commands[0].command');
  expect(err.reason).toBe('commands[0].command is required; "comand" is there: did you mean "command"?');
  // Nothing near: no suggestion.
  const plain = validationErrorOf(() => parsePlan({ commands: [{ description: 'x' }] }));
  expect(plain.reason).toBe('commands[0].command is required');
});
