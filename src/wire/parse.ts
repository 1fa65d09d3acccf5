/**
 * The boundary: JSON text or untrusted objects in, normalized wire objects out, or a
 * ValidationError whose `field` is the dotted path of the first problem.
 */
import type { z } from 'zod';
import { ExecutionError, ValidationError, type ValidationErrorCode, type ValidationIssue } from '../errors.js';
import { didYouMean, nearestName } from '../nearest-name.js';
import {
  ExecutionEventSchema,
  ExecutionPlanSchema,
  ExecutionRequestSchema,
  ExecutionResultSchema,
  PlanExecutionResultSchema,
} from './schema.js';
import type { ExecutionEvent, ExecutionPlan, ExecutionRequest, ExecutionResult, PlanExecutionResult } from './types.js';

type Path = ReadonlyArray<PropertyKey>;

export function formatPath(path: Path): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

function valueAt(input: unknown, path: Path): unknown {
  let cur = input;
  for (const key of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[key];
  }
  return cur;
}

function describeValue(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

/** Which validation kind a bad discriminator maps to depends on what it discriminates. */
function unknownTagCode(field: string): ValidationErrorCode {
  if (/(^|\.)command\.type$/.test(field)) return 'InvalidCommand';
  if (/(^|\.)strategy\.type$/.test(field)) return 'InvalidPlan';
  return 'InvalidField';
}

/** A bad dependency index is a plan problem; other bad keys (env names) are field problems. */
function unknownKeyCode(field: string): ValidationErrorCode {
  return /(^|\.)strategy\.dependencies\./.test(field) ? 'InvalidPlan' : 'InvalidField';
}

/**
 * A required key that is missing may be there under a typo (`comand`): the keys beside it that
 * are near its name, as `; "comand" is there: did you mean "command"?`, else empty.
 */
function misspeltKey(input: unknown, path: readonly PropertyKey[]): string {
  const name = path.at(-1);
  const parent = valueAt(input, path.slice(0, -1));
  if (typeof name !== 'string' || parent === null || typeof parent !== 'object' || Array.isArray(parent)) return '';
  const typo = Object.keys(parent).find((key) => key !== name && nearestName(key, [name]) === name);
  return typo === undefined ? '' : `; ${JSON.stringify(typo)} is there: did you mean ${JSON.stringify(name)}?`;
}

/** Names people write for a field under another name (another tool's, or the unit left off): checked before edit distance. */
const FIELD_ALIASES: Readonly<Record<string, string>> = {
  timeout: 'timeout_ms',
  timeout_secs: 'timeout_ms',
  timeout_seconds: 'timeout_ms',
  environment: 'env',
  enviroment: 'env',
  environ: 'env',
  env_vars: 'env',
  cwd: 'working_dir',
  workdir: 'working_dir',
  working_directory: 'working_dir',
  arguments: 'args',
  argv: 'args',
  cmd: 'command',
  risk: 'risk_level',
  retries: 'retry',
  dependencies_map: 'dependencies',
  depends_on: 'dependencies',
  concurrency: 'max_concurrency',
  params: 'parameters',
};

/** The schema a value at `path` of `input` is checked against, or undefined where it cannot be told (no such field). */
function schemaAt(schema: z.core.$ZodType, input: unknown, path: Path): z.core.$ZodType | undefined {
  let cur: z.core.$ZodType | undefined = schema;
  let value = input;
  for (let i = 0; ; ) {
    if (cur === undefined) return undefined;
    const def = cur._zod.def as unknown as Record<string, unknown> & { type: string };
    switch (def.type) {
      case 'default':
      case 'prefault':
      case 'nullable':
      case 'optional':
      case 'readonly':
      case 'catch':
        cur = def.innerType as z.core.$ZodType;
        continue;
      case 'pipe':
        cur = def.in as z.core.$ZodType;
        continue;
      case 'lazy':
        cur = (def.getter as () => z.core.$ZodType)();
        continue;
      case 'union': {
        // A discriminated union: the option the value's tag picks (an undiscriminated one: none).
        const tag = def.discriminator as string | undefined;
        const options = def.options as z.core.$ZodType[];
        const wanted =
          value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[tag ?? ''] : undefined;
        cur = tag === undefined ? undefined : options.find((o) => literalOf(o, tag) === wanted);
        continue;
      }
      default:
        break;
    }
    if (i === path.length) return cur;
    const key = path[i]!;
    i++;
    value = valueAt(value, [key]);
    if (def.type === 'object') cur = (def.shape as Record<string, z.core.$ZodType>)[String(key)];
    else if (def.type === 'array') cur = def.element as z.core.$ZodType;
    else if (def.type === 'record') cur = def.valueType as z.core.$ZodType;
    else return undefined;
  }
}

/** The literal value of `field` in an object schema (a union option's tag). */
function literalOf(option: z.core.$ZodType, field: string): unknown {
  const def = option._zod.def as unknown as { type: string; shape?: Record<string, z.core.$ZodType> };
  const tag = def.type === 'object' ? def.shape?.[field]?._zod.def : undefined;
  return tag && tag.type === 'literal' ? (tag as unknown as { values: unknown[] }).values[0] : undefined;
}

/** The field names the object at `path` takes. */
function knownFields(schema: z.core.$ZodType, input: unknown, path: Path): string[] {
  const at = schemaAt(schema, input, path);
  const def = at?._zod.def as unknown as { type: string; shape?: Record<string, unknown> } | undefined;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/** The known field an unknown `key` was probably meant to be: an alias, else the nearest name. */
export function nearestField(key: string, known: readonly string[]): string | null {
  const alias = FIELD_ALIASES[key.toLowerCase()];
  if (alias !== undefined && known.includes(alias)) return alias;
  const near = nearestName(key, known);
  if (near !== null) return near;
  // `delay` or `dely` for `delay_ms`: a name is also near without its unit.
  const stems = known.map((name) => name.replace(/_ms$/, ''));
  const stem = nearestName(key, stems) ?? (stems.includes(key) ? key : null);
  return stem === null ? null : known[stems.indexOf(stem)]!;
}

/** One issue per field the schema does not take: `commands[0].enviroment: unknown field; did you mean "env"?`. */
function unknownFieldIssues(
  issue: z.core.$ZodIssueUnrecognizedKeys,
  schema: z.core.$ZodType,
  input: unknown,
  missing: ReadonlySet<string>,
): ValidationIssue[] {
  const known = knownFields(schema, input, issue.path);
  return issue.keys.flatMap((key) => {
    const near = nearestField(key, known);
    if (near !== null && missing.has(formatPath([...issue.path, near]))) return [];
    const hint =
      near !== null
        ? `; did you mean ${JSON.stringify(near)}?`
        : known.length > 0
          ? `; known fields: ${known.join(', ')}`
          : '';
    return [
      {
        code: 'InvalidField' as const,
        field: formatPath([...issue.path, key]),
        reason: `unknown field ${JSON.stringify(key)}${hint}`,
      },
    ];
  });
}

function toIssue(issue: z.core.$ZodIssue, input: unknown): ValidationIssue {
  const field = formatPath(issue.path);
  const value = valueAt(input, issue.path);
  if (value === undefined && (issue.code === 'invalid_type' || issue.code === 'invalid_union')) {
    return { code: 'MissingField', field, reason: `${field || 'value'} is required${misspeltKey(input, issue.path)}` };
  }
  if (issue.code === 'invalid_key') {
    // The key itself is wrong: say why (the schema's own message), not what its value was.
    const key = issue.path.at(-1);
    const reason = issue.issues[0]?.message ?? issue.message;
    return { code: unknownKeyCode(field), field, reason: `${reason} (key ${JSON.stringify(String(key))})` };
  }
  if (issue.code === 'invalid_union' && 'options' in issue && Array.isArray(issue.options)) {
    const kind = field.endsWith('event_type') ? 'event type' : (field.split('.').at(-2) ?? 'type');
    const label = kind === 'command' ? 'command type' : kind === 'strategy' ? 'strategy type' : kind;
    return {
      code: unknownTagCode(field),
      field,
      reason: `unknown ${label} ${describeValue(value)}; expected one of ${issue.options.map((o) => JSON.stringify(o)).join(', ')}`,
    };
  }
  // An empty command list is a plan-level problem, not a field typo.
  const emptyPlan = field === 'commands' && issue.code === 'too_small';
  // A word outside a list (a status, a risk level, ...): name the one it was probably meant to be.
  const near =
    issue.code === 'invalid_value' && typeof value === 'string'
      ? didYouMean(
          value,
          issue.values.filter((v): v is string => typeof v === 'string'),
        )
      : '';
  return {
    code: emptyPlan ? 'InvalidPlan' : 'InvalidField',
    field,
    reason: `${issue.message.replace(/^Invalid input: /, '')} (got ${describeValue(value)})${near}`,
  };
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    throw ValidationError.of('InvalidField', '', `not valid JSON: ${(err as Error).message}`);
  }
}

/** Deeper input is refused: real requests nest a few levels, and recursion over hostile depth overflows the stack. */
export const MAX_INPUT_DEPTH = 64;

/**
 * Own `__proto__` keys (JSON.parse makes them) would be swallowed by object assignment
 * while parsing: an env variable or a dependency would silently disappear. Refuse them, and
 * input nested more than MAX_INPUT_DEPTH levels.
 */
function structureIssues(value: unknown, path: PropertyKey[] = []): ValidationIssue[] {
  if (value === null || typeof value !== 'object') return [];
  if (path.length > MAX_INPUT_DEPTH) {
    return [
      { code: 'InvalidField', field: formatPath(path), reason: `nested more than ${MAX_INPUT_DEPTH} levels deep` },
    ];
  }
  const issues: ValidationIssue[] = [];
  if (!Array.isArray(value) && Object.hasOwn(value, '__proto__')) {
    const field = formatPath([...path, '__proto__']);
    issues.push({ code: unknownKeyCode(field), field, reason: 'the key "__proto__" is not allowed' });
  }
  for (const [key, child] of Object.entries(value)) {
    issues.push(...structureIssues(child, [...path, Array.isArray(value) ? Number(key) : key]));
    if (issues.length > 0 && path.length >= MAX_INPUT_DEPTH) break; // one issue per too-deep subtree is enough
  }
  return issues;
}

/** How strictly input is read. */
export interface ParseOptions {
  /**
   * Accept (and drop) fields the schema does not know, for a program that must read plans
   * written for a newer version. Default false: an unknown field is an error naming it.
   */
  allow_unknown_fields?: boolean;
  /** Told which fields `allow_unknown_fields` dropped (by path), so a reader can say so. */
  onUnknownFields?: (fields: readonly string[]) => void;
}

/** A copy of `data` without the fields named by `issues` (only the objects on their paths are copied). */
function withoutFields(data: unknown, issues: readonly z.core.$ZodIssueUnrecognizedKeys[]): unknown {
  const root: { value: unknown } = { value: data };
  for (const issue of issues) {
    let holder = root as Record<PropertyKey, unknown>;
    let key: PropertyKey = 'value';
    for (const step of issue.path) {
      const child = holder[key];
      if (child === null || typeof child !== 'object') break;
      holder[key] = Array.isArray(child) ? [...child] : { ...child };
      holder = holder[key] as Record<PropertyKey, unknown>;
      key = step;
    }
    const target = holder[key];
    if (target === null || typeof target !== 'object' || Array.isArray(target)) continue;
    const copy: Record<string, unknown> = { ...(target as Record<string, unknown>) };
    for (const name of issue.keys) delete copy[name];
    holder[key] = copy;
  }
  return root.value;
}

const isUnknownFields = (issue: z.core.$ZodIssue): issue is z.core.$ZodIssueUnrecognizedKeys =>
  issue.code === 'unrecognized_keys';

/** Passes of dropping unknown fields under `allow_unknown_fields` (one normally finds them all). */
const MAX_DROP_PASSES = 8;

/**
 * Any schema at the boundary: a ValidationError naming each bad field, never a raw ZodError.
 * Unknown fields of strict objects are errors unless `options.allow_unknown_fields`.
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, options: ParseOptions = {}): z.output<S> {
  let data = typeof input === 'string' ? parseJsonText(input) : input;
  const structure = structureIssues(data);
  if (structure.length > 0) throw new ValidationError(structure);
  let result = schema.safeParse(data);
  for (let pass = 0; options.allow_unknown_fields && !result.success && pass < MAX_DROP_PASSES; pass++) {
    const unknown = result.error.issues.filter(isUnknownFields);
    if (unknown.length === 0) break;
    options.onUnknownFields?.(unknown.flatMap((i) => i.keys.map((key) => formatPath([...i.path, key]))));
    data = withoutFields(data, unknown);
    result = schema.safeParse(data);
  }
  if (result.success) return result.data;
  const other = result.error.issues.filter((i) => !isUnknownFields(i)).map((i) => toIssue(i, data));
  // `comand` beside a missing `command` is said once, by the missing field (which names the typo).
  const missing = new Set(other.filter((i) => i.code === 'MissingField').map((i) => i.field));
  const unknown = result.error.issues
    .filter(isUnknownFields)
    .flatMap((i) => unknownFieldIssues(i, schema, data, missing));
  throw new ValidationError([...other, ...unknown]);
}

/** Parse an `ExecutionRequest` from JSON text or an object; fills in the defaults of omitted fields. */
export function parseRequest(input: unknown, options: ParseOptions = {}): ExecutionRequest {
  return parseWith(ExecutionRequestSchema, input, options);
}

/** Bounds a plan is held to before any per-command work (the engine's config has them). */
export interface PlanLimits {
  /** Commands plus their rollback steps. */
  max_plan_commands: number;
}

/**
 * How many requests a plan brings (commands and their rollback steps), counted on the raw input
 * without parsing any of them; anything malformed is left to the schema.
 */
function requestCount(input: unknown): number {
  const commands = input !== null && typeof input === 'object' ? (input as { commands?: unknown }).commands : undefined;
  if (!Array.isArray(commands)) return 0;
  let count = commands.length;
  for (const command of commands) {
    const rollback =
      command !== null && typeof command === 'object' ? (command as { rollback?: unknown }).rollback : undefined;
    if (Array.isArray(rollback)) count += rollback.length;
  }
  return count;
}

/** A plan larger than `limits` allow is refused here, before each command is parsed, validated and tracked. */
export function checkPlanSize(input: unknown, limits: PlanLimits): void {
  const count = requestCount(input);
  if (count <= limits.max_plan_commands) return;
  throw ValidationError.of(
    'InvalidPlan',
    'commands',
    `the plan has ${count} commands (rollback steps included); at most ${limits.max_plan_commands} are accepted (config max_plan_commands)`,
  );
}

/**
 * Parse an `ExecutionPlan` (structure only; see `validatePlan` for the dependency graph).
 * With `limits`, an oversized plan is refused before any of its commands is parsed. An
 * engine's config serves as both (`max_plan_commands`, `allow_unknown_fields`).
 */
export function parsePlan(input: unknown, options?: (PlanLimits & ParseOptions) | ParseOptions): ExecutionPlan {
  const data = typeof input === 'string' ? parseJsonText(input) : input;
  if (options && 'max_plan_commands' in options) checkPlanSize(data, options);
  return parseWith(ExecutionPlanSchema, data, options);
}

/** A plan's own fields as parsed with every one omitted (the commands aside), made once. */
let planDefaults: Omit<ExecutionPlan, 'id' | 'commands'> | null = null;

/**
 * What `parsePlan({ id: request.id, commands: [request] })` returns for a request already
 * parsed: the plan's defaults around it, without the schema walking the request again.
 */
export function singleCommandPlan(request: ExecutionRequest): ExecutionPlan {
  if (planDefaults === null) {
    const {
      id: _id,
      commands: _commands,
      ...rest
    } = ExecutionPlanSchema.parse({
      commands: [{ command: { type: 'exec', program: 'true' } }],
    });
    planDefaults = rest;
  }
  // A copy each time: a plan's objects are its own.
  return { ...structuredClone(planDefaults), id: request.id, commands: [request] };
}

export function parseEvent(input: unknown): ExecutionEvent {
  return parseWith(ExecutionEventSchema, input);
}

export function parseResult(input: unknown): ExecutionResult {
  return parseWith(ExecutionResultSchema, input);
}

export function parsePlanResult(input: unknown): PlanExecutionResult {
  return parseWith(PlanExecutionResultSchema, input);
}

/** JSON text in the wire format (snake_case fields). The engine's objects are already wire-shaped. */
export function serialize(
  value: ExecutionRequest | ExecutionPlan | ExecutionEvent | ExecutionResult | PlanExecutionResult,
): string {
  try {
    return JSON.stringify(value);
  } catch (err) {
    throw ExecutionError.serialization((err as Error).message, err);
  }
}
