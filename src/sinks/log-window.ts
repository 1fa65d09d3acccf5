/**
 * A bounded window of a log: its last N lines, or a range of line numbers, never more than
 * `max_bytes`, read without loading the log into memory (a log can be many gigabytes; a
 * reader such as a language model must never be flooded). A plan's log is several files
 * read as one (its schedule log, then each command's), as `engine.readLogs` joins them.
 */
import { open } from 'node:fs/promises';

export interface LogWindowRequest {
  /** The last N lines (the default, when no range is given). */
  tail_lines?: number | undefined;
  /** 1-based, inclusive. */
  from_line?: number | undefined;
  /** 1-based, inclusive; default from_line + 199. */
  to_line?: number | undefined;
  /** Most bytes of text returned (UTF-8). */
  max_bytes: number;
}

export interface LogWindow {
  text: string;
  /** Lines in `text` (a line cut by `max_bytes` counts). */
  line_count: number;
  /** Range reads: the numbers of the first and last line returned (null when none was). */
  first_line: number | null;
  last_line: number | null;
  /** Tail reads: whether the log has lines before the ones returned. */
  more_before: boolean;
  /** Range reads: whether the log has lines after the ones returned. */
  more_after: boolean;
  /** Whether `max_bytes` cut what was asked for (fewer lines, or part of a long line). */
  truncated: boolean;
  /** The size of the whole log, in bytes. */
  log_bytes: number;
}

const CHUNK = 64 * 1024;
const NEWLINE = 0x0a;
export const DEFAULT_RANGE_LINES = 200;

/** Drop a partial UTF-8 character at the start of `bytes` (a cut made inside one). */
function fromCharBoundary(bytes: Buffer): Buffer {
  let start = 0;
  while (start < bytes.length && start < 4 && (bytes[start]! & 0xc0) === 0x80) start++;
  return bytes.subarray(start);
}

/** Drop a partial UTF-8 character at the end of `bytes`. */
function toCharBoundary(bytes: Buffer): Buffer {
  let end = bytes.length;
  let back = 0;
  while (end > 0 && back < 4 && (bytes[end - 1]! & 0xc0) === 0x80) {
    end--;
    back++;
  }
  // A lead byte whose character is incomplete goes too.
  if (end > 0 && bytes[end - 1]! >= 0xc0) {
    const lead = bytes[end - 1]!;
    const size = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
    if (back + 1 < size) return bytes.subarray(0, end - 1);
  }
  return bytes;
}

interface LogFile {
  path: string;
  size: number;
}

async function sizes(paths: readonly string[]): Promise<LogFile[]> {
  const files: LogFile[] = [];
  for (const path of paths) {
    try {
      const handle = await open(path, 'r');
      try {
        files.push({ path, size: (await handle.stat()).size });
      } finally {
        await handle.close();
      }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      // Not started yet (or never): it has no lines.
    }
  }
  return files;
}

/**
 * Lines of the files as one text: files are joined by a newline (as `readLogs` joins them), and
 * a file's final newline ends its last line rather than starting an empty one.
 */
async function* linesBackward(files: readonly LogFile[]): AsyncGenerator<Buffer> {
  for (let f = files.length - 1; f >= 0; f--) {
    const file = files[f]!;
    const handle = await open(file.path, 'r');
    try {
      let end = file.size;
      let carry: Buffer = Buffer.alloc(0);
      let skippedFinalNewline = false;
      while (end > 0) {
        const start = Math.max(0, end - CHUNK);
        const chunk = Buffer.alloc(end - start);
        await handle.read(chunk, 0, chunk.length, start);
        end = start;
        let data = carry.length > 0 ? Buffer.concat([chunk, carry]) : chunk;
        if (!skippedFinalNewline) {
          skippedFinalNewline = true;
          if (data.length > 0 && data[data.length - 1] === NEWLINE) data = data.subarray(0, data.length - 1);
        }
        let cut = data.lastIndexOf(NEWLINE);
        let tailEnd = data.length;
        while (cut >= 0) {
          yield data.subarray(cut + 1, tailEnd);
          tailEnd = cut;
          cut = cut === 0 ? -1 : data.lastIndexOf(NEWLINE, cut - 1);
        }
        carry = data.subarray(0, tailEnd);
        // One enormous line: the caller needs only its end, so it is not kept whole in memory.
        if (carry.length > 4 * CHUNK) carry = carry.subarray(carry.length - 4 * CHUNK);
      }
      if (carry.length > 0 || file.size > 0) yield carry;
    } finally {
      await handle.close();
    }
  }
}

async function* linesForward(files: readonly LogFile[]): AsyncGenerator<Buffer> {
  for (const file of files) {
    if (file.size === 0) continue;
    const handle = await open(file.path, 'r');
    try {
      let position = 0;
      let carry: Buffer = Buffer.alloc(0);
      while (position < file.size) {
        const chunk = Buffer.alloc(Math.min(CHUNK, file.size - position));
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, position);
        if (bytesRead === 0) break;
        position += bytesRead;
        const data = carry.length > 0 ? Buffer.concat([carry, chunk.subarray(0, bytesRead)]) : chunk;
        let start = 0;
        let cut = data.indexOf(NEWLINE, start);
        while (cut >= 0) {
          yield data.subarray(start, cut);
          start = cut + 1;
          cut = data.indexOf(NEWLINE, start);
        }
        carry = data.subarray(start);
        // One enormous line: only its beginning can be returned, so only that is kept.
        if (carry.length > 4 * CHUNK) carry = carry.subarray(0, 4 * CHUNK);
      }
      if (carry.length > 0) yield carry;
    } finally {
      await handle.close();
    }
  }
}

/** A window of the log made of `paths` (missing files have no lines). */
export async function readLogWindow(paths: readonly string[], request: LogWindowRequest): Promise<LogWindow> {
  const files = await sizes(paths);
  const logBytes = files.reduce((sum, f) => sum + f.size, 0);
  const budget = request.max_bytes;
  if (request.from_line === undefined) {
    const wanted = request.tail_lines ?? DEFAULT_RANGE_LINES;
    const taken: Buffer[] = [];
    let used = 0;
    let truncated = false;
    let moreBefore = false;
    for await (const line of linesBackward(files)) {
      if (taken.length >= wanted) {
        moreBefore = true;
        break;
      }
      const cost = line.length + (taken.length > 0 ? 1 : 0);
      if (used + cost > budget) {
        truncated = true;
        moreBefore = true;
        // Nothing fits yet: the end of this long line does.
        if (taken.length === 0 && budget > 0) taken.push(fromCharBoundary(line.subarray(line.length - budget)));
        break;
      }
      taken.push(line);
      used += cost;
    }
    taken.reverse();
    return {
      text: Buffer.concat(taken.flatMap((l, i) => (i === 0 ? [l] : [Buffer.from('\n'), l]))).toString('utf8'),
      line_count: taken.length,
      first_line: null,
      last_line: null,
      more_before: moreBefore,
      more_after: false,
      truncated,
      log_bytes: logBytes,
    };
  }
  const from = request.from_line;
  const to = request.to_line ?? from + DEFAULT_RANGE_LINES - 1;
  const taken: Buffer[] = [];
  let used = 0;
  let truncated = false;
  let moreAfter = false;
  let number = 0;
  for await (const line of linesForward(files)) {
    number++;
    if (number < from) continue;
    if (number > to) {
      moreAfter = true;
      break;
    }
    const cost = line.length + (taken.length > 0 ? 1 : 0);
    if (used + cost > budget) {
      truncated = true;
      moreAfter = true;
      if (taken.length === 0 && budget > 0) taken.push(toCharBoundary(line.subarray(0, budget)));
      break;
    }
    taken.push(line);
    used += cost;
  }
  return {
    text: Buffer.concat(taken.flatMap((l, i) => (i === 0 ? [l] : [Buffer.from('\n'), l]))).toString('utf8'),
    line_count: taken.length,
    first_line: taken.length > 0 ? from : null,
    last_line: taken.length > 0 ? from + taken.length - 1 : null,
    more_before: from > 1,
    more_after: moreAfter,
    truncated,
    log_bytes: logBytes,
  };
}
