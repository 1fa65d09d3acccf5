/**
 * Plan files for the CLI: JSON or YAML, from a path or `-` (stdin). Errors keep the
 * engine's ValidationError (field path and reason) and add where in the file the field is.
 */
import { randomUUID } from 'node:crypto';
import { open } from 'node:fs/promises';
import { type Document, isMap, isSeq, parseDocument } from 'yaml';
import { ValidationError } from '../errors.js';
import { printable } from '../sinks/control-chars.js';
import { checkPlanSize, type PlanLimits, parsePlan } from '../wire/parse.js';
import {
  collectionKey,
  expandedSize,
  lineColumnAt,
  parseYamlDocument,
  unresolvedAlias,
  YamlLoadError,
  yamlData,
  yamlDepthIssue,
  yamlSyntaxIssues,
} from '../wire/plan-text.js';
import type { ExecutionPlan } from '../wire/types.js';
import { type LocatedIssue, PlanFileError } from './plan-file-error.js';

/** A plan file larger than this is refused before it is read whole (10,000 commands are about 1 MiB). */
export const MAX_PLAN_FILE_BYTES = 16 * 1024 * 1024;
/** Issues in larger JSON files are reported without line numbers (finding them means parsing the file again). */
const MAX_LOCATE_CHARS = 512 * 1024;

export interface PlanSource {
  /** Display name: the path, or `<stdin>`. */
  name: string;
  text: string;
}

function fileIssue(reason: string): LocatedIssue {
  return { code: 'InvalidField', field: '', reason, line: null, column: null };
}

/** Everything `input` yields, or a PlanFileError once it passes MAX_PLAN_FILE_BYTES (the rest is never read). */
async function readBounded(name: string, input: AsyncIterable<unknown>): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string);
    size += buffer.length;
    if (size > MAX_PLAN_FILE_BYTES) {
      throw new PlanFileError(name, [
        fileIssue(`the plan file is larger than ${MAX_PLAN_FILE_BYTES} bytes (16 MiB), the most a plan file may be`),
      ]);
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

export async function readPlanSource(path: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<PlanSource> {
  if (path === '-') return { name: '<stdin>', text: await readBounded('<stdin>', stdin) };
  let handle;
  try {
    handle = await open(path, 'r');
    const stat = await handle.stat();
    // A regular file says its size: too large is refused before reading. Pipes (`<(...)`) are read up to the bound.
    if (stat.isFile() && stat.size > MAX_PLAN_FILE_BYTES) {
      throw new PlanFileError(path, [
        fileIssue(
          `the plan file is ${stat.size} bytes, more than the ${MAX_PLAN_FILE_BYTES} (16 MiB) a plan file may be`,
        ),
      ]);
    }
    return { name: path, text: await readBounded(path, handle.createReadStream({ autoClose: false })) };
  } catch (err) {
    if (err instanceof PlanFileError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR')
      throw new PlanFileError(
        path,
        [{ ...fileIssue('cannot read plan file (no such file)'), code: 'FileNotFound' }],
        err,
      );
    const reason = code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new PlanFileError(path, [fileIssue(`cannot read plan file (${reason})`)], err);
  } finally {
    await handle?.close();
  }
}

/** `commands[2].command.type` -> ['commands', 2, 'command', 'type'] */
function pathOf(field: string): Array<string | number> {
  const out: Array<string | number> = [];
  for (const m of field.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]!);
  return out;
}

function locate(doc: Document, text: string, field: string): { line: number; column: number } | null {
  // Walk down as far as the path exists: a missing field is reported at its parent.
  let node: unknown = doc.contents;
  for (const key of pathOf(field)) {
    let next: unknown;
    if (isMap(node))
      next = node.items.find((p) => String((p.key as { value?: unknown })?.value ?? p.key) === String(key))?.value;
    else if (isSeq(node) && typeof key === 'number') next = node.items[key];
    if (next === undefined || next === null) break;
    node = next;
  }
  const range = (node as { range?: [number, number, number] } | null)?.range;
  return range ? lineColumnAt(text, range[0]) : null;
}

/** JSON when the file says so (extension) or looks so (first character); YAML otherwise. */
function isJson(source: PlanSource): boolean {
  if (/\.json$/i.test(source.name)) return true;
  if (/\.ya?ml$/i.test(source.name)) return false;
  return /^\s*[{[]/.test(source.text);
}

/** Strict JSON (no trailing commas, no comments: what the crate's serde_json accepts). */
function parseJson(source: PlanSource): unknown {
  try {
    return JSON.parse(source.text);
  } catch (err) {
    const message = (err as Error).message;
    const at = /at position (\d+)/.exec(message);
    const place = at ? lineColumnAt(source.text, Number(at[1])) : { line: null, column: null };
    throw new PlanFileError(
      source.name,
      [{ code: 'InvalidField', field: '', reason: `not valid JSON: ${message}`, ...place }],
      err,
    );
  }
}

/** YAML to plain data, with aliases bounded; a document that cannot be loaded is a PlanFileError saying why. */
function loadYaml(source: PlanSource, doc: Document, limits: PlanLimits | undefined): unknown {
  // The command count first: building every command's object is the per-command work a limit is for.
  const commands = isMap(doc.contents) ? doc.get('commands', true) : undefined;
  if (limits && isSeq(commands)) {
    try {
      checkPlanSize({ commands: commands.items.map(() => null) }, limits);
    } catch (err) {
      if (err instanceof ValidationError) throw locateIssues(source, err, doc);
      throw err;
    }
  }
  const refused = unresolvedAlias(doc, source.text) ?? collectionKey(doc, source.text);
  if (refused) throw new PlanFileError(source.name, [{ code: 'InvalidField', field: '', ...refused }]);
  // Plan files keep their aliases (a shared env block is what people write them for), unlike
  // request bodies (wire/plan-text.ts refuses them there), but written out they are held to
  // the bound the file itself is: a small file may not expand past MAX_PLAN_FILE_BYTES.
  if (expandedSize(doc, MAX_PLAN_FILE_BYTES) > MAX_PLAN_FILE_BYTES) {
    throw new PlanFileError(source.name, [
      fileIssue(
        `not loadable as YAML: its aliases expand too much (past ${MAX_PLAN_FILE_BYTES} bytes (16 MiB) written out, the most a plan file may be)`,
      ),
    ]);
  }
  try {
    return yamlData(doc);
  } catch (err) {
    if (err instanceof YamlLoadError) throw new PlanFileError(source.name, [fileIssue(err.reason)], err.cause);
    throw err;
  }
}

/**
 * Parse a plan source (JSON or YAML); structure is validated, the config-aware checks are the
 * engine's, except the plan size (`limits`), checked before any command is parsed.
 */
export function parsePlanSource(
  source: PlanSource,
  limits?: PlanLimits,
  /** The command's options; `newIds` (`run --new-ids`) gives the plan fresh ids (`withNewIds`). */
  options: object = {},
): ExecutionPlan {
  const json = isJson(source) ? parseJson(source) : undefined;
  // YAML 1.2 is a superset of JSON, so one parser locates fields in either format; a JSON
  // file is parsed as YAML only when an error needs locating.
  // Nesting past the JSON path's bound is refused before parsing: `yaml` is slow over it.
  const tooDeep = json === undefined ? yamlDepthIssue(source.text) : null;
  if (tooDeep) throw new PlanFileError(source.name, [{ code: 'InvalidField', field: '', ...tooDeep }]);
  const doc = json === undefined ? parseYamlDocument(source.text) : undefined;
  const syntax = doc ? yamlSyntaxIssues(doc, source.text) : [];
  if (syntax.length > 0) {
    throw new PlanFileError(
      source.name,
      syntax.map((issue) => ({ code: 'InvalidField' as const, field: '', ...issue })),
    );
  }
  const data: unknown = doc ? loadYaml(source, doc, limits) : json;
  if (data === null || data === undefined) {
    throw new PlanFileError(source.name, [
      { code: 'InvalidPlan', field: '', reason: 'the plan file is empty', line: null, column: null },
    ]);
  }
  try {
    const plan = parsePlan(data, {
      ...limits,
      // Dropped on request, but never silently: a misspelt `timeout` would otherwise mean no timeout.
      onUnknownFields: (fields) =>
        process.stderr.write(
          `${source.name}: ignored unknown field${fields.length === 1 ? '' : 's'}: ${printable(fields.join(', '))}\n`,
        ),
    });
    return (options as { newIds?: boolean }).newIds === true ? withNewIds(plan) : plan;
  } catch (err) {
    if (err instanceof ValidationError) throw locateIssues(source, err, doc);
    throw err;
  }
}

/** Attach file positions to a ValidationError's issues. */
export function locateIssues(source: PlanSource, err: ValidationError, doc?: Document): PlanFileError {
  // Parsing a large JSON file again as YAML only to find line numbers costs more than they are worth.
  const document = doc ?? (source.text.length <= MAX_LOCATE_CHARS ? parseDocument(source.text) : null);
  return new PlanFileError(
    source.name,
    err.issues.map((issue) => ({
      ...issue,
      ...((document && locate(document, source.text, issue.field)) ?? { line: null, column: null }),
    })),
    err,
  );
}

/**
 * `run --new-ids`: the plan again under fresh ids (the plan, its commands and their rollback
 * steps), so a plan file with fixed ids can run again without touching the earlier run's logs
 * and history. Dependencies name commands by index, so they stay as they are.
 */
export function withNewIds(plan: ExecutionPlan): ExecutionPlan {
  return {
    ...plan,
    id: randomUUID(),
    commands: plan.commands.map((command) => ({
      ...command,
      id: randomUUID(),
      rollback: command.rollback.map((step) => ({ ...step, id: randomUUID() })),
    })),
  };
}
