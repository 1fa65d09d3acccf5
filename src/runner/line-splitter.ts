/**
 * Splits a byte stream into lines without decoding it: `\n` (0x0A) never occurs inside a
 * multi-byte UTF-8 sequence, so splitting bytes is exact, and output nobody reads as text
 * (the log file, the bounded capture) never becomes JavaScript strings. A line longer than
 * `maxLineBytes` is cut (on a character boundary) so a stream with no newline cannot grow
 * memory without bound.
 */
export class LineSplitter {
  private pending: Buffer[] = [];
  private pendingSize = 0;

  constructor(private readonly maxLineBytes: number) {}

  /** Complete lines in `chunk` (without `\n` / `\r\n`); the rest waits for the next chunk. */
  push(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    let start = 0;
    let nl = chunk.indexOf(10);
    while (nl !== -1) {
      let line = chunk.subarray(start, nl);
      if (this.pendingSize > 0) line = this.takePending(line);
      this.emit(stripCr(line), lines);
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    if (start < chunk.length) {
      this.pending.push(chunk.subarray(start));
      this.pendingSize += chunk.length - start;
      // A trailing '\r' may be the first half of a CRLF: it is not line content yet.
      const trailingCr = chunk[chunk.length - 1] === 13 ? 1 : 0;
      if (this.pendingSize - trailingCr > this.maxLineBytes) {
        const joined = this.takePending(Buffer.alloc(0));
        const body = joined.length - trailingCr;
        // Emit whole pieces; the last, partial one (and the '\r') waits for more bytes.
        const keep = cutPoint(joined, body - (body % this.maxLineBytes || this.maxLineBytes));
        this.emit(joined.subarray(0, keep), lines);
        // Copy: the remainder must not pin the (possibly large) joined buffer.
        this.pending = [Buffer.from(joined.subarray(keep))];
        this.pendingSize = joined.length - keep;
      }
    }
    return lines;
  }

  /** Flush at end of stream: the last line may have had no newline. */
  end(): Buffer[] {
    if (this.pendingSize === 0) return [];
    const lines: Buffer[] = [];
    this.emit(stripCr(this.takePending(Buffer.alloc(0))), lines);
    return lines;
  }

  private takePending(tail: Buffer): Buffer {
    const joined = Buffer.concat([...this.pending, tail]);
    this.pending = [];
    this.pendingSize = 0;
    return joined;
  }

  private emit(line: Buffer, into: Buffer[]): void {
    let rest = line;
    while (rest.length > this.maxLineBytes) {
      const cut = cutPoint(rest, this.maxLineBytes);
      into.push(rest.subarray(0, cut));
      rest = rest.subarray(cut);
    }
    into.push(rest);
  }
}

/** The largest index <= `at` that does not fall inside a UTF-8 sequence (never 0 for at > 0). */
export function cutPoint(buf: Buffer, at: number): number {
  let cut = Math.min(at, buf.length);
  while (cut > 0 && cut < buf.length && (buf[cut]! & 0xc0) === 0x80) cut--;
  return cut === 0 ? Math.min(at, buf.length) : cut;
}

/** Length of the longest prefix of `buf` that does not end inside an incomplete UTF-8 sequence. */
export function completeUtf8Length(buf: Buffer): number {
  let i = buf.length - 1;
  let continuation = 0;
  while (i >= 0 && continuation < 3 && (buf[i]! & 0xc0) === 0x80) {
    i--;
    continuation++;
  }
  if (i < 0) return buf.length;
  const lead = buf[i]!;
  const need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
  return buf.length - i < need ? i : buf.length;
}

function stripCr(line: Buffer): Buffer {
  return line.length > 0 && line[line.length - 1] === 13 ? line.subarray(0, -1) : line;
}
