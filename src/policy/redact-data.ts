/**
 * Secrets in data that leaves the engine (to a client, or into the history file): the value of
 * a secret-named environment variable becomes `***`, and every secret value (those, and the
 * engine's own secret-named environment) is replaced wherever else it appears, as in output
 * (redaction.ts). Requests come in many shapes (a command, a plan, an approval, an approver's
 * edit, rollback steps): redacting by what the data holds keeps a new field from leaking them.
 */
import { isSecretName, REDACTED, type Redactor, redactorFor, secretValues } from './redaction.js';

export type Env = Record<string, string>;

/**
 * Deeper than any answer the engine builds (input is refused past 64 levels): what lies below
 * is not searched for environments, and is not kept (null). Data nested thousands deep must
 * not exhaust the stack.
 */
const MAX_DEPTH = 200;

/** Keys holding identifiers or enumerations, never free text: a secret cannot hide there. */
const STRUCTURAL = new Set([
  'id',
  'plan_id',
  'execution_id',
  'approval_id',
  'type',
  'risk_level',
  'status',
  'state',
  'kind',
  'event_type',
]);

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A request's environment: an object of strings under the key `env`. */
function isEnv(key: string | undefined, value: unknown): value is Env {
  return key === 'env' && isPlainObject(value) && Object.values(value).every((v) => typeof v === 'string');
}

/** Every environment in `value` (requests, plans, rollback steps, edits, at any depth). */
function collectEnvs(value: unknown, key: string | undefined, out: Env[], depth = 0): void {
  if (depth > MAX_DEPTH) return;
  if (Array.isArray(value)) {
    for (const item of value) collectEnvs(item, key, out, depth + 1);
  } else if (isEnv(key, value)) {
    out.push(value);
  } else if (isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) collectEnvs(v, k, out, depth + 1);
  }
}

/** True when the variable's value is hidden whole (a secret name with a value). */
export function hidesValue(name: string, value: string): boolean {
  return value !== '' && isSecretName(name);
}

function redactValue(value: unknown, key: string | undefined, redact: Redactor, depth = 0): unknown {
  if (depth > MAX_DEPTH) return null;
  if (typeof value === 'string') return key !== undefined && STRUCTURAL.has(key) ? value : redact(value);
  if (Array.isArray(value)) return value.map((item) => redactValue(item, key, redact, depth + 1));
  if (isEnv(key, value)) {
    return Object.fromEntries(
      Object.entries(value).map(([name, v]) => [name, hidesValue(name, v) ? REDACTED : redact(v)]),
    );
  }
  if (isPlainObject(value))
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redactValue(v, k, redact, depth + 1)]));
  return value; // numbers, booleans, null, and anything that is not plain data
}

/**
 * The non-empty environments of a source, found once per source object: a plan of 10,000 steps
 * is the source of each of its steps' history records, and walking it for each of them made
 * recording a plan quadratic in its size. Sources are parsed requests and plans, which the
 * engine never changes in place (a step resolved from outputs is a new request object); an
 * empty environment names no secret, so only non-empty ones are kept.
 */
const sourceEnvs = new WeakMap<object, Env[]>();

function envsOfSource(source: unknown): Env[] {
  if (typeof source !== 'object' || source === null) return [];
  let envs = sourceEnvs.get(source);
  if (!envs) {
    const found: Env[] = [];
    collectEnvs(source, undefined, found);
    envs = found.filter((env) => Object.keys(env).length > 0);
    sourceEnvs.set(source, envs);
  }
  return envs;
}

/**
 * `value` with secrets replaced by `***` (the value itself when there is nothing to hide, or
 * with `redact_secrets: false`). `sources` are other data whose environments name secrets
 * that may appear in `value` (the request a listing row came from, the body a client sent).
 */
export function redactData<T>(value: T, config: { redact_secrets: boolean }, sources: readonly unknown[] = []): T {
  if (!config.redact_secrets) return value;
  const envs: Env[] = [];
  collectEnvs(value, undefined, envs);
  for (const source of sources) envs.push(...envsOfSource(source));
  const secrets = secretValues(process.env, ...envs);
  const hidden = envs.some((env) => Object.entries(env).some(([name, v]) => hidesValue(name, v)));
  if (secrets.length === 0 && !hidden) return value;
  return redactValue(value, undefined, redactorFor(secrets)) as T;
}
