/**
 * What a `retry.retryable_errors` entry means, checked without running anything: a plain
 * string is a substring; `/source/flags` is a regular expression in JavaScript syntax, run
 * by RE2 (see retry-matcher.ts). Entries come from clients, so everything here is a linear
 * scan of the pattern, and the checks refuse what RE2 cannot run (backreferences,
 * lookaround) and what would make RE2 itself slow: its compile time and its fallback
 * matcher grow with the compiled program's size, and `{n,m}` counts multiply that size
 * (`(x{1,999}){1,999}` is a short pattern and a huge program).
 */

/** Entries per retry policy. */
export const MAX_RETRY_PATTERNS = 32;
/** Characters per entry. */
export const MAX_PATTERN_LENGTH = 256;
/**
 * Estimated compiled size of one regex, and of all of a policy's regexes together (see
 * `Weight`; repetition counts multiply). Matching a failed attempt's output costs at worst
 * about size × text length; these bounds keep that to seconds, in the worker.
 */
export const MAX_PATTERN_SIZE = 200;
export const MAX_TOTAL_PATTERN_SIZE = 400;

/**
 * Rough compiled sizes: RE2 compiles a class to UTF-8 byte ranges, a class reaching past
 * ASCII (`.`, `[^a]`, `\W`) to a few of them, a Unicode class (`\pL`) to hundreds
 * (`\pL{999}` alone exhausted RE2's heap while compiling).
 */
const Weight = { char: 1, wide: 4, unicode: 30 } as const;

export interface SubstringPattern {
  kind: 'substring';
  text: string;
}

export interface RegexPattern {
  kind: 'regex';
  /** The entry as written, `/source/flags`. */
  pattern: string;
  /** The source translated to RE2's syntax (named groups, `\u` escapes). */
  re2Source: string;
  /** Estimated compiled size (MAX_PATTERN_SIZE). */
  size: number;
  ignoreCase: boolean;
  multiline: boolean;
  dotAll: boolean;
}

export type RetryPattern = SubstringPattern | RegexPattern;

/** `/source/flags`: anything else is a substring, as before. */
const REGEX_FORM = /^\/(.+)\/([a-z]*)$/s;
/**
 * `g` and `y` make a regex remember where it last matched, so one compiled pattern would
 * answer differently each time; `u` is how RE2 always reads patterns.
 */
const FLAGS: Record<string, 'ignoreCase' | 'multiline' | 'dotAll' | null> = {
  i: 'ignoreCase',
  m: 'multiline',
  s: 'dotAll',
  u: null,
};

/** What `pattern` means, or why it cannot be used. */
export function parseRetryPattern(pattern: string): RetryPattern | { problem: string } {
  if (pattern.length > MAX_PATTERN_LENGTH)
    return { problem: `is ${pattern.length} characters long; at most ${MAX_PATTERN_LENGTH} are allowed` };
  const form = REGEX_FORM.exec(pattern);
  if (!form) return { kind: 'substring', text: pattern };
  const [, source, flags] = form as unknown as [string, string, string];
  const options = { ignoreCase: false, multiline: false, dotAll: false };
  for (const [i, flag] of [...flags].entries()) {
    if (flags.indexOf(flag) !== i) return { problem: `regex flag "${flag}" is repeated` };
    if (!(flag in FLAGS)) return { problem: `regex flag "${flag}" is not supported (use i, m, s)` };
    const option = FLAGS[flag];
    if (option) options[option] = true;
  }
  const scanned = scanSource(source);
  if ('problem' in scanned) return scanned;
  if (scanned.size > MAX_PATTERN_SIZE) {
    return {
      problem: `regex is too large: it compiles to about ${scanned.size} steps (at most ${MAX_PATTERN_SIZE}); use smaller {n,m} counts or fewer Unicode classes`,
    };
  }
  const re2Source = options.multiline ? `(?m)${scanned.re2Source}` : scanned.re2Source;
  return { kind: 'regex', pattern, re2Source, size: scanned.size, ...options };
}

/** The reason `pattern` is refused by the syntax checks, or null (RE2 has the last word: retryPatternIssues). */
export function retryPatternProblem(pattern: string): string | null {
  const parsed = parseRetryPattern(pattern);
  return 'problem' in parsed ? parsed.problem : null;
}

/** Why a policy's patterns are too much together, or null. */
export function retryPatternsProblem(patterns: readonly string[]): string | null {
  let total = 0;
  for (const pattern of patterns) {
    const parsed = parseRetryPattern(pattern);
    if ('kind' in parsed && parsed.kind === 'regex') total += parsed.size;
  }
  return total > MAX_TOTAL_PATTERN_SIZE
    ? `the regexes are too large together: about ${total} steps (at most ${MAX_TOTAL_PATTERN_SIZE}); use fewer or smaller ones, or substrings`
    : null;
}

interface Frame {
  /** Sizes of the finished alternatives (`a|b|…`). */
  done: number;
  /** Size of the alternative being read. */
  current: number;
  /** Size of the last atom, which a quantifier applies to (0: nothing to repeat). */
  last: number;
}

const REPEAT = /^\{(\d+)(,(\d*))?\}/;

/**
 * One pass over a JavaScript-syntax regex source: refuses backreferences and lookaround,
 * estimates the compiled size, and rewrites the few JavaScript spellings RE2 reads
 * differently. Syntax errors are left to RE2's own check, which names them.
 */
function scanSource(source: string): { re2Source: string; size: number } | { problem: string } {
  const out: string[] = [];
  const stack: Frame[] = [{ done: 0, current: 0, last: 0 }];
  const top = () => stack[stack.length - 1]!;
  const atom = (size: number) => {
    const frame = top();
    frame.current += size;
    frame.last = size;
  };
  let i = 0;
  while (i < source.length) {
    const c = source[i]!;
    if (c === '\\') {
      const next = source[i + 1];
      if (next === undefined) {
        out.push('\\');
        i += 1;
        continue;
      }
      if (next >= '1' && next <= '9')
        return {
          problem: `backreferences (\\${next}) are not supported: retry patterns run on a linear-time matcher (RE2)`,
        };
      if (next === 'k' && source[i + 2] === '<')
        return {
          problem: 'named backreferences (\\k<…>) are not supported: retry patterns run on a linear-time matcher (RE2)',
        };
      if (next === 'u') {
        const unicode = unicodeEscape(source, i);
        if (unicode) {
          out.push(unicode.re2);
          i += unicode.length;
          atom(Weight.char);
          continue;
        }
      }
      if (next === 'c' && /^[A-Za-z]$/.test(source[i + 2] ?? '')) {
        // \cX: the control character X & 31.
        out.push(`\\x{${(source.charCodeAt(i + 2) & 31).toString(16)}}`);
        i += 3;
        atom(Weight.char);
        continue;
      }
      if (next === 'p' || next === 'P') {
        // \pL or \p{Greek}: one Unicode class; its braces are not a repetition.
        const end = source[i + 2] === '{' ? source.indexOf('}', i + 3) : i + 2;
        const stop = end === -1 ? source.length : Math.min(end + 1, source.length);
        out.push(source.slice(i, stop));
        i = stop;
        atom(Weight.unicode);
        continue;
      }
      out.push(c, next);
      i += 2;
      atom('WDS'.includes(next) ? Weight.wide : Weight.char);
      continue;
    }
    if (c === '[') {
      // A class is one step or a few whatever its members (classWeight); `]` first in it is a member.
      let j = i + 1;
      if (source[j] === '^') j++;
      if (source[j] === ']') j++;
      while (j < source.length && source[j] !== ']') {
        if (source[j] === '\\') {
          j += 2;
        } else if (source.startsWith('[:', j)) {
          const end = source.indexOf(':]', j + 2);
          j = end === -1 ? j + 1 : end + 2;
        } else {
          j++;
        }
      }
      const stop = Math.min(j + 1, source.length);
      const text = source.slice(i, stop);
      out.push(translateClass(text));
      i = stop;
      atom(classWeight(text));
      continue;
    }
    if (c === '(') {
      if (
        source.startsWith('(?=', i) ||
        source.startsWith('(?!', i) ||
        source.startsWith('(?<=', i) ||
        source.startsWith('(?<!', i)
      ) {
        return {
          problem:
            'lookaround ((?=…), (?!…), (?<=…), (?<!…)) is not supported: retry patterns run on a linear-time matcher (RE2)',
        };
      }
      if (source.startsWith('(?<', i)) {
        out.push('(?P<');
        i += 3;
      } else {
        out.push('(');
        i += 1;
      }
      stack.push({ done: 0, current: 0, last: 0 });
      continue;
    }
    if (c === ')') {
      out.push(')');
      i += 1;
      if (stack.length === 1) continue; // unbalanced: RE2's check names it
      const group = stack.pop()!;
      atom(group.done + group.current + 1);
      continue;
    }
    if (c === '|') {
      const frame = top();
      frame.done += frame.current;
      frame.current = 0;
      frame.last = 0;
      out.push('|');
      i += 1;
      continue;
    }
    if (c === '{') {
      const repeat = REPEAT.exec(source.slice(i, i + 24));
      if (repeat) {
        const min = Number(repeat[1]);
        const max = repeat[2] === undefined ? min : repeat[3] === '' ? min + 1 : Number(repeat[3]);
        const frame = top();
        // The repeated atom is compiled max(min, max) times instead of once.
        const times = Math.max(min, max, 1);
        frame.current += frame.last * (times - 1);
        frame.last *= times;
        out.push(repeat[0]);
        i += repeat[0].length;
        continue;
      }
    }
    if (c === '*' || c === '+' || c === '?') {
      top().current += 1;
      out.push(c);
      i += 1;
      continue;
    }
    out.push(c);
    i += 1;
    atom(c === '.' ? Weight.wide : c.charCodeAt(0) > 0x7f ? 2 * Weight.char : Weight.char);
  }
  let size = 0;
  for (const frame of stack) size += frame.done + frame.current;
  return { re2Source: out.join(''), size };
}

function classWeight(text: string): number {
  if (/\\[pP]|\[:\^/.test(text)) return Weight.unicode;
  // eslint-disable-next-line no-control-regex
  if (text.startsWith('[^') || /\\[WDSux]|[^\x00-\x7f]/.test(text)) return Weight.wide;
  return Weight.char;
}

/** `\uXXXX` or `\u{X…}` at `i`, spelled as RE2's `\x{…}`; null if it is neither. */
function unicodeEscape(source: string, i: number): { re2: string; length: number } | null {
  if (source[i + 2] === '{') {
    const end = source.indexOf('}', i + 3);
    const digits = end === -1 ? '' : source.slice(i + 3, end);
    return /^[0-9a-fA-F]{1,6}$/.test(digits) ? { re2: `\\x{${digits}}`, length: end + 1 - i } : null;
  }
  const digits = source.slice(i + 2, i + 6);
  return /^[0-9a-fA-F]{4}$/.test(digits) ? { re2: `\\x{${digits}}`, length: 6 } : null;
}

/** Inside a class only the `\u` spellings differ from RE2's. */
function translateClass(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; ) {
    if (text[i] === '\\' && text[i + 1] === 'u') {
      const unicode = unicodeEscape(text, i);
      if (unicode) {
        out += unicode.re2;
        i += unicode.length;
        continue;
      }
    }
    // An escape is two characters: `\\u0041` is a backslash, then "u0041".
    const step = text[i] === '\\' ? 2 : 1;
    out += text.slice(i, i + step);
    i += step;
  }
  return out;
}
