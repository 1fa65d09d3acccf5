/**
 * Control characters in submitted text (commands, descriptions, errors quoting them) that is
 * written into lines of our own: a log file's header, footer and engine notes, and the CLI's
 * human output. A newline there would forge a line of its own; ESC, CSI or OSC sequences would
 * drive the reader's terminal (clear it, retitle it, hide text). They are written as visible
 * escapes instead. Output lines of a command are its output and are not touched here.
 *
 * Escaped: C0 controls except tab, DEL, C1 controls (0x80-0x9f: 0x9b is a one-byte CSI), the
 * Unicode line and paragraph separators, and the bidirectional overrides and isolates (which
 * make a command display as something else).
 */
const CONTROL_CLASS = String.raw`\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069`;
const CONTROL = new RegExp(`[${CONTROL_CLASS}]`, 'g');
const CONTROL_OR_BACKSLASH = new RegExp(String.raw`[\\${CONTROL_CLASS}]`, 'g');
const CONTROL_OR_TAB = new RegExp(String.raw`[\t${CONTROL_CLASS}]`, 'g');
const ESCAPED = /\\(?:(n)|(r)|(\\)|x([0-9a-f]{2})|u([0-9a-f]{4}))/g;

function escapeOne(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\\') return '\\\\';
  const code = c.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** For a human reader: each control character as a visible escape (`\n`, `\x1b`, `\u202e`); all else as it is. */
export function printable(text: string): string {
  return text.replace(CONTROL, escapeOne);
}

/**
 * For a value in a log file's own lines: like `printable`, with backslashes doubled so
 * `unescapeLogValue` gives the exact text back.
 */
export function escapeLogValue(text: string): string {
  return text.replace(CONTROL_OR_BACKSLASH, escapeOne);
}

/** For one line of a live display: every control character (tab included) as a space. */
export function flattened(text: string): string {
  return text.replace(CONTROL_OR_TAB, ' ');
}

export function unescapeLogValue(text: string): string {
  return text.replace(ESCAPED, (_, n?: string, r?: string, backslash?: string, x?: string, u?: string) =>
    n ? '\n' : r ? '\r' : backslash ? '\\' : String.fromCharCode(parseInt((x ?? u)!, 16)),
  );
}
