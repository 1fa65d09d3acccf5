/**
 * Property-based tests of the plan parser (wire/parse + validation/plan): random valid plans
 * of every strategy round-trip unchanged; random invalid mutations are rejected with a
 * ValidationError whose `field` names the mutated place, never a crash or another error.
 */
import { chmodSync, existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import {
  COMMAND_TYPES,
  DEFAULT_CONFIG,
  type ExecutionPlan,
  parsePlan,
  serialize,
  ValidationError,
  validatePlan,
} from '../src/index.js';
import { makeEngine } from './helpers.js';

// ---------------------------------------------------------------------------------------
// Fixtures the generated plans point at, so that every "valid" plan also passes validatePlan
// (script files must exist and have a #! line or an interpreter; working dirs must exist).

const FIXTURES = mkdtempSync(join(tmpdir(), 'cee-rel-wire-'));
const SCRIPT_WITH_SHEBANG = join(FIXTURES, 'with-shebang.sh');
const SCRIPT_WITHOUT_SHEBANG = join(FIXTURES, 'no-shebang.sh');
writeFileSync(SCRIPT_WITH_SHEBANG, '#!/bin/sh\necho hi\n');
writeFileSync(SCRIPT_WITHOUT_SHEBANG, 'echo hi\n');
chmodSync(SCRIPT_WITH_SHEBANG, 0o755);
afterAll(() => rmSync(FIXTURES, { recursive: true, force: true }));

const CONFIG = DEFAULT_CONFIG;

// ---------------------------------------------------------------------------------------
// Arbitraries: plans in normalized form (every field present, as parsePlan returns them).

const hexChar = fc.constantFrom(...'0123456789abcdefABCDEF');
const hexString = (n: number) => fc.string({ unit: hexChar, minLength: n, maxLength: n });
/** Any 8-4-4-4-12 hex string (the crate's Uuid parser accepts them all), upper or lower case. */
const guid = fc.oneof(
  fc.uuid(),
  fc.tuple(hexString(8), hexString(4), hexString(4), hexString(4), hexString(12)).map((p) => p.join('-')),
);

/** Any text, including non-BMP characters, control characters and lone surrogates. */
const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: 'binary', maxLength: 12 }));
const nonEmpty = text.filter((s) => s.length > 0);
/** What reaches `spawn` (args, env values, a shell command) may be empty but never holds a NUL. */
const spawnText = text.filter((s) => !s.includes('\0'));
const noNul = nonEmpty.filter((s) => !s.includes('\0'));
const programName = noNul.filter((s) => s.trim().length > 0);
/**
 * `__proto__` is left out of record keys here: the parser refuses it (see the tests at the
 * end of this file), and keeping it in would make every property fail for that one reason.
 */
const recordKey = text.filter((s) => s !== '__proto__');
const envName = recordKey.filter((s) => s.length > 0 && !s.includes('=') && !s.includes('\0'));
const dict = <T>(key: fc.Arbitrary<string>, value: fc.Arbitrary<T>) =>
  fc.dictionary(key, value, { maxKeys: 3, noNullPrototype: true });
const nullable = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: null });

const metadata = fc.record({
  source: nullable(text),
  conversation_id: nullable(guid),
  user_prompt: nullable(text),
  tags: dict(recordKey, text),
});
const riskLevel = fc.constantFrom('read_only' as const, 'modify' as const, 'destructive' as const);

const backoff = fc.oneof(
  fc.record({ type: fc.constant('fixed' as const), delay_ms: fc.nat({ max: 100_000 }) }),
  fc.record({
    type: fc.constant('exponential' as const),
    base_ms: fc.integer({ min: 1, max: 100_000 }),
    max_ms: fc.integer({ min: 1, max: 1_000_000 }),
  }),
  fc.record({
    type: fc.constant('linear' as const),
    increment_ms: fc.integer({ min: 1, max: 100_000 }),
    max_ms: fc.integer({ min: 1, max: 1_000_000 }),
  }),
);
const retry = fc.record({
  max_attempts: fc.integer({ min: 1, max: 10 }),
  backoff,
  // Entries of the form /…/flags are regexes with rules of their own (RE2 syntax, flags i, m, s):
  // valid plans take substrings only; the regex rules are tested in test/security/patterns-and-paths.
  retryable_errors: fc.array(
    nonEmpty.filter((p) => !/^\/.*\/[a-z]*$/s.test(p)),
    { maxLength: 3 },
  ),
  // Thousandths: no -0 and no float noise, so equality after a JSON round trip is exact.
  jitter: fc.integer({ min: 0, max: 1000 }).map((n) => n / 1000),
  retryable_exit_codes: fc.uniqueArray(fc.integer({ min: 1, max: 255 }), { maxLength: 4 }),
});

const execCommand = fc.record({
  type: fc.constant('exec' as const),
  program: programName,
  args: fc.array(spawnText, { maxLength: 4 }),
});
const shellCommand = fc.record({
  type: fc.constant('shell' as const),
  command: noNul,
  shell: fc.oneof(fc.constantFrom('bash', 'sh', '/bin/sh'), programName),
});
const scriptCommand = fc.oneof(
  fc.record({
    type: fc.constant('script' as const),
    path: fc.constant(SCRIPT_WITH_SHEBANG),
    interpreter: nullable(programName),
  }),
  fc.record({
    type: fc.constant('script' as const),
    path: fc.constant(SCRIPT_WITHOUT_SHEBANG),
    interpreter: programName,
  }),
);
const command = fc.oneof(execCommand, shellCommand, scriptCommand);

const requestFields = {
  id: fc.constant<string>(''), // assigned below, unique per plan
  command,
  name: fc.constant(null), // unique names are checked in test/step-names.test.ts
  env: dict(envName, spawnText),
  working_dir: nullable(fc.constantFrom(FIXTURES, tmpdir(), '/')),
  timeout_ms: nullable(fc.integer({ min: 1, max: CONFIG.max_timeout_ms })),
  // Any path that is not an existing non-file (a directory such as `.` or `/` is refused: a log is a file).
  output_log_path: nullable(noNul.filter((path) => !existsSync(path) || statSync(path).isFile())),
  metadata,
  description: nullable(text),
  risk_level: nullable(riskLevel),
  retry: nullable(retry),
  outputs: fc.dictionary(
    fc.constantFrom('id', 'zone', 'Out_1'),
    // A fresh object each time: the mutation tests change plans in place.
    fc
      .constantFrom('json', 'regex', 'file')
      .map((how) =>
        how === 'json'
          ? { json: 'Instances[0].InstanceId' }
          : how === 'regex'
            ? { regex: 'id=(\\w+)' }
            : { file: true as const },
      ),
    { maxKeys: 2 },
  ),
};
const rollbackRequest = fc.record(requestFields);
const request = fc.record({ ...requestFields, rollback: fc.array(rollbackRequest, { maxLength: 2 }) });

/** A random DAG over n nodes: a random topological order, random edges that respect it, some duplicates and empty lists. */
function dagDependencies(n: number): fc.Arbitrary<Record<string, number[]>> {
  const order = fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n });
  const matrix = fc.array(fc.array(fc.integer({ min: 0, max: 9 }), { minLength: n, maxLength: n }), {
    minLength: n,
    maxLength: n,
  });
  return fc.tuple(order, matrix).map(([topo, m]) => {
    const deps: Record<string, number[]> = {};
    for (let i = 0; i < n; i++) {
      const node = topo[i]!;
      const list: number[] = [];
      for (let j = 0; j < i; j++) {
        const roll = m[i]![j]!;
        if (roll >= 6) list.push(topo[j]!);
        if (roll === 9) list.push(topo[j]!); // a duplicate edge is legal
      }
      // Nodes without dependencies are sometimes listed with [] and sometimes left out.
      if (list.length > 0 || m[i]![i]! >= 5) deps[String(node)] = list;
    }
    return deps;
  });
}

const percent = fc.integer({ min: 0, max: 100 }).map((p) => `${p}%`);
const maxFailures = nullable(fc.oneof(fc.nat(20), percent));

const strategy = (n: number) =>
  fc.oneof(
    fc.record({ type: fc.constant('serial' as const), stop_on_error: fc.boolean() }),
    fc.record({
      type: fc.constant('parallel' as const),
      max_concurrency: nullable(fc.integer({ min: 1, max: 64 })),
      max_failures: maxFailures,
    }),
    fc.record({
      type: fc.constant('dependency_graph' as const),
      dependencies: dagDependencies(n),
      max_failures: maxFailures,
    }),
  );

/** Valid plans in normalized form, with every id unique (plan, commands, rollback steps). */
const validPlan: fc.Arbitrary<ExecutionPlan> = fc.integer({ min: 1, max: 6 }).chain((n) =>
  fc
    .record({
      plan: fc.record({
        id: fc.constant<string>(''),
        description: text,
        strategy: strategy(n),
        commands: fc.array(request, { minLength: n, maxLength: n }),
        metadata,
        risk_level: nullable(riskLevel),
        rollback_strategy: fc.constantFrom('manual' as const, 'on_failure' as const),
        estimated_duration_ms: nullable(fc.nat()),
        // References and parameter checks: test/plan-references.test.ts.
        parameters: fc.constant({}),
        params: fc.constant({}),
        resumed_from: fc.constant(null),
      }),
      ids: fc.uniqueArray(guid, { minLength: 1 + 3 * n, maxLength: 1 + 3 * n, selector: (s) => s.toLowerCase() }),
    })
    .map(({ plan, ids }) => {
      let next = 0;
      const take = () => ids[next++]!;
      plan.id = take();
      for (const c of plan.commands) {
        c.id = take();
        for (const r of c.rollback) r.id = take();
      }
      return plan as ExecutionPlan;
    }),
);

// ---------------------------------------------------------------------------------------
// Helpers

type Path = Array<string | number>;

function formatPath(path: Path): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : out ? `.${key}` : key;
  return out;
}

const clone = <T>(v: T): T => structuredClone(v);

function getAt(root: unknown, path: Path): unknown {
  let cur = root;
  for (const k of path) cur = (cur as Record<string | number, unknown>)[k];
  return cur;
}

function setAt(root: unknown, path: Path, value: unknown): void {
  const parent = getAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
  const key = path.at(-1)!;
  if (value === undefined) {
    if (Array.isArray(parent) && typeof key === 'number') parent.splice(key, 1, undefined);
    else delete parent[key];
  } else {
    // defineProperty: a key such as "__proto__" becomes an own property, as JSON.parse makes it.
    Object.defineProperty(parent, key, { value, enumerable: true, writable: true, configurable: true });
  }
}

/** Every path in a JSON-shaped value (root included), internal nodes and leaves. */
function allPaths(value: unknown, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(value)) value.forEach((v, i) => out.push(...allPaths(v, [...prefix, i])));
  else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...allPaths(v, [...prefix, k]));
  return out;
}

/** What the parser or the validator threw for `input` (or null if it was accepted). */
async function rejectionOf(input: unknown, stage: 'parse' | 'validate'): Promise<unknown> {
  try {
    const parsed = parsePlan(input);
    if (stage === 'validate') await validatePlan(parsed, CONFIG);
    return null;
  } catch (err) {
    return err;
  }
}

/** The same input, as an object and as JSON text, is rejected at `field` with `kind`. */
async function expectRejected(
  input: unknown,
  stage: 'parse' | 'validate',
  field: string,
  kind: string,
  reason?: RegExp,
): Promise<ValidationError> {
  let first: ValidationError | null = null;
  for (const form of [input, JSON.stringify(input)]) {
    const err = await rejectionOf(form, stage);
    expect(err, `accepted: ${JSON.stringify(input).slice(0, 400)}`).toBeInstanceOf(ValidationError);
    const v = err as ValidationError;
    expect({ field: v.field, kind: v.kind }).toEqual({ field, kind });
    expect(v.code).toBe('Validation');
    expect(v.issues[0]).toMatchObject({ field, code: kind });
    if (field) expect(v.message).toContain(`(at ${field})`);
    if (reason) expect(v.reason).toMatch(reason);
    first ??= v;
  }
  return first!;
}

// ---------------------------------------------------------------------------------------

describe('valid plans', () => {
  test('round-trip through parsePlan / serialize unchanged, and pass validatePlan (300 runs)', async () => {
    await fc.assert(
      fc.asyncProperty(validPlan, async (plan) => {
        const parsed = parsePlan(plan);
        expect(parsed).toEqual(plan);
        const text1 = serialize(parsed);
        const reparsed = parsePlan(text1);
        expect(reparsed).toEqual(plan);
        expect(serialize(reparsed)).toBe(text1);
        expect(parsePlan(JSON.parse(text1))).toEqual(plan);
        await expect(validatePlan(parsed, CONFIG)).resolves.toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });

  test('with every default left out, parsing fills them back to the same plan (200 runs)', () => {
    /** Remove each field whose value is the seed's default (ids stay: a missing id is generated). */
    const stripDefaults = (plan: ExecutionPlan): Record<string, unknown> => {
      const p = clone(plan) as unknown as Record<string, unknown>;
      const isDefaultMetadata = (m: unknown) =>
        JSON.stringify(m) === JSON.stringify({ source: null, conversation_id: null, user_prompt: null, tags: {} });
      const strip = (obj: Record<string, unknown>, defaults: Record<string, unknown>) => {
        for (const [k, v] of Object.entries(defaults)) if (JSON.stringify(obj[k]) === JSON.stringify(v)) delete obj[k];
      };
      const stripRequest = (r: Record<string, unknown>) => {
        strip(r, {
          name: null,
          env: {},
          working_dir: null,
          timeout_ms: null,
          output_log_path: null,
          description: null,
          risk_level: null,
          retry: null,
          outputs: {},
          rollback: [],
        });
        if (isDefaultMetadata(r.metadata)) delete r.metadata;
        const c = r.command as Record<string, unknown>;
        strip(c, c.type === 'exec' ? { args: [] } : c.type === 'shell' ? { shell: 'bash' } : { interpreter: null });
        const rt = r.retry as Record<string, unknown> | undefined;
        if (rt)
          strip(rt, {
            max_attempts: 3,
            backoff: { type: 'exponential', base_ms: 1_000, max_ms: 30_000 },
            jitter: 0.2,
            retryable_errors: ['ThrottlingException', 'RequestLimitExceeded', 'ServiceUnavailable'],
            retryable_exit_codes: [],
          });
        for (const b of (r.rollback as Array<Record<string, unknown>> | undefined) ?? []) stripRequest(b);
      };
      strip(p, {
        description: '',
        risk_level: null,
        rollback_strategy: 'manual',
        estimated_duration_ms: null,
        strategy: { type: 'serial', stop_on_error: true },
        parameters: {},
        params: {},
        resumed_from: null,
      });
      if (isDefaultMetadata(p.metadata)) delete p.metadata;
      const s = p.strategy as Record<string, unknown> | undefined;
      if (s)
        strip(
          s,
          s.type === 'serial'
            ? { stop_on_error: true }
            : s.type === 'parallel'
              ? { max_concurrency: null, max_failures: null }
              : { dependencies: {}, max_failures: null },
        );
      for (const r of p.commands as Array<Record<string, unknown>>) stripRequest(r);
      return p;
    };
    fc.assert(
      fc.property(validPlan, (plan) => {
        const minimal = stripDefaults(plan);
        expect(parsePlan(minimal)).toEqual(plan);
        expect(parsePlan(JSON.stringify(minimal))).toEqual(plan);
      }),
      { numRuns: 200 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// Invalid mutations with a known right answer: where the error must point, and its kind.

interface Mutation {
  what: string;
  input: unknown;
  stage: 'parse' | 'validate';
  field: string;
  kind: string;
  reason?: RegExp;
}

const unknownTag = (known: readonly string[]) =>
  fc
    .oneof(
      text.filter((s) => !known.includes(s)),
      fc.constantFrom<unknown>(5, true, ['exec'], { type: 'exec' }, 'EXEC', ' exec', 'exec '),
    )
    .filter((v) => !(typeof v === 'string' && known.includes(v)));

/** Wrong-typed values for a few fields; each candidate only applies when the plan has that field. */
function wrongTypes(plan: ExecutionPlan): Array<{ path: Path; values: unknown[] }> {
  const out: Array<{ path: Path; values: unknown[] }> = [
    { path: ['description'], values: [42, null, [], {}] },
    { path: ['commands'], values: [{}, 'ls', 3, null] },
    { path: ['estimated_duration_ms'], values: [-1, 1.5, '10', true] },
    { path: ['rollback_strategy'], values: ['sometimes', 1, null] },
    { path: ['risk_level'], values: ['extreme', 0] },
    {
      path: ['id'],
      values: ['not-a-uuid', 7, '5f0c6a3e-8a51-4d3b-9b1e-2f1b7a0c9d1', '5f0c6a3e8a514d3b9b1e2f1b7a0c9d11'],
    },
    { path: ['metadata', 'tags'], values: [[], 'x'] },
    { path: ['metadata', 'tags', 'k'], values: [1, null, {}] },
    { path: ['metadata', 'conversation_id'], values: ['nope', 12] },
    { path: ['metadata', 'user_prompt'], values: [12, {}, 'x'.repeat(20_001)] },
  ];
  plan.commands.forEach((c, i) => {
    const at = (...rest: Path): Path => ['commands', i, ...rest];
    out.push(
      { path: at(), values: [7, 'ls', null, []] },
      { path: at('command'), values: [[], 'ls', 1, null] },
      { path: at('id'), values: ['x', 1] },
      { path: at('timeout_ms'), values: ['abc', 1.5, 0, -5, true] },
      { path: at('env'), values: ['A=1', [], 3] },
      { path: at('env', 'SOME_VAR'), values: [5, null, ['a'], 'a\0b'] },
      { path: at('working_dir'), values: [5, '', 'a\0b'] },
      { path: at('output_log_path'), values: [5, ''] },
      { path: at('description'), values: [5, {}] },
      { path: at('risk_level'), values: ['high'] },
      { path: at('retry'), values: ['yes', 3] },
      { path: at('rollback'), values: [{}, 'undo'] },
      { path: at('metadata'), values: ['m', 1] },
    );
    if (c.command.type === 'exec')
      out.push(
        { path: at('command', 'program'), values: ['', '   ', 'a\0b', 5, null] },
        { path: at('command', 'args'), values: ['ls -la', {}] },
        { path: at('command', 'args', 0), values: [1, null, 'a\0b'] },
      );
    if (c.command.type === 'shell')
      out.push(
        { path: at('command', 'command'), values: ['', 5, [], 'a\0b'] },
        { path: at('command', 'shell'), values: ['', ' ', 5] },
      );
    if (c.command.type === 'script')
      out.push(
        { path: at('command', 'path'), values: ['', 'a\0b', 5] },
        { path: at('command', 'interpreter'), values: ['', '\t', 5] },
      );
    if (c.retry) {
      out.push(
        { path: at('retry', 'max_attempts'), values: [0, 1.5, '3'] },
        { path: at('retry', 'jitter'), values: [-0.1, 1.5, '0.2'] },
      );
      out.push(
        { path: at('retry', 'retryable_errors'), values: ['Throttling', {}] },
        { path: at('retry', 'retryable_errors', 0), values: ['', 1] },
        ...c.retry.retryable_exit_codes.map((_, j) => ({
          path: at('retry', 'retryable_exit_codes', j),
          values: [0, 256, '1', 1.5],
        })),
        { path: at('retry', 'retryable_exit_codes'), values: [[7, 7], 'x', {}] },
      );
    }
    c.rollback.forEach((_, j) =>
      out.push(
        { path: at('rollback', j, 'timeout_ms'), values: [0, 'x'] },
        { path: at('rollback', j, 'command'), values: [5] },
      ),
    );
  });
  const s = plan.strategy;
  if (s.type === 'serial') out.push({ path: ['strategy', 'stop_on_error'], values: ['yes', 1, null] });
  if (s.type === 'parallel') out.push({ path: ['strategy', 'max_concurrency'], values: [0, -1, 2.5, '4'] });
  if (s.type !== 'serial') out.push({ path: ['strategy', 'max_failures'], values: [-1, 2.5, '4', '101%', true] });
  if (s.type === 'dependency_graph') {
    out.push({ path: ['strategy', 'dependencies'], values: [[], 'x', 1] });
    for (const [k, list] of Object.entries(s.dependencies)) {
      out.push({ path: ['strategy', 'dependencies', k], values: [1, '0', {}] });
      list.forEach((_, j) => out.push({ path: ['strategy', 'dependencies', k, j], values: [-1, 1.5, '0', null] }));
    }
  }
  return out;
}

/** Required fields that can be removed from this plan. */
function requiredPaths(plan: ExecutionPlan): Path[] {
  const out: Path[] = [['commands'], ['strategy', 'type']];
  plan.commands.forEach((c, i) => {
    out.push(['commands', i, 'command'], ['commands', i, 'command', 'type']);
    out.push([
      'commands',
      i,
      'command',
      c.command.type === 'exec' ? 'program' : c.command.type === 'shell' ? 'command' : 'path',
    ]);
    if (c.retry) out.push(['commands', i, 'retry', 'backoff', 'type']);
    c.rollback.forEach((_, j) => out.push(['commands', i, 'rollback', j, 'command']));
  });
  return out;
}

function mutations(plan: ExecutionPlan): fc.Arbitrary<Mutation> {
  const n = plan.commands.length;
  const arbs: Array<fc.Arbitrary<Mutation>> = [];

  // Wrong types and out-of-range values.
  const candidates = wrongTypes(plan);
  arbs.push(
    fc.nat({ max: candidates.length - 1 }).chain((c) =>
      fc.constantFrom(...candidates[c]!.values).map((value) => {
        const input = clone(plan);
        setAt(input, candidates[c]!.path, value);
        const field = formatPath(candidates[c]!.path);
        return {
          what: `wrong type at ${field}: ${JSON.stringify(value)}`,
          input,
          stage: 'parse' as const,
          field,
          kind: 'InvalidField',
        };
      }),
    ),
  );

  // Missing required fields.
  const required = requiredPaths(plan);
  arbs.push(
    fc.constantFrom(...required).map((path) => {
      const input = clone(plan);
      setAt(input, path, undefined);
      const field = formatPath(path);
      return { what: `missing ${field}`, input, stage: 'parse' as const, field, kind: 'MissingField' };
    }),
  );

  // An empty command list.
  arbs.push(
    fc.constant({
      what: 'no commands',
      input: { ...clone(plan), commands: [] },
      stage: 'parse' as const,
      field: 'commands',
      kind: 'InvalidPlan',
    }),
  );

  // Unknown `type` tags: command, strategy, backoff.
  arbs.push(
    fc.tuple(fc.nat({ max: n - 1 }), unknownTag(COMMAND_TYPES)).map(([i, tag]) => {
      const input = clone(plan);
      setAt(input, ['commands', i, 'command', 'type'], tag);
      return {
        what: `command type ${JSON.stringify(tag)}`,
        input,
        stage: 'parse' as const,
        field: `commands[${i}].command.type`,
        kind: 'InvalidCommand',
      };
    }),
    unknownTag(['serial', 'parallel', 'dependency_graph']).map((tag) => {
      const input = clone(plan);
      setAt(input, ['strategy', 'type'], tag);
      return {
        what: `strategy type ${JSON.stringify(tag)}`,
        input,
        stage: 'parse' as const,
        field: 'strategy.type',
        kind: 'InvalidPlan',
      };
    }),
  );
  const withRetry = plan.commands.flatMap((c, i) => (c.retry ? [i] : []));
  if (withRetry.length > 0) {
    arbs.push(
      fc.tuple(fc.constantFrom(...withRetry), unknownTag(['fixed', 'exponential', 'linear'])).map(([i, tag]) => {
        const input = clone(plan);
        setAt(input, ['commands', i, 'retry', 'backoff', 'type'], tag);
        return {
          what: `backoff type ${JSON.stringify(tag)}`,
          input,
          stage: 'parse' as const,
          field: `commands[${i}].retry.backoff.type`,
          kind: 'InvalidField',
        };
      }),
    );
  }

  // Bad dependency indices and cycles, on the plan turned into a dependency graph.
  // The generated graphs use indices only.
  const deps = (plan.strategy.type === 'dependency_graph' ? clone(plan.strategy.dependencies) : {}) as Record<
    string,
    number[]
  >;
  const graphPlan = (dependencies: Record<string, number[]>) => ({
    ...clone(plan),
    strategy: { type: 'dependency_graph', dependencies },
  });
  arbs.push(
    // A key past the last command.
    fc
      .tuple(fc.integer({ min: n, max: n + 1000 }), fc.array(fc.nat({ max: n - 1 }), { maxLength: 2 }))
      .map(([key, list]) => ({
        what: `key ${key} out of range`,
        input: graphPlan({ ...deps, [key]: list }),
        stage: 'validate' as const,
        field: `strategy.dependencies.${key}`,
        kind: 'InvalidPlan',
        reason: new RegExp(`command index ${key} is out of range`),
      })),
    // A dependency past the last command.
    fc.tuple(fc.nat({ max: n - 1 }), fc.integer({ min: n, max: n + 1000 })).map(([key, dep]) => ({
      what: `dependency ${dep} out of range`,
      input: graphPlan({ ...deps, [key]: [...(deps[key] ?? []), dep] }),
      stage: 'validate' as const,
      field: `strategy.dependencies.${key}`,
      kind: 'InvalidPlan',
      reason: new RegExp(`depends on index ${dep}, which is out of range`),
    })),
    // A self-dependency.
    fc.nat({ max: n - 1 }).map((key) => ({
      what: `self-dependency ${key}`,
      input: graphPlan({ ...deps, [key]: [...(deps[key] ?? []), key] }),
      stage: 'validate' as const,
      field: `strategy.dependencies.${key}`,
      kind: 'InvalidPlan',
      reason: new RegExp(`command ${key} depends on itself`),
    })),
    // A key that is neither a command index nor a step name.
    fc.constantFrom('X', '01', '1.0', ' 1', '', 'a b').map((key) => ({
      what: `key ${JSON.stringify(key)}`,
      input: graphPlan({ ...deps, [key]: [] }),
      stage: 'parse' as const,
      field: `strategy.dependencies.${key}`,
      kind: 'InvalidPlan',
    })),
    // A key written as a step name that no step has (the generated plans name none).
    fc.constantFrom('x', '-1', '1e0', '0x1', 'constructor').map((key) => ({
      what: `key ${JSON.stringify(key)}`,
      input: graphPlan({ ...deps, [key]: [] }),
      stage: 'validate' as const,
      field: `strategy.dependencies.${key}`,
      kind: 'InvalidPlan',
      reason: new RegExp(`no step is named "${key}"`),
    })),
  );
  if (n >= 2) {
    // A cycle: a path a -> ... -> b in the graph (or a fresh edge), closed by b -> a.
    arbs.push(
      fc.tuple(fc.nat({ max: n - 1 }), fc.nat({ max: n - 2 })).map(([a, off]) => {
        const b = (a + 1 + off) % n;
        const next = clone(deps);
        const reach = reachable(n, next, a);
        if (!reach.has(b)) next[String(a)] = [...(next[String(a)] ?? []), b]; // a depends on b
        next[String(b)] = [...(next[String(b)] ?? []), a]; // b depends on a: closes the cycle
        return {
          what: `cycle through ${a} and ${b}`,
          input: graphPlan(next),
          stage: 'validate' as const,
          field: 'strategy.dependencies',
          kind: 'InvalidPlan',
          reason: /^dependency cycle between commands \d+( -> \d+)+$/,
        };
      }),
    );
  }
  // Duplicate ids are a plan problem found by the validator.
  if (n >= 2) {
    arbs.push(
      fc.tuple(fc.nat({ max: n - 2 }), fc.nat({ max: n - 1 })).map(([off, i]) => {
        const j = (i + 1 + off) % n;
        const input = clone(plan);
        input.commands[j]!.id = input.commands[i]!.id;
        const later = Math.max(i, j);
        return {
          what: `duplicate id ${i}/${j}`,
          input,
          stage: 'validate' as const,
          field: `commands[${later}].id`,
          kind: 'InvalidPlan',
          reason: /is also used by/,
        };
      }),
    );
  }
  return fc.oneof(...arbs);
}

const CATEGORIES: Array<[string, RegExp]> = [
  ['wrong type', /^wrong type at /],
  ['missing field', /^missing /],
  ['no commands', /^no commands$/],
  ['command type', /^command type /],
  ['strategy type', /^strategy type /],
  ['backoff type', /^backoff type /],
  ['key out of range', /^key \d+ out of range$/],
  ['dependency out of range', /^dependency \d+ out of range$/],
  ['self-dependency', /^self-dependency /],
  ['non-index key', /^key "/],
  ['cycle', /^cycle through /],
  ['duplicate id', /^duplicate id /],
];
const categoryOf = (what: string) => CATEGORIES.find(([, re]) => re.test(what))?.[0] ?? `unknown: ${what}`;

/** Nodes `from` depends on, directly or transitively. */
function reachable(n: number, deps: Record<string, number[]>, from: number): Set<number> {
  const seen = new Set<number>();
  const stack = [from];
  while (stack.length > 0) {
    for (const d of deps[String(stack.pop()!)] ?? []) {
      if (d < n && !seen.has(d)) {
        seen.add(d);
        stack.push(d);
      }
    }
  }
  return seen;
}

/** The cycle named in a reason is a real cycle of `deps`: each index depends on the next, the last on the first. */
function expectRealCycle(reason: string, deps: Record<string, number[]>): void {
  const nodes = reason
    .replace(/^dependency cycle between commands /, '')
    .split(' -> ')
    .map(Number);
  expect(nodes.at(-1)).toBe(nodes[0]);
  for (let k = 0; k + 1 < nodes.length; k++) expect(deps[String(nodes[k])] ?? []).toContain(nodes[k + 1]);
}

describe('invalid plans', () => {
  test('targeted mutations are rejected with a ValidationError naming the mutated field (600 runs)', async () => {
    const seenKinds = new Set<string>();
    const seenCategories = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        validPlan.chain((plan) => mutations(plan)),
        async (m) => {
          const err = await expectRejected(m.input, m.stage, m.field, m.kind, m.reason);
          if (m.reason?.source.includes('cycle')) {
            expectRealCycle(
              err.reason,
              (m.input as { strategy: { dependencies: Record<string, number[]> } }).strategy.dependencies,
            );
          }
          seenKinds.add(m.kind);
          seenCategories.add(categoryOf(m.what));
        },
      ),
      { numRuns: 600 },
    );
    // Every kind of mutation was actually tried.
    expect([...seenCategories].sort()).toEqual([...CATEGORIES.map(([name]) => name)].sort());
    expect([...seenKinds].sort()).toEqual(['InvalidCommand', 'InvalidField', 'InvalidPlan', 'MissingField']);
  });

  test('the engine refuses the same mutations with the same error, and tracks nothing (150 runs)', async () => {
    const engine = makeEngine({ store_history: false });
    await fc.assert(
      fc.asyncProperty(
        validPlan.chain((plan) => mutations(plan)),
        async (m) => {
          const err = await engine.executePlan(m.input as never).then(
            () => null,
            (e: unknown) => e,
          );
          expect(err, m.what).toBeInstanceOf(ValidationError);
          expect({ field: (err as ValidationError).field, kind: (err as ValidationError).kind }).toEqual({
            field: m.field,
            kind: m.kind,
          });
        },
      ),
      { numRuns: 150 },
    );
    expect(await engine.listExecutions()).toEqual([]);
  });

  test('any value put anywhere in a valid plan: accepted, or a ValidationError at (or under) that place (800 runs)', () => {
    const junk = fc.oneof(
      fc.jsonValue({ maxDepth: 2 }),
      fc.constantFrom<unknown>(undefined, NaN, Infinity, -Infinity, -0, 2 ** 53, 10n, '', '\0', [], {}),
    );
    fc.assert(
      fc.property(validPlan, fc.nat(), junk, (plan, pick, value) => {
        const paths = allPaths(plan);
        const path = paths[pick % paths.length]!;
        const input = path.length === 0 ? value : clone(plan);
        if (path.length > 0) setAt(input, path, value);
        let err: unknown = null;
        try {
          parsePlan(input);
        } catch (e) {
          err = e;
        }
        if (err === null) return;
        expect(err).toBeInstanceOf(ValidationError);
        // Changing a `type` tag changes which fields the object must have: its siblings may be blamed.
        // So does an output's kind (`json`, `regex` or `file`: exactly one): taking it away blames the output.
        const last = path.at(-1);
        const choosesKind =
          last === 'type' || (path.at(-3) === 'outputs' && (last === 'json' || last === 'regex' || last === 'file'));
        const scope = formatPath(choosesKind ? path.slice(0, -1) : path);
        const field = (err as ValidationError).field;
        expect(
          field === scope || field.startsWith(`${scope}.`) || field.startsWith(`${scope}[`) || scope === '',
          `${field} not under ${scope}`,
        ).toBe(true);
        for (const issue of (err as ValidationError).issues) {
          expect(['InvalidCommand', 'InvalidField', 'InvalidPlan', 'MissingField']).toContain(issue.code);
        }
      }),
      { numRuns: 800 },
    );
  });

  test('arbitrary values and arbitrary text never crash the parser (1000 runs)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.string(), fc.json()), (input) => {
        try {
          parsePlan(input);
        } catch (err) {
          expect(err).toBeInstanceOf(ValidationError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

// ---------------------------------------------------------------------------------------
// Found by this suite: a record key "__proto__" in JSON input used to vanish in the parser
// (zod assigns it with `obj[key] = ...`, which sets the prototype instead of creating the
// key): an invalid dependency key was accepted, an env value disappeared. Now it is refused.

describe('"__proto__" keys in JSON input', () => {
  const base = {
    commands: [{ command: { type: 'exec', program: 'true' } }, { command: { type: 'exec', program: 'true' } }],
  };

  test('dependencies {"__proto__": [1]} are rejected (InvalidPlan at strategy.dependencies.__proto__), not accepted as an empty graph', async () => {
    const text = JSON.stringify({ ...base, strategy: { type: 'dependency_graph', dependencies: {} } }).replace(
      '"dependencies":{}',
      '"dependencies":{"__proto__":[1]}',
    );
    expect(Object.keys((JSON.parse(text) as { strategy: { dependencies: object } }).strategy.dependencies)).toEqual([
      '__proto__',
    ]);
    await expectRejected(JSON.parse(text), 'parse', 'strategy.dependencies.__proto__', 'InvalidPlan');
  });

  test('env {"__proto__": "x"} is rejected, not silently dropped', () => {
    const text = '{"commands":[{"command":{"type":"exec","program":"true"},"env":{"__proto__":"x","A":"1"}}]}';
    let outcome: unknown;
    try {
      outcome = Object.keys(parsePlan(text).commands[0]!.env);
    } catch (err) {
      outcome = err instanceof ValidationError ? `rejected at ${err.field}` : err;
    }
    expect(
      outcome === 'rejected at commands[0].env.__proto__' || JSON.stringify(outcome) === '["__proto__","A"]',
      `got ${JSON.stringify(outcome)}`,
    ).toBe(true);
  });
});
