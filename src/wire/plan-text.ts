/**
 * Plans and requests written as YAML (a plan file, an HTTP body): the parse, where in the
 * text a problem is (line and column), and the bound on aliases. The CLI's plan files and the
 * server's YAML bodies share it.
 */
import { type Document, isAlias, parseDocument, visit } from 'yaml';
import { ValidationError } from '../errors.js';

/**
 * YAML aliases a document may resolve. Each alias copies its anchor's value: nested ones
 * multiply ("billion laughs"), so a few hundred bytes could expand to gigabytes.
 */
export const MAX_YAML_ALIASES = 100;

/** A problem in the text, at its place when it is known (1-based line and column). */
export interface TextIssue {
  reason: string;
  line: number | null;
  column: number | null;
}

export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  return { line: before.split('\n').length, column: offset - before.lastIndexOf('\n') };
}

/** The document (duplicate keys are errors), not yet turned into data. */
export function parseYamlDocument(text: string): Document {
  return parseDocument(text, { prettyErrors: false, uniqueKeys: true });
}

/** The document's syntax errors, each at its place. */
export function yamlSyntaxIssues(doc: Document, text: string): TextIssue[] {
  return doc.errors.map((e) => ({
    reason: `not valid YAML: ${e.message.split('\n')[0]}`,
    // With prettyErrors off, `yaml` gives the offset only: the place is computed from it.
    ...(e.linePos?.[0]
      ? { line: e.linePos[0].line, column: e.linePos[0].col }
      : e.pos?.[0] !== undefined
        ? lineColumnAt(text, e.pos[0])
        : { line: null, column: null }),
  }));
}

/**
 * The first alias whose anchor is not set before it, at its place. `yaml` would throw a
 * ReferenceError for it while building the data, the same error an alias bomb gets: found
 * here first, it is reported as what it is. One walk in document order, so a document of
 * many aliases costs no more than its size.
 */
export function unresolvedAlias(doc: Document, text: string): TextIssue | null {
  const anchors = new Set<string>();
  let found: TextIssue | null = null;
  visit(doc, {
    Node(_key, node) {
      if (!isAlias(node)) {
        if (node.anchor) anchors.add(node.anchor);
        return undefined;
      }
      if (anchors.has(node.source)) return undefined;
      const place = node.range ? lineColumnAt(text, node.range[0]) : { line: null, column: null };
      found = { reason: `not valid YAML: alias *${node.source} has no anchor before it`, ...place };
      return visit.BREAK;
    },
  });
  return found;
}

/** A document that parsed but cannot be turned into data; `reason` says why. */
export class YamlLoadError extends Error {
  constructor(
    readonly reason: string,
    override readonly cause: unknown,
  ) {
    super(reason);
    this.name = 'YamlLoadError';
  }
}

/** The document as plain data, its aliases bounded by MAX_YAML_ALIASES (check `unresolvedAlias` first). */
export function yamlData(doc: Document): unknown {
  try {
    return doc.toJS({ maxAliasCount: MAX_YAML_ALIASES });
  } catch (err) {
    // Every alias has its anchor (checked before), so a ReferenceError from `yaml` means one it
    // would not expand: past maxAliasCount (an alias bomb). Deep nesting can overflow the stack (a RangeError).
    throw new YamlLoadError(
      err instanceof ReferenceError
        ? `not loadable as YAML: its aliases expand too much (more than ${MAX_YAML_ALIASES} alias uses; a "billion laughs" document?)`
        : `not loadable as YAML: ${(err as Error).message}`,
      err,
    );
  }
}

const placed = (issue: TextIssue) =>
  issue.line !== null ? `${issue.reason} (at line ${issue.line}, column ${issue.column})` : issue.reason;

/**
 * YAML text (a request body) to data, or a ValidationError of the whole document whose
 * reasons say the line and column of each problem.
 */
export function parseYamlText(text: string): unknown {
  const doc = parseYamlDocument(text);
  const issues = doc.errors.length > 0 ? yamlSyntaxIssues(doc, text) : [unresolvedAlias(doc, text)].filter((i) => !!i);
  if (issues.length > 0)
    throw new ValidationError(issues.map((i) => ({ code: 'InvalidField', field: '', reason: placed(i) })));
  try {
    return yamlData(doc);
  } catch (err) {
    if (err instanceof YamlLoadError) throw ValidationError.of('InvalidField', '', err.reason);
    throw err;
  }
}
