/**
 * Secrets never leave the server: everything it sends a client (every JSON answer, approval
 * events on the WebSocket and SSE streams, the listings) passes through `redactData`
 * (policy/redact-data.ts). An approver edits what they were shown, `***` included:
 * `restoreRedacted` puts back the values that were hidden, but only into a request whose
 * command, environment and working dir are left as shown.
 */
import type { ExecutionConfig } from '../config.js';
import { ValidationError } from '../errors.js';
import { type Env, isPlainObject, redactData } from '../policy/redact-data.js';
import { REDACTED } from '../policy/redaction.js';
import type { ExecutionPlan, ExecutionRequest } from '../wire/types.js';

type RedactionConfig = Pick<ExecutionConfig, 'redact_secrets'>;

/** A command, or a rollback step (which has no rollback steps of its own). */
type AnyRequest = Omit<ExecutionRequest, 'rollback'> & { rollback?: AnyRequest[] };

interface Shown {
  original: AnyRequest;
  shown: AnyRequest;
}

/** Each request of a plan (commands and rollback steps) by id, as submitted and as shown. */
function requestsById(original: readonly AnyRequest[], shown: readonly AnyRequest[], out: Map<string, Shown>): void {
  original.forEach((request, i) => {
    const seen = shown[i]!;
    out.set(request.id, { original: request, shown: seen });
    requestsById(request.rollback ?? [], seen.rollback ?? [], out);
  });
}

/** `edited`, with each string that is exactly what was shown in place of a hidden value put back. */
function restoreStrings(edited: unknown, shown: unknown, original: unknown): unknown {
  if (typeof edited === 'string')
    return edited === shown && typeof original === 'string' && shown !== original ? original : edited;
  if (Array.isArray(edited)) {
    return edited.map((item, i) =>
      restoreStrings(
        item,
        Array.isArray(shown) ? shown[i] : undefined,
        Array.isArray(original) ? original[i] : undefined,
      ),
    );
  }
  if (isPlainObject(edited)) {
    const inShown = isPlainObject(shown) ? shown : {};
    const inOriginal = isPlainObject(original) ? original : {};
    return Object.fromEntries(
      Object.entries(edited).map(([k, v]) => [k, restoreStrings(v, inShown[k], inOriginal[k])]),
    );
  }
  return edited;
}

/** What decides what a request does with its environment: must be unchanged for hidden values to be kept. */
function ownPart(request: AnyRequest): string {
  return JSON.stringify([request.command, request.env, request.working_dir]);
}

function restoreRequest<R extends AnyRequest>(
  edited: R,
  known: ReadonlyMap<string, Shown>,
  redacting: boolean,
  at: string,
): R {
  // Hidden values go back only into a request left exactly as shown: an edited one could send
  // them somewhere (`printf %s "$API_TOKEN" | rev`), and the approver never saw them.
  const found = known.get(edited.id);
  for (const [name, value] of Object.entries(edited.env)) {
    if (value === REDACTED && redacting && found?.shown.env[name] !== REDACTED) {
      throw ValidationError.of(
        'InvalidField',
        `${at}env.${name}`,
        `"${REDACTED}" stands for a secret the server hid, but command ${edited.id} had no hidden value for ${name} to keep: give the value itself (keep a command's id to keep its secrets)`,
      );
    }
  }
  const match = found && ownPart(found.shown) === ownPart(edited) ? found : undefined;
  const env: Env = {};
  for (const [name, value] of Object.entries(edited.env)) {
    const original = match?.original.env[name];
    const shown = match?.shown.env[name];
    if (value === shown && original !== undefined) {
      env[name] = original;
    } else if (value === REDACTED && redacting) {
      throw ValidationError.of(
        'InvalidField',
        `${at}env.${name}`,
        `"${REDACTED}" stands for a secret the server hid, and command ${edited.id} was edited (its command, environment or working dir): hidden values are kept only for a command whose effect is unchanged, so give the value itself`,
      );
    } else {
      env[name] = value;
    }
  }
  const { env: _env, rollback, ...rest } = edited;
  const restored = (match ? restoreStrings(rest, match.shown, match.original) : rest) as typeof rest;
  if (rollback === undefined) return { ...restored, env } as R;
  return {
    ...restored,
    env,
    rollback: rollback.map((step, j) => restoreRequest(step, known, redacting, `${at}rollback[${j}].`)),
  } as R;
}

/**
 * An approver's edit of `original`, with the values hidden from them put back: where the edit
 * has exactly what the approver was shown for a request with the same id (`***` for a
 * secret-named variable, or a text with `***` in place of a secret), the original value runs.
 * A `***` for a variable the request with that id did not hide is refused (400, naming the
 * field): the server cannot know what it stands for.
 */
export function restoreRedacted(
  original: ExecutionPlan,
  edited: ExecutionPlan,
  config: RedactionConfig,
  prefix = '',
): ExecutionPlan {
  const shown = redactData(original, config);
  const known = new Map<string, Shown>();
  requestsById(original.commands, shown.commands, known);
  const { commands, ...rest } = edited;
  const plan = restoreStrings(rest, shown, original) as typeof rest;
  return {
    ...plan,
    commands: commands.map((c, i) => restoreRequest(c, known, config.redact_secrets, `${prefix}commands[${i}].`)),
  };
}
