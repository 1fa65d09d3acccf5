/**
 * Plans and requests written as YAML (a plan file, an HTTP body): the parse, where in the
 * text a problem is (line and column), and the bound on aliases. The CLI's plan files and the
 * server's YAML bodies share it.
 */
import { type Document, isAlias, isCollection, isScalar, type Node, parseDocument, visit } from 'yaml';
import { ValidationError } from '../errors.js';
import { MAX_INPUT_DEPTH } from './parse.js';

/**
 * YAML aliases a document may resolve. Each alias copies its anchor's value: nested ones
 * multiply ("billion laughs"), so a few hundred bytes could expand to gigabytes.
 */
export const MAX_YAML_ALIASES = 100;

/** Syntax errors reported one by one; past this many, the rest are counted ("and N more"). */
export const MAX_YAML_ERRORS = 20;

/** A problem in the text, at its place when it is known (1-based line and column). */
export interface TextIssue {
  reason: string;
  line: number | null;
  column: number | null;
}

/** The offset of each line's first character, built once: a place is then a binary search. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  return starts;
}

/** The 1-based line and column of `offset`, from `lineStarts(text)`. */
export function placeIn(starts: readonly number[], offset: number): { line: number; column: number } {
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (starts[mid]! <= offset) lo = mid;
    else hi = mid - 1;
  }
  return { line: lo + 1, column: offset - starts[lo]! + 1 };
}

/** One place in `text` (for many, build `lineStarts` once and use `placeIn`). */
export function lineColumnAt(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line++;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

const isBlank = (c: string | undefined) => c === undefined || c === ' ' || c === '\t' || c === '\n' || c === '\r';

/**
 * Nesting deeper than the JSON path allows (MAX_INPUT_DEPTH), found by one linear scan of the
 * text before it is parsed: `yaml` takes seconds over `[[[[...` or `- - - -...` a few hundred
 * KB long (and can run out of memory or stack), while such input is refused after parsing anyway.
 * The scan counts only what surely nests (flow brackets outside quotes and comments; `- ` and
 * `? ` markers; a `key:` or `-` ending a line, under which more indented lines nest; block
 * scalars' content is skipped), so it refuses no document the JSON path would take.
 */
export function yamlDepthIssue(text: string): TextIssue | null {
  // Containers: the JSON path refuses an object or array below MAX_INPUT_DEPTH keys, the 66th level.
  const limit = MAX_INPUT_DEPTH + 1;
  const tooDeep = (offset: number): TextIssue => ({
    reason: `nested more than ${MAX_INPUT_DEPTH} levels deep`,
    ...lineColumnAt(text, offset),
  });
  let flow = 0;
  let quote: '"' | "'" | null = null;
  let blockScalarIndent = -1; // lines indented more than this are a block scalar's content
  const open: Array<{ indent: number; depth: number }> = []; // block nodes whose content is on the lines below
  const n = text.length;
  for (let lineStart = 0; lineStart < n; ) {
    let end = text.indexOf('\n', lineStart);
    if (end === -1) end = n;
    let i = lineStart;
    while (i < end && text[i] === ' ') i++;
    const indent = i - lineStart;
    const blank = i >= end || text[i] === '\r' || text[i] === '#';
    if (blockScalarIndent >= 0 && !quote) {
      if (blank || indent > blockScalarIndent) {
        lineStart = end + 1;
        continue;
      }
      blockScalarIndent = -1;
    }
    const block = !quote && flow === 0 && !blank;
    let depth = 0; // the block nodes this line is in
    let tokenStart = true;
    let keyed = false;
    if (block) {
      while (open.length > 0 && open.at(-1)!.indent >= indent) open.pop();
      depth = open.at(-1)?.depth ?? 0;
      // Document markers and directives nest nothing; `- ` and `? ` open a node each.
      if (/^(---|\.\.\.)(?=\s|$)/.test(text.slice(i, i + 4))) i += 3;
      else if (text[i] === '%') i = end;
      for (;;) {
        while (i < end && isBlank(text[i])) i++;
        if (i >= end || (text[i] !== '-' && text[i] !== '?') || !isBlank(text[i + 1])) break;
        if (++depth > limit) return tooDeep(i);
        i++;
      }
    }
    for (; i < end; i++) {
      const c = text[i]!;
      if (quote) {
        if (c === '\\' && quote === '"') i++;
        else if (c === quote) {
          if (quote === "'" && text[i + 1] === "'") i++;
          else {
            quote = null;
            tokenStart = false;
          }
        }
        continue;
      }
      if (c === ' ' || c === '\t' || c === '\r') continue;
      const prev = i === lineStart ? ' ' : text[i - 1]!;
      if (c === '#' && isBlank(prev)) break;
      if (flow > 0) {
        if (c === '[' || c === '{') {
          if (depth + ++flow > limit) return tooDeep(i);
        } else if (c === ']' || c === '}') flow--;
        else if ((c === '"' || c === "'") && (isBlank(prev) || '[{,:?'.includes(prev))) quote = c;
        continue;
      }
      if (tokenStart) {
        if (c === '[' || c === '{') {
          if (depth + ++flow > limit) return tooDeep(i);
        } else if (c === '"' || c === "'") quote = c;
        else if (c === '|' || c === '>') {
          blockScalarIndent = indent;
          tokenStart = false;
          break;
        } else if (c === '&' || c === '!') {
          while (i + 1 < end && !isBlank(text[i + 1])) i++; // an anchor or tag: the node follows it
        } else tokenStart = false;
        continue;
      }
      if (c === ':' && isBlank(text[i + 1])) {
        tokenStart = true; // a key's value follows
        if (!keyed && block) {
          keyed = true;
          if (++depth > limit) return tooDeep(i);
        }
      }
    }
    // A line that ends open (`key:`, `-`) holds the more indented lines below it.
    if (block && tokenStart && flow === 0 && !quote && blockScalarIndent < 0) open.push({ indent, depth });
    lineStart = end + 1;
  }
  return null;
}

/** The document (duplicate keys are errors), not yet turned into data. */
export function parseYamlDocument(text: string): Document {
  return parseDocument(text, { prettyErrors: false, uniqueKeys: true });
}

/**
 * The document's syntax errors and warnings (an unknown tag such as `!!js/function` would
 * otherwise be read as plain text), each at its place: the first MAX_YAML_ERRORS, then how
 * many more there are. Places come from one table of line starts, so many errors cost no
 * more than the text's size.
 */
export function yamlSyntaxIssues(doc: Document, text: string): TextIssue[] {
  const all = [...doc.errors, ...doc.warnings];
  let starts: number[] | null = null;
  const issues: TextIssue[] = all.slice(0, MAX_YAML_ERRORS).map((e) => {
    const offset = e.pos?.[0];
    // With prettyErrors off, `yaml` gives the offset only: the place is computed from it.
    const place = offset === undefined ? { line: null, column: null } : placeIn((starts ??= lineStarts(text)), offset);
    return { reason: `not valid YAML: ${e.message.split('\n')[0]}`, ...place };
  });
  if (all.length > MAX_YAML_ERRORS)
    issues.push({
      reason: `not valid YAML: and ${all.length - MAX_YAML_ERRORS} more problems`,
      line: null,
      column: null,
    });
  return issues;
}

const at = (node: { range?: [number, number, number] | null }, text: string) =>
  node.range ? lineColumnAt(text, node.range[0]) : { line: null, column: null };

/** The first key that is a list or a mapping (`? [a, b] : c`): data keys are text. */
export function collectionKey(doc: Document, text: string): TextIssue | null {
  let found: TextIssue | null = null;
  visit(doc, {
    Pair(_key, pair) {
      let key = pair.key as Node | null;
      if (isAlias(key)) key = (key.resolve(doc) as Node | undefined) ?? null;
      if (!isCollection(key)) return undefined;
      found = {
        reason: 'not valid YAML here: a key must be a scalar (text or a number), not a list or a mapping',
        ...at(pair.key as Node, text),
      };
      return visit.BREAK;
    },
  });
  return found;
}

/** The first alias, at its place: request bodies refuse them (see parseYamlText). */
export function firstAlias(doc: Document, text: string): TextIssue | null {
  let found: TextIssue | null = null;
  visit(doc, {
    Alias(_key, node) {
      found = {
        reason: `YAML aliases (*${node.source}) are not accepted in request bodies; write the value out`,
        ...at(node, text),
      };
      return visit.BREAK;
    },
  });
  return found;
}

/**
 * The size the document's data would have with every alias written out (characters of text
 * plus one per node), or Infinity once it passes `max`. Each anchor's size is computed once,
 * so this costs no more than the document's nodes.
 */
export function expandedSize(doc: Document, max: number): number {
  const anchors = new Map<string, number>();
  const size = (node: unknown): number => {
    if (isAlias(node)) return anchors.get(node.source) ?? 0;
    let total = 1;
    if (isScalar(node)) total += typeof node.value === 'string' ? node.value.length : String(node.value).length;
    else if (isCollection(node))
      for (const item of node.items as unknown[]) {
        if (item && typeof item === 'object' && 'key' in item && 'value' in item)
          total += size((item as { key: unknown }).key) + size((item as { value: unknown }).value);
        else total += size(item);
        if (total > max) return Number.POSITIVE_INFINITY;
      }
    const anchor = (node as { anchor?: string } | null)?.anchor;
    if (anchor) anchors.set(anchor, total);
    return total;
  };
  return size(doc.contents);
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
      const place = at(node, text);
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

const refusal = (issues: TextIssue[]) =>
  new ValidationError(issues.map((i) => ({ code: 'InvalidField' as const, field: '', reason: placed(i) })));

/**
 * YAML text (a request body) to data, or a ValidationError of the whole document whose
 * reasons say the line and column of each problem. Aliases are refused, not expanded: the
 * body limit bounds the text, and an alias would let a body within it expand past it (a
 * 900 KB string aliased 99 times is 90 MB of arguments); a request with its values written
 * out is held to the limit like JSON.
 */
export function parseYamlText(text: string): unknown {
  const tooDeep = yamlDepthIssue(text);
  if (tooDeep) throw refusal([tooDeep]);
  const doc = parseYamlDocument(text);
  const syntax = yamlSyntaxIssues(doc, text);
  if (syntax.length > 0) throw refusal(syntax);
  const refused = firstAlias(doc, text) ?? collectionKey(doc, text);
  if (refused) throw refusal([refused]);
  try {
    return yamlData(doc);
  } catch (err) {
    if (err instanceof YamlLoadError) throw ValidationError.of('InvalidField', '', err.reason);
    throw err;
  }
}
