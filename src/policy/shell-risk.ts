/**
 * Risk of a shell string, read with a real shell parser (tree-sitter's bash grammar): every
 * simple command anywhere in it — in pipelines, lists, functions, substitutions,
 * here-documents, conditionals — is assessed from its words after quote removal, so `r''m`,
 * `\rm`, `"rm"` and `$'\x72m'` are all `rm`. Words whose value only exists at run time (`$x`,
 * `$(…)`, globs, brace expansion) are unknown: in command position, or where they could change
 * a command's meaning, the string is unverified. Redirections that write files are `modify`.
 * A string the grammar cannot parse without error is unverified as a whole.
 *
 * (mvdan/sh's JavaScript build was tried first: its wrappers made one assessment cost ~10 ms;
 * tree-sitter's WebAssembly parser costs well under 1 ms.)
 */
import { createRequire } from 'node:module';
import { Language, type Node, Parser } from 'web-tree-sitter';
import { loaderVariableReason } from './env-risk.js';
import { type ArgvContext, assessArgv, CONFIG_PATH, type Word } from './program-risk.js';
import { assessed, combine, type RiskAssessment, unverified } from './risk-vocabulary.js';

await Parser.init();
const bash = await Language.load(createRequire(import.meta.url).resolve('tree-sitter-bash/tree-sitter-bash.wasm'));
const parser = new Parser();
parser.setLanguage(bash);

/** Redirection operators that open a file for writing. */
const WRITE_OPERATORS = new Set(['>', '>>', '&>', '&>>', '>|']);
const HARMLESS_TARGETS = new Set(['/dev/null', '/dev/stdout', '/dev/stderr']);
/** Nodes that are arithmetic, where bash evaluates variables' contents as expressions (array subscripts included). */
const ARITHMETIC = new Set(['arithmetic_expansion', 'c_style_for_statement', 'subscript']);
/** `[[ … ]]` / `test` operators that evaluate their operands as arithmetic. */
const ARITHMETIC_TEST = /(^|\s)-(eq|ne|lt|le|gt|ge|v)(\s|$)/;
/** Syntax only bash reads as such: another shell runs these strings differently from how they parse here. */
const BASH_ONLY = /\$'|\$"|\[\[|\(\(|<<<|&>|\|&|\bfunction\s|\bselect\s|\bcoproc\b/;
/** A here-document delimiter written plainly, or wholly quoted: the forms bash and the parser agree on. */
const PLAIN_DELIMITER = /^-?(?:[A-Za-z0-9_]+|'[A-Za-z0-9_]+'|"[A-Za-z0-9_]+"|\\[A-Za-z0-9_]+)$/;
/** Text that holds a command substitution: code kept for a later evaluation (arithmetic, eval, prompts). */
const CODE_TEXT = /\$\(|`/;
/** Shell strings longer than this are not parsed: unverified. */
const MAX_SCRIPT_CHARS = 256 * 1024;

/** Assessments of recent shell strings: plans repeat commands, and parsing is the costly part. */
const cache = new Map<string, RiskAssessment>();
const CACHE_SIZE = 512;

/** Risk of `script` as run by `shellName` (`bash`, `sh`, …). */
export function assessShellString(script: string, shellName: string, ctx: Omit<ArgvContext, 'shell'>): RiskAssessment {
  if (script.length > MAX_SCRIPT_CHARS)
    return unverified(`the shell string is longer than ${MAX_SCRIPT_CHARS} characters`);
  const key = `${ctx.awsCliPath}\0${ctx.depth}\0${shellName}\0${script}`;
  const hit = cache.get(key);
  if (hit) return hit;
  const result = freeze(assessParsed(script, shellName, ctx));
  if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  cache.set(key, result);
  return result;
}

function assessParsed(script: string, shellName: string, ctx: Omit<ArgvContext, 'shell'>): RiskAssessment {
  const tree = parser.parse(script);
  if (!tree) return unverified('the shell string could not be parsed');
  try {
    const root = tree.rootNode;
    if (root.hasError) return unverified(`the shell string does not parse${errorPlace(root)}`);
    // The grammar is bash's: for another shell, strings that bash alone reads specially are not
    // assessed (dash runs `$'…'` as a `$` and a quoted string, which the parse would hide).
    if (shellName !== 'bash' && BASH_ONLY.test(script))
      return unverified(`the string uses syntax ${shellName} reads differently from bash`);
    /** Functions defined at the top level, by name: where each definition ends. */
    const functions = new Map<string, number>();
    let functionsUndone = false;
    const calls: Array<{ words: Word[]; start: number }> = [];
    const parts: RiskAssessment[] = [assessed('read_only')];
    let arithmetic = false;
    let runtimeData = false;
    const stack: Node[] = [root];
    while (stack.length > 0) {
      const node = stack.pop()!;
      const type = node.type;
      switch (type) {
        case 'command': {
          const name = node.childForFieldName('name');
          const words = [
            name ? literalOf(name.namedChildren[0] ?? name) : undefined,
            ...node.childrenForFieldName('argument').map((a) => (a ? literalOf(a) : undefined)),
          ];
          if (words[0] === 'read' || words[0] === 'mapfile' || words[0] === 'readarray') runtimeData = true;
          if (
            words[0] === 'let' ||
            ((words[0] === 'test' || words[0] === '[') &&
              words.some((w) => w !== undefined && ARITHMETIC_TEST.test(` ${w} `)))
          )
            arithmetic = true;
          if (words[0] === 'unset' && words.some((w) => w === undefined || /^-[a-z]*f/.test(w))) functionsUndone = true;
          parts.push(...codeInWords(words));
          calls.push({ words, start: node.startIndex });
          break;
        }
        case 'variable_assignment':
          parts.push(assignmentRisk(node));
          break;
        case 'declaration_command': {
          // `export "PATH=…"`, `declare -x 'PATH=…'`: assessed as the builtin with its words.
          const keyword = node.child(0)?.text ?? 'declare';
          const words: Word[] = [
            keyword,
            ...node.namedChildren
              .filter((c) => c !== null && c.type !== 'variable_assignment')
              .map((c) => literalOf(c!)),
          ];
          if (words.some((f) => f === undefined || /^-\w*n/.test(f)))
            parts.push(unverified(`${keyword} -n makes a name refer to another variable`));
          if (words.some((f) => f !== undefined && /^-\w*i/.test(f))) arithmetic = true;
          parts.push(...codeInWords(words));
          calls.push({ words, start: node.startIndex });
          break;
        }
        case 'file_redirect':
          parts.push(redirectRisk(node));
          break;
        case 'heredoc_redirect':
          parts.push(heredocRisk(node));
          break;
        case 'function_definition': {
          const name = node.childForFieldName('name');
          // Only a definition that always runs before what follows it shadows a program.
          if (name && node.parent?.type === 'program') functions.set(name.text, node.endIndex);
          break;
        }
        case 'test_command':
          if (ARITHMETIC_TEST.test(node.text)) arithmetic = true;
          break;
        case 'command_substitution':
        case 'process_substitution':
          runtimeData = true;
          break;
        case 'expansion':
          // `${!x}` reads a variable named at run time; `${x@P}` expands it as a prompt (runs `$(…)` in it).
          if (/^\$\{!/.test(node.text) || /@P\}$/.test(node.text))
            parts.push(unverified('an indirect or prompt expansion evaluates run-time text'));
          break;
        case 'raw_string':
        case 'string_content':
        case 'ansi_c_string':
        case 'word':
          // Unquoted, `$(` is parsed as a substitution; as text (quoted, escaped or `$'\x24('`) it is code kept for later.
          if (CODE_TEXT.test(type === 'ansi_c_string' ? (ansiC(node.text.slice(2, -1)) ?? node.text) : node.text))
            parts.push(unverified('a quoted string holds a command substitution that may be evaluated later'));
          break;
        case 'compound_statement':
          if (node.child(0)?.type === '((') arithmetic = true;
          break;
      }
      if (ARITHMETIC.has(type)) arithmetic = true;
      for (let i = node.namedChildCount - 1; i >= 0; i--) {
        const child = node.namedChild(i);
        if (child) stack.push(child);
      }
    }
    // Bash evaluates array subscripts inside arithmetic: `(( x ))` with x='a[$(rm …)]' runs the rm.
    if (arithmetic && runtimeData) parts.push(unverified('arithmetic on text read at run time can run commands'));
    const shell = (inner: string, name: string, depth: number) =>
      assessShellString(inner, name, { ...ctx, depth: depth + 1 });
    for (const { words, start } of calls) {
      const defined = functionsUndone
        ? undefined
        : new Set([...functions].filter(([, end]) => end <= start).map(([name]) => name));
      parts.push(assessArgv(words, { ...ctx, functions: defined, shell }));
    }
    return combine(parts);
  } finally {
    tree.delete();
  }
}

function errorPlace(root: Node): string {
  const bad = root.descendantsOfType('ERROR')[0] ?? null;
  return bad ? ` (at line ${bad.startPosition.row + 1}, column ${bad.startPosition.column + 1})` : '';
}

function assignmentRisk(node: Node): RiskAssessment {
  let name = node.childForFieldName('name');
  if (name?.type === 'subscript') name = name.childForFieldName('name');
  const reason = name ? loaderVariableReason(name.text) : null;
  if (reason) return unverified(`the shell string sets ${name!.text}: ${reason}`);
  const value = node.childForFieldName('value');
  const text = value ? literalOf(value) : undefined;
  return text !== undefined && CODE_TEXT.test(text)
    ? unverified('a value holds a command substitution that may be evaluated later')
    : assessed('read_only');
}

/** Decoded words that hold a command substitution (`$'\x24('` decodes to one): code for a later evaluation. */
function codeInWords(words: readonly Word[]): RiskAssessment[] {
  return words.some((w) => w !== undefined && CODE_TEXT.test(w))
    ? [unverified('an argument holds a command substitution that may be evaluated later')]
    : [];
}

/** A here-document: its delimiter must be one bash and the parser read alike, and no words may follow it. */
function heredocRisk(node: Node): RiskAssessment {
  const start = node.children.find((c) => c?.type === 'heredoc_start')?.text ?? '';
  if (!PLAIN_DELIMITER.test(start))
    return unverified('a here-document delimiter is quoted in a way the assessment does not read as bash does');
  if (node.childrenForFieldName('argument').length > 0)
    return unverified('words follow a here-document on the same line (they are arguments the command gets)');
  return assessed('read_only');
}

function redirectRisk(node: Node): RiskAssessment {
  const operator = node.children.find((c) => c !== null && !c.isNamed)?.type ?? '';
  const destinations = node.childrenForFieldName('destination');
  // The grammar attaches words after a redirection's target to the redirection; bash passes them to the command.
  if (destinations.length > 1) return unverified('words follow a redirection (they are arguments the command gets)');
  const target = destinations.length === 1 && destinations[0] ? literalOf(destinations[0]) : undefined;
  if (operator === '>&' || operator === '<&') {
    if (target !== undefined && /^(\d+|-)$/.test(target)) return assessed('read_only');
    if (operator === '<&') return assessed('read_only');
  } else if (!WRITE_OPERATORS.has(operator)) {
    return assessed('read_only');
  }
  if (target !== undefined && HARMLESS_TARGETS.has(target)) return assessed('read_only');
  if (target !== undefined && CONFIG_PATH.test(target))
    return unverified(`writes ${target}, configuration or programs that later commands load`);
  return assessed('modify', `writes ${target ?? 'a file named at run time'}`);
}

/**
 * A word's value after quote removal, or undefined when it is only known at run time
 * (expansions, substitutions, globs, brace expansion, `~user`).
 */
export function literalOf(node: Node): Word {
  const pieces = piecesOf(node);
  if (!pieces) return undefined;
  // Globs and brace expansion act on the unquoted text only.
  const unquoted = pieces.map((p) => (p.quoted ? '_' : p.raw)).join('');
  if (/(^|[^\\])[*?[]/.test(unquoted) || /(^|[^\\])\{[^}]*(,|\.\.)[^}]*\}/.test(unquoted) || /^~[^/]/.test(unquoted))
    return undefined;
  return pieces.map((p) => p.value).join('');
}

interface Piece {
  raw: string;
  value: string;
  quoted: boolean;
}

function piecesOf(node: Node): Piece[] | undefined {
  switch (node.type) {
    case 'word':
    case 'number':
    case '$':
      if (node.namedChildCount > 0) return undefined;
      return [{ raw: node.text, value: node.text.replace(/\\\n/g, '').replace(/\\(.)/gs, '$1'), quoted: false }];
    case '``':
      return [{ raw: '', value: '', quoted: true }];
    case 'raw_string':
      return [{ raw: node.text, value: node.text.slice(1, -1), quoted: true }];
    case 'ansi_c_string': {
      const value = ansiC(node.text.slice(2, -1));
      return value === undefined ? undefined : [{ raw: node.text, value, quoted: true }];
    }
    case 'translated_string':
      return node.namedChild(0) ? piecesOf(node.namedChild(0)!) : undefined;
    case 'string': {
      let value = '';
      for (const child of node.children) {
        if (!child || child.type === '"') continue;
        if (child.type === 'string_content') value += child.text.replace(/\\\n/g, '').replace(/\\([$`"\\])/g, '$1');
        else if (child.type === '$') value += '$';
        else return undefined;
      }
      return [{ raw: node.text, value, quoted: true }];
    }
    case 'concatenation': {
      const out: Piece[] = [];
      for (const child of node.children) {
        const pieces = child ? piecesOf(child) : undefined;
        if (!pieces) return undefined;
        out.push(...pieces);
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** `$'…'` escapes; an escape we do not decode makes the word unknown. */
function ansiC(raw: string): Word {
  const simple: Record<string, string> = {
    n: '\n',
    t: '\t',
    r: '\r',
    a: '\x07',
    b: '\b',
    e: '\x1b',
    E: '\x1b',
    f: '\f',
    v: '\v',
    '\\': '\\',
    "'": "'",
    '"': '"',
    '?': '?',
  };
  let unknown = false;
  const out = raw.replace(
    /\\(x[0-9A-Fa-f]{1,2}|u[0-9A-Fa-f]{1,4}|U[0-9A-Fa-f]{1,8}|[0-7]{1,3}|c.|.)/gs,
    (_m, esc: string) => {
      if (esc[0] === 'x' || esc[0] === 'u' || esc[0] === 'U') {
        const code = parseInt(esc.slice(1), 16);
        if (code > 0x10ffff) unknown = true;
        return code > 0x10ffff ? '' : String.fromCodePoint(code);
      }
      if (/^[0-7]+$/.test(esc)) return String.fromCharCode(parseInt(esc, 8));
      if (simple[esc] !== undefined) return simple[esc]!;
      unknown = true;
      return '';
    },
  );
  // Bash ends the word at a NUL (`$'-delete\0'` is `-delete`).
  return unknown ? undefined : out.split('\0', 1)[0]!;
}

function freeze(assessment: RiskAssessment): RiskAssessment {
  Object.freeze(assessment.reasons);
  return Object.freeze(assessment);
}
