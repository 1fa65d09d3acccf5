/**
 * Plan files for the CLI: JSON or YAML, from a path or `-` (stdin). Errors keep the
 * engine's ValidationError (field path and reason) and add where in the file the field is.
 */
import { readFile } from 'node:fs/promises';
import { isMap, isSeq, parseDocument, type Document } from 'yaml';
import { ValidationError, type ValidationIssue } from '../errors.js';
import { parsePlan } from '../wire/parse.js';
import type { ExecutionPlan } from '../wire/types.js';

export interface PlanSource {
  /** Display name: the path, or `<stdin>`. */
  name: string;
  text: string;
}

/** An issue with its place in the file, when it can be found. */
export interface LocatedIssue extends ValidationIssue {
  line: number | null;
  column: number | null;
}

/** A plan file that could not be loaded; `issues` point into the file. */
export class PlanFileError extends Error {
  constructor(
    readonly source: string,
    readonly issues: LocatedIssue[],
    override readonly cause?: unknown,
  ) {
    super(issues.map((i) => formatIssue(source, i)).join('\n'));
    this.name = 'PlanFileError';
  }
}

export function formatIssue(source: string, issue: LocatedIssue): string {
  const where = issue.line !== null ? `${source}:${issue.line}:${issue.column}` : source;
  const field = issue.field ? `${issue.field}: ` : '';
  return `${where}: ${field}${issue.reason} [${issue.code}]`;
}

export async function readPlanSource(path: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<PlanSource> {
  if (path === '-') {
    const chunks: Buffer[] = [];
    for await (const chunk of stdin) chunks.push(Buffer.from(chunk as Buffer));
    return { name: '<stdin>', text: Buffer.concat(chunks).toString('utf8') };
  }
  try {
    return { name: path, text: await readFile(path, 'utf8') };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message;
    throw new PlanFileError(path, [{ code: 'InvalidField', field: '', reason: `cannot read plan file (${reason})`, line: null, column: null }], err);
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
    if (isMap(node)) next = node.items.find((p) => String((p.key as { value?: unknown })?.value ?? p.key) === String(key))?.value;
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

function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

/** Strict JSON (no trailing commas, no comments: what the crate's serde_json accepts). */
function parseJson(source: PlanSource): unknown {
  try {
    return JSON.parse(source.text);
  } catch (err) {
    const message = (err as Error).message;
    const at = /at position (\d+)/.exec(message);
    const place = at ? lineColumnAt(source.text, Number(at[1])) : { line: null, column: null };
    throw new PlanFileError(source.name, [{ code: 'InvalidField', field: '', reason: `not valid JSON: ${message}`, ...place }], err);
  }
}

/** Parse a plan source (JSON or YAML); structure is validated, the config-aware checks are the engine's. */
export function parsePlanSource(source: PlanSource): ExecutionPlan {
  const json = isJson(source) ? parseJson(source) : undefined;
  // YAML 1.2 is a superset of JSON, so one parser locates fields in either format.
  const doc = parseDocument(source.text, { prettyErrors: false, uniqueKeys: true });
  if (json === undefined && doc.errors.length > 0) {
    throw new PlanFileError(
      source.name,
      doc.errors.map((e) => ({
        code: 'InvalidField' as const,
        field: '',
        reason: `not valid YAML: ${e.message.split('\n')[0]}`,
        line: e.linePos?.[0]?.line ?? null,
        column: e.linePos?.[0]?.col ?? null,
      })),
    );
  }
  const data: unknown = json !== undefined ? json : doc.toJS();
  if (data === null || data === undefined) {
    throw new PlanFileError(source.name, [{ code: 'InvalidPlan', field: '', reason: 'the plan file is empty', line: null, column: null }]);
  }
  try {
    return parsePlan(data);
  } catch (err) {
    if (err instanceof ValidationError) throw locateIssues(source, err, doc);
    throw err;
  }
}

/** Attach file positions to a ValidationError's issues. */
export function locateIssues(source: PlanSource, err: ValidationError, doc?: Document): PlanFileError {
  const document = doc ?? parseDocument(source.text);
  return new PlanFileError(
    source.name,
    err.issues.map((issue) => ({ ...issue, ...(locate(document, source.text, issue.field) ?? { line: null, column: null }) })),
    err,
  );
}
