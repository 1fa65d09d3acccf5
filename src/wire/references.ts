/**
 * References inside a plan's commands, and the values they stand for.
 *
 * `${{ steps.NAME.outputs.KEY }}` is an output of an earlier step (NAME is its `name` or its
 * index) and `${{ params.NAME }}` a parameter of the plan. They may appear in the fields
 * `templateFields` lists: exec and aws_cli arguments, a shell command string, SDK parameter
 * values (strings, at any depth), environment values and the working directory. Every `${{`
 * in those fields must open a reference: a typo is an error, never passed on as text.
 *
 * The engine substitutes them just before the step starts (engine/step-outputs.ts): in an
 * argument the value replaces the reference inside that one argument (never re-split); in a
 * shell string it is quoted for where it stands (`shellContexts`, `shellInsert`: single-quoted
 * outside quotes, escaped inside double quotes), so the shell reads it as text and runs
 * nothing in it. A value holding a newline or NUL is refused.
 */

import { parseRetryPattern, type RegexPattern } from './retry-pattern.js';

export type Reference =
  /** `step`: the step's name or index, as written. */
  { kind: 'output'; step: string; key: string } | { kind: 'param'; name: string };

/** A field's text cut into literal pieces and references. */
export type TemplatePart = string | Reference;

const OPEN = '${{';
const CLOSE = '}}';
const STEP_OUTPUT = /^steps\.([a-z0-9_-]{1,64})\.outputs\.([A-Za-z_][A-Za-z0-9_]*)$/;
const PARAM = /^params\.([a-z_][a-z0-9_]*)$/;

/** What a plan parameter's name may be. */
export const PARAMETER_NAME_PATTERN = /^[a-z_][a-z0-9_]*$/;
/** What a step output's key may be (it is also the `key=` of an outputs file line). */
export const OUTPUT_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The environment variable naming the file a step with `{file: true}` outputs writes `key=value` lines to. */
export const OUTPUTS_FILE_ENV = 'CLOUDOPS_OUTPUTS';

export function hasReferences(text: string): boolean {
  return text.includes(OPEN);
}

/** `text` as literal pieces and references, or why it cannot be read. */
export function parseTemplate(text: string): TemplatePart[] | { problem: string } {
  const parts: TemplatePart[] = [];
  let at = 0;
  for (;;) {
    const open = text.indexOf(OPEN, at);
    if (open === -1) break;
    if (open > at) parts.push(text.slice(at, open));
    const close = text.indexOf(CLOSE, open + OPEN.length);
    if (close === -1) return { problem: `"${OPEN}" at character ${open} is not closed with "${CLOSE}"` };
    const inner = text.slice(open + OPEN.length, close).trim();
    const output = STEP_OUTPUT.exec(inner);
    const param = PARAM.exec(inner);
    if (output) parts.push({ kind: 'output', step: output[1]!, key: output[2]! });
    else if (param) parts.push({ kind: 'param', name: param[1]! });
    else
      return {
        problem: `"${OPEN} ${inner} ${CLOSE}" is not a reference: write ${OPEN} steps.NAME.outputs.KEY ${CLOSE} or ${OPEN} params.NAME ${CLOSE}`,
      };
    at = close + CLOSE.length;
  }
  if (at < text.length) parts.push(text.slice(at));
  return parts;
}

/** How a reference is written (for messages). */
export function referenceText(ref: Reference): string {
  return ref.kind === 'param'
    ? `${OPEN} params.${ref.name} ${CLOSE}`
    : `${OPEN} steps.${ref.step}.outputs.${ref.key} ${CLOSE}`;
}

/** How a substituted value is placed: as (part of) one argument or other text, or quoted for a shell. */
export type Placement = 'text' | 'shell';

/** One field of a request that may hold references: where it is, its text, and how values go into it. */
export interface TemplateField {
  /** Relative to the request: `command.args[1]`, `env.REGION`, `command.parameters.Tags[0].Value`. */
  field: string;
  text: string;
  placement: Placement;
}

/** The parts of a request references may stand in (structural: the wire types are built from the schema, which uses this module). */
type TemplateCommand =
  | { type: 'exec' | 'aws_cli'; args: string[] }
  | { type: 'shell'; command: string }
  | { type: 'sdk'; parameters: Record<string, unknown> }
  | { type: 'script' };
export interface RequestLike {
  command: TemplateCommand;
  env: Record<string, string>;
  working_dir: string | null;
}

/**
 * Every field of `request` that holds `${{`, in a fixed order. `rewrite`, when given, returns
 * the field's new text: the request returned is a copy with those fields replaced.
 */
function walk<R extends RequestLike>(request: R, visit: (field: TemplateField) => string | undefined): R {
  const text = (field: string, value: string, placement: Placement): string =>
    hasReferences(value) ? (visit({ field, text: value, placement }) ?? value) : value;
  const command = request.command;
  let next: RequestLike['command'] = command;
  switch (command.type) {
    case 'exec':
    case 'aws_cli':
      next = { ...command, args: command.args.map((arg, i) => text(`command.args[${i}]`, arg, 'text')) };
      break;
    case 'shell':
      next = { ...command, command: text('command.command', command.command, 'shell') };
      break;
    case 'sdk': {
      const deep = (value: unknown, field: string): unknown => {
        if (typeof value === 'string') return text(field, value, 'text');
        if (Array.isArray(value)) return value.map((v, i) => deep(v, `${field}[${i}]`));
        if (value !== null && typeof value === 'object')
          return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, deep(v, `${field}.${k}`)]));
        return value;
      };
      next = { ...command, parameters: deep(command.parameters, 'command.parameters') as Record<string, unknown> };
      break;
    }
    case 'script':
      break;
  }
  const env = Object.fromEntries(Object.entries(request.env).map(([k, v]) => [k, text(`env.${k}`, v, 'text')]));
  const workingDir = request.working_dir === null ? null : text('working_dir', request.working_dir, 'text');
  return { ...request, command: next, env, working_dir: workingDir };
}

/** The fields of `request` that hold references (or a `${{` that should be one). */
export function templateFields(request: RequestLike): TemplateField[] {
  const fields: TemplateField[] = [];
  walk(request, (field) => {
    fields.push(field);
    return undefined;
  });
  return fields;
}

/** A copy of `request` with each field that holds references replaced by `rewrite(field)`. */
export function rewriteTemplates<R extends RequestLike>(request: R, rewrite: (field: TemplateField) => string): R {
  return walk(request, rewrite);
}

/** `value` as one word for a POSIX shell: single-quoted, its own single quotes closed and escaped. */
export function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** Where a reference stands in a shell string: outside quotes, inside '...', or inside "...". */
export type ShellContext = 'plain' | 'single' | 'double';

/**
 * `value` as it must be written at a reference standing in `context` so the shell reads it as
 * that text, expanding nothing: outside quotes single-quoted; inside single quotes, the quote
 * closed, the value single-quoted, the quote reopened; inside double quotes, `\`, `"`, `$` and
 * backquote escaped.
 */
export function shellInsert(value: string, context: ShellContext): string {
  if (context === 'plain') return shellQuote(value);
  if (context === 'single') return `'${shellQuote(value)}'`;
  return value.replace(/[\\"$`]/g, '\\$&');
}

type ShellFrame =
  | { mode: 'plain'; parens: number; closes: boolean }
  | { mode: 'single' | 'double' | 'backquote' | 'ansi' };

/**
 * The context of each reference in a shell string, in order, or why a value could not be
 * placed there safely: inside backquotes, `$'...'`, or after a here-document starts (its body
 * expands `$(...)` whatever quotes the value carries). Command substitutions `$(...)` are
 * followed, inside double quotes too.
 */
export function shellContexts(text: string): Array<ShellContext | { problem: string }> {
  // Where the lexer met each reference, by its offset: one context per reference `parseTemplate`
  // finds, in its order. A reference the lexer stepped over (after a backslash, in a comment) has
  // no known context and is refused, never given another reference's.
  const seen = lexedContexts(text);
  const contexts: Array<ShellContext | { problem: string }> = [];
  for (let open = text.indexOf(OPEN); open !== -1; ) {
    const close = text.indexOf(CLOSE, open + OPEN.length);
    if (close === -1) break;
    contexts.push(seen.get(open) ?? { problem: 'a reference after a backslash or in a comment is not substituted' });
    open = text.indexOf(OPEN, close + CLOSE.length);
  }
  return contexts;
}

function lexedContexts(text: string): Map<number, ShellContext | { problem: string }> {
  const found = new Map<number, ShellContext | { problem: string }>();
  const stack: ShellFrame[] = [{ mode: 'plain', parens: 0, closes: false }];
  let heredoc: 'none' | 'pending' | 'body' = 'none';
  let i = 0;
  while (i < text.length) {
    const top = stack[stack.length - 1]!;
    if (text.startsWith(OPEN, i)) {
      const close = text.indexOf(CLOSE, i + OPEN.length);
      if (close === -1) break;
      if (heredoc === 'body') found.set(i, { problem: 'a reference after a here-document (<<) is not substituted' });
      else if (text[i - 1] === '$')
        found.set(i, { problem: 'a reference right after "$" is not substituted: the shell would read them as one' });
      else if (top.mode === 'plain' || top.mode === 'single' || top.mode === 'double') found.set(i, top.mode);
      else
        found.set(i, {
          problem: `a reference inside ${top.mode === 'ansi' ? "$'...'" : 'backquotes'} is not substituted`,
        });
      i = close + CLOSE.length;
      continue;
    }
    const c = text[i]!;
    const next = text[i + 1];
    switch (top.mode) {
      case 'single':
        if (c === "'") stack.pop();
        break;
      case 'ansi':
      case 'backquote':
        if (c === '\\') i++;
        else if (c === (top.mode === 'ansi' ? "'" : '`')) stack.pop();
        break;
      case 'double':
        if (c === '\\') i++;
        else if (c === '"') stack.pop();
        else if (c === '`') stack.push({ mode: 'backquote' });
        else if (c === '$' && next === '(') {
          stack.push({ mode: 'plain', parens: 0, closes: true });
          i++;
        }
        break;
      case 'plain':
        if (c === '\\') i++;
        else if (c === "'") stack.push({ mode: 'single' });
        else if (c === '"') stack.push({ mode: 'double' });
        else if (c === '`') stack.push({ mode: 'backquote' });
        else if (c === '$' && next === "'") {
          stack.push({ mode: 'ansi' });
          i++;
        } else if (c === '$' && next === '(') {
          stack.push({ mode: 'plain', parens: 0, closes: true });
          i++;
        } else if (c === '(') top.parens++;
        else if (c === ')') {
          if (top.parens > 0) top.parens--;
          else if (top.closes) stack.pop();
        } else if (c === '<' && next === '<' && text[i + 2] === '<') {
          i += 2; // a here-string (<<<): a word, not a here-document
        } else if (c === '<' && next === '<') {
          if (heredoc === 'none') heredoc = 'pending';
          i++;
        } else if (c === '\n' && heredoc === 'pending') heredoc = 'body';
        else if (c === '#' && (i === 0 || /[\s;&|()]/.test(text[i - 1]!))) {
          // A comment, to the end of its line: its quotes open nothing.
          const end = text.indexOf('\n', i);
          i = end === -1 ? text.length : end - 1;
        }
        break;
    }
    i++;
  }
  return found;
}

// Parameters.

export const PARAMETER_TYPES = ['string', 'integer', 'number', 'boolean'] as const;
export type ParameterType = (typeof PARAMETER_TYPES)[number];
export type ParameterValue = string | number | boolean;

const INTEGER_TEXT = /^-?(0|[1-9]\d*)$/;
const NUMBER_TEXT = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/;

/**
 * `value` as text of `type`, or null when it is not one. A value given as text (`--param
 * count=3`) is read as the type: "3" is an integer, "true" a boolean.
 */
export function parameterText(type: ParameterType, value: ParameterValue): string | null {
  switch (type) {
    case 'string':
      return typeof value === 'string' ? value : null;
    case 'integer':
      if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : null;
      return typeof value === 'string' && INTEGER_TEXT.test(value) && Number.isSafeInteger(Number(value))
        ? String(Number(value))
        : null;
    case 'number':
      if (typeof value === 'number') return Number.isFinite(value) ? String(value) : null;
      return typeof value === 'string' && NUMBER_TEXT.test(value) && Number.isFinite(Number(value))
        ? String(Number(value))
        : null;
    case 'boolean':
      if (typeof value === 'boolean') return String(value);
      return value === 'true' || value === 'false' ? value : null;
  }
}

/** Why `value` does not fit a parameter declared `type` (with `allowed` values), or null. */
export function parameterProblem(
  type: ParameterType,
  allowed: readonly ParameterValue[] | null,
  value: ParameterValue,
): string | null {
  const text = parameterText(type, value);
  if (text === null) return `must be ${type === 'integer' ? 'an' : 'a'} ${type} (got ${JSON.stringify(value)})`;
  if (allowed && !allowed.some((option) => parameterText(type, option) === text))
    return `must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')} (got ${JSON.stringify(value)})`;
  return null;
}

// Output regexes.

/** Capture groups in a regex source: `(`, and `(?<name>`, outside classes and escapes. */
function captureGroups(source: string): number {
  let groups = 0;
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i];
    if (c === '\\') i++;
    else if (inClass) inClass = c !== ']';
    else if (c === '[') inClass = true;
    else if (c === '(') {
      if (source[i + 1] !== '?') groups++;
      else if (source[i + 2] === '<' && source[i + 3] !== '=' && source[i + 3] !== '!') groups++;
    }
  }
  return groups;
}

/**
 * An output's `regex` as RE2 will run it (JavaScript syntax without backreferences or
 * lookaround, as retry patterns), or why it cannot be used. It must have exactly one capture group.
 */
export function outputRegex(source: string): RegexPattern | { problem: string } {
  const parsed = parseRetryPattern(`/${source}/`);
  if ('problem' in parsed) return parsed;
  if (parsed.kind !== 'regex') return { problem: 'is not a regular expression' };
  const groups = captureGroups(source);
  if (groups !== 1) return { problem: `must have exactly one capture group, the output's value (it has ${groups})` };
  return parsed;
}

/** Variables a shell string's references are read from when it runs (`CLOUDOPS_REF_0`, ...). */
export const SHELL_REF_PREFIX = 'CLOUDOPS_REF_';

/**
 * How a shell string reads variable `name` at a reference in `context`: as one word, expanding
 * nothing in the value (a parameter expansion's result is never parsed again).
 */
export function shellVariable(name: string, context: ShellContext): string {
  const expansion = `\${${name}}`;
  if (context === 'double') return expansion;
  if (context === 'single') return `'"${expansion}"'`;
  return `"${expansion}"`;
}

/**
 * A shell string as it will run: each reference replaced by the variable its value is read from,
 * numbered in order, so what will run can be judged before the values exist. A reference with no
 * safe place (refused when the plan is checked) is left as written.
 */
export function shellWithVariables(text: string): string {
  const parts = parseTemplate(text);
  if ('problem' in parts || !parts.some((part) => typeof part !== 'string')) return text;
  const contexts = shellContexts(text);
  let nth = -1;
  return parts
    .map((part) => {
      if (typeof part === 'string') return part;
      nth++;
      const context = contexts[nth];
      return typeof context === 'string' ? shellVariable(`${SHELL_REF_PREFIX}${nth}`, context) : referenceText(part);
    })
    .join('');
}
