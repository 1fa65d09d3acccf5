/**
 * What flows between a plan's steps. Just before a step starts (`prepareStep`), its
 * references are substituted (`${{ steps.NAME.outputs.KEY }}`, `${{ params.NAME }}`): into an
 * argument as part of that one argument, never re-split; into a shell string single-quoted; a
 * value holding a newline or NUL is refused, and so is a reference to an output that was not
 * produced: the step then fails without starting. A step declaring a `file` output gets
 * `$CLOUDOPS_OUTPUTS`, a fresh empty file for `KEY=value` lines. Once it completed, its
 * declared outputs are read (`extractOutputs`); one that cannot be read is left out.
 */
import { constants } from 'node:fs';
import { type FileHandle, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { search } from '@jmespath-community/jmespath';
import { displayCommand } from '../command/display.js';
import type { ExecutionConfig } from '../config.js';
import { type ResultError, resultError } from '../errors.js';
import { redactorFor, secretsOf } from '../policy/redaction.js';
import { Re2JobFailed, re2FirstCaptures } from '../policy/retry-matcher.js';
import {
  OUTPUTS_FILE_ENV,
  outputRegex,
  parameterText,
  parseTemplate,
  type Reference,
  referenceText,
  rewriteTemplates,
  SHELL_REF_PREFIX,
  type ShellContext,
  shellContexts,
  shellInsert,
  shellVariable,
  type TemplateField,
  templateFields,
} from '../wire/references.js';
import type { RegexPattern } from '../wire/retry-pattern.js';
import { stepIndex, stepLabel } from '../wire/step-names.js';
import type { ExecutionPlan, ExecutionRequest } from '../wire/types.js';
import type { TrackedCommand, TrackedPlan } from './tracked.js';

/** The plan a step belongs to, and which of its steps it is (a rollback step: the step it undoes). */
interface StepScope {
  plan: TrackedPlan;
  index: number;
}

const scopes = new WeakMap<TrackedCommand, StepScope>();
/** Resolved steps as shown (see `shownRequest`). */
const shownRequests = new WeakMap<TrackedCommand, ExecutionRequest>();
/** The outputs file each started step with a `file` output was given. */
const outputFiles = new WeakMap<TrackedCommand, string>();

/** `command` is step `index` of `plan` (or one of that step's rollback commands): its references resolve there. */
export function bindStep(command: TrackedCommand, plan: TrackedPlan, index: number): void {
  scopes.set(command, { plan, index });
}

/** A value that cannot be substituted: it would end a line (or a C string) inside the command. */
const UNSAFE = /[\n\0]/;

/**
 * Make `state` ready to start: references substituted, outputs file provided. Returns why it
 * cannot start (the step then fails, not started), or null.
 */
export async function prepareStep(config: ExecutionConfig, state: TrackedCommand): Promise<ResultError | null> {
  let request = state.request;
  // What is shown and logged: values in place, quoted as the shell would read them.
  let shown = request;
  if (templateFields(request).length > 0) {
    const scope = scopes.get(state) ?? null;
    let failure: ResultError | null = null;
    // A shell string never gets a value as text: it reads it from a variable of its own
    // environment ("${CLOUDOPS_REF_0}"), so no quoting mistake can make the shell parse it.
    const shellValues: Record<string, string> = {};
    const substitute = (field: TemplateField, value: string, context: ShellContext, forShow: boolean) => {
      if (field.placement !== 'shell') return value;
      if (forShow) return shellInsert(value, context);
      const name = `${SHELL_REF_PREFIX}${Object.keys(shellValues).length}`;
      shellValues[name] = value;
      return shellVariable(name, context);
    };
    const resolve = (forShow: boolean) => (field: TemplateField) => {
      const parts = parseTemplate(field.text);
      if ('problem' in parts) {
        failure ??= resultError('internal', { detail: `${field.field}: ${parts.problem}` });
        return field.text;
      }
      const contexts = field.placement === 'shell' ? shellContexts(field.text) : [];
      let nth = -1;
      return parts
        .map((part) => {
          if (typeof part === 'string' || failure) return typeof part === 'string' ? part : '';
          nth++;
          const context = contexts[nth] ?? 'plain';
          if (field.placement === 'shell' && typeof context !== 'string') {
            // Refused when the plan was checked: kept out here too.
            failure = resultError('unsafe_value', { detail: `${field.field}: ${context.problem}` });
            return '';
          }
          const found = referencedValue(scope, part);
          if ('missing' in found) {
            failure = resultError('missing_output', { detail: `${field.field} refers to ${found.missing}` });
            return '';
          }
          if (UNSAFE.test(found.value)) {
            const what = found.value.includes('\0') ? 'a NUL byte' : 'a newline';
            failure = resultError('unsafe_value', {
              detail: `${referenceText(part)} in ${field.field} holds ${what}; it is not substituted`,
            });
            return '';
          }
          return substitute(field, found.value, context as ShellContext, forShow);
        })
        .join('');
    };
    request = rewriteTemplates(request, resolve(false));
    if (failure) return failure;
    shown = rewriteTemplates(state.request, resolve(true));
    if (Object.keys(shellValues).length > 0) request = { ...request, env: { ...request.env, ...shellValues } };
  }
  if (Object.values(request.outputs).some((output) => output.file)) {
    const dir = await mkdtemp(join(tmpdir(), 'cloudops-outputs-'));
    const file = join(dir, 'outputs');
    await writeFile(file, '', { mode: 0o600 });
    outputFiles.set(state, file);
    request = { ...request, env: { ...request.env, [OUTPUTS_FILE_ENV]: file } };
    shown = { ...shown, env: request.env };
  }
  if (request !== state.request) {
    const secrets = secretsOf(request, config);
    state.resolved(request, displayOf(shown, config, secrets), secrets);
    shownRequests.set(state, shown);
  }
  return null;
}

/**
 * The resolved step as a person reads it (and as the risk policy must judge it): values in place
 * of the references, quoted as the shell reads them, not the variables the shell string reads.
 */
export function shownRequest(state: TrackedCommand): ExecutionRequest {
  return shownRequests.get(state) ?? state.request;
}

/** Before each attempt: an outputs file starts empty, so a failed attempt's lines do not count. */
export async function resetOutputs(state: TrackedCommand): Promise<void> {
  const file = outputFiles.get(state);
  if (file) await writeFile(file, '', { mode: 0o600 }).catch(() => undefined);
}

/** The most an outputs file is read of. */
const MAX_OUTPUTS_FILE_BYTES = 1024 * 1024;

/**
 * The outputs file as written by the step: a regular file (a link the step put in its place is
 * not followed), at most MAX_OUTPUTS_FILE_BYTES, its secrets hidden as in the step's output.
 */
async function readOutputsFile(file: string, state: TrackedCommand): Promise<string> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch {
    return '';
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) return '';
    const buffer = Buffer.alloc(Math.min(stat.size, MAX_OUTPUTS_FILE_BYTES));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0);
    return redactorFor(state.secrets)(buffer.subarray(0, bytesRead).toString('utf8'));
  } finally {
    await handle.close();
  }
}

function displayOf(request: ExecutionRequest, config: ExecutionConfig, secrets: readonly string[]): string {
  return redactorFor(secrets)(
    displayCommand(request.command, {
      endpointUrl: config.aws_endpoint_url,
      profile: config.aws_profile,
      region: config.aws_region,
      requestEnv: request.env,
    }),
  );
}

/**
 * For a dry run, before anything ran: the steps whose outputs `request` uses (by label), and
 * the request with its parameters substituted (references to outputs left as written).
 */
export function beforeRun(
  plan: ExecutionPlan,
  request: ExecutionRequest,
): { needs: string[]; request: ExecutionRequest } {
  const needs = new Set<string>();
  const resolved = rewriteTemplates(request, (field) => {
    const parts = parseTemplate(field.text);
    if ('problem' in parts) return field.text;
    const contexts = field.placement === 'shell' ? shellContexts(field.text) : [];
    let nth = -1;
    return parts
      .map((part) => {
        if (typeof part === 'string') return part;
        nth++;
        const text = referenceText(part);
        if (part.kind === 'output') {
          const index = stepIndex(plan, part.step);
          needs.add(index === null ? part.step : stepLabel(plan, index));
          return text;
        }
        const declared = plan.parameters[part.name];
        const given = plan.params[part.name] ?? declared?.default ?? null;
        const value = declared && given !== null ? parameterText(declared.type, given) : null;
        const context = contexts[nth] ?? 'plain';
        if (value === null || UNSAFE.test(value) || typeof context !== 'string') return text;
        return field.placement === 'shell' ? shellInsert(value, context) : value;
      })
      .join('');
  });
  return { needs: [...needs], request: resolved };
}

/** What `ref` stands for in `scope`, or what is missing. */
function referencedValue(scope: StepScope | null, ref: Reference): { value: string } | { missing: string } {
  if (!scope) return { missing: `${referenceText(ref)}, but the command is not part of a plan` };
  const { plan } = scope.plan;
  if (ref.kind === 'param') {
    const declared = plan.parameters[ref.name];
    const given = plan.params[ref.name] ?? declared?.default ?? null;
    const text = declared && given !== null ? parameterText(declared.type, given) : null;
    return text === null ? { missing: `${referenceText(ref)}, which has no value` } : { value: text };
  }
  const index = stepIndex(plan, ref.step);
  const step = index === null ? undefined : scope.plan.commands[index];
  if (index === null || !step) return { missing: `${referenceText(ref)}: there is no such step` };
  const value = step.result?.outputs[ref.key];
  if (value !== undefined) return { value };
  const label = stepLabel(plan, index);
  const why =
    step.result?.status === 'completed'
      ? `it completed without producing "${ref.key}"`
      : `it ${step.result ? `ended ${step.result.status}` : 'has not completed'}`;
  return { missing: `${referenceText(ref)}, but step ${label} did not produce it (${why})` };
}

/**
 * The declared outputs of a finished step, read from its `stdout` when it completed (null
 * otherwise); its outputs file is removed either way.
 */
export async function extractOutputs(state: TrackedCommand, stdout: string | null): Promise<Record<string, string>> {
  const file = outputFiles.get(state);
  outputFiles.delete(state);
  const fileText = file ? await readOutputsFile(file, state) : '';
  if (file) await rm(dirname(file), { recursive: true, force: true }).catch(() => undefined);
  const declared = Object.entries(state.request.outputs);
  if (stdout === null || declared.length === 0) return {};
  const outputs: Record<string, string> = {};
  let json: { value: unknown } | null | undefined;
  const lines = file ? keyValueLines(fileText) : new Map<string, string>();
  const regexes: Array<{ key: string; pattern: RegexPattern }> = [];
  for (const [key, spec] of declared) {
    if (spec.json !== undefined) {
      json ??= parseJson(stdout);
      if (!json) continue;
      const found = searchJson(json.value, spec.json);
      if (found !== null) outputs[key] = found;
    } else if (spec.regex !== undefined) {
      const pattern = outputRegex(spec.regex);
      if (!('problem' in pattern)) regexes.push({ key, pattern });
    } else if (spec.file) {
      const value = lines.get(key);
      if (value !== undefined) outputs[key] = value;
    }
  }
  if (regexes.length > 0) {
    const captures = await re2FirstCaptures(
      regexes.map((r) => r.pattern),
      stdout,
    ).catch((err: unknown) => {
      if (err instanceof Re2JobFailed) return regexes.map(() => null);
      throw err;
    });
    regexes.forEach(({ key }, i) => {
      const value = captures[i];
      if (typeof value === 'string') outputs[key] = value;
    });
  }
  // Ordered as declared.
  return Object.fromEntries(declared.flatMap(([key]) => (key in outputs ? [[key, outputs[key]!]] : [])));
}

function parseJson(text: string): { value: unknown } | null {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return null;
  }
}

/** The expression's result as text: a string as is, anything else JSON-encoded; null (nothing found) is missing. */
function searchJson(data: unknown, expression: string): string | null {
  let found: unknown;
  try {
    found = search(data as Parameters<typeof search>[0], expression);
  } catch {
    return null;
  }
  if (found === null || found === undefined) return null;
  return typeof found === 'string' ? found : JSON.stringify(found);
}

/** `KEY=value` lines, the last one for a key winning (as GitHub Actions reads `$GITHUB_OUTPUT`). */
function keyValueLines(text: string): Map<string, string> {
  const values = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    values.set(line.slice(0, eq).trim(), line.slice(eq + 1).replace(/\r$/, ''));
  }
  return values;
}
