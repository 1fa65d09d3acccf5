/**
 * Splits a byte stream into lines without decoding it: `\n` (0x0A) never occurs inside a
 * multi-byte UTF-8 sequence, so splitting bytes is exact, and output nobody reads as text
 * (the log file, the bounded capture) never becomes JavaScript strings. A line longer than
 * `maxLineBytes` is cut (on a character boundary) so a stream with no newline cannot grow
 * memory without bound.
 *
 * The lines of one chunk come back as a `LineBatch`: offsets into one buffer rather than a
 * Buffer per line. At millions of lines per second, a Buffer object per line was the largest
 * per-line cost after the log write itself (see BENCHMARKS.md, output throughput).
 *
 * Cutting a long line must not cut a secret in two: redaction runs on each piece, and would
 * find neither half. Given the byte strings to keep whole (`keepTogether`: the secret values),
 * a cut never falls inside one of them, and a piece of a line still arriving is not emitted
 * until the bytes after its cut (as many as the longest such string, less one) are known.
 */
import { isAscii } from 'node:buffer';

const NEWLINE = 10;
const CR = 13;

/** The lines completed by one chunk: line `i` is `source[start(i), end(i))`. */
export class LineBatch {
  static readonly EMPTY = new LineBatch(Buffer.alloc(0), new Int32Array(0), 0);

  /** `bounds` holds start/end pairs, in order; only the first `count` pairs belong to this batch. */
  constructor(
    readonly source: Buffer,
    private readonly bounds: Int32Array,
    readonly count: number,
  ) {}

  /** Lines already split (e.g. rewritten by redaction), joined into one batch. */
  static of(lines: readonly Buffer[]): LineBatch {
    const bounds = new Int32Array(2 * lines.length);
    let at = 0;
    lines.forEach((line, i) => {
      bounds[2 * i] = at;
      at += line.length;
      bounds[2 * i + 1] = at;
    });
    return new LineBatch(Buffer.concat(lines as Buffer[], at), bounds, lines.length);
  }

  start(i: number): number {
    return this.bounds[2 * i]!;
  }

  end(i: number): number {
    return this.bounds[2 * i + 1]!;
  }

  /** Bytes of all lines, without their newlines. */
  get lineBytes(): number {
    let total = 0;
    for (let i = 0; i < 2 * this.count; i += 2) total += this.bounds[i + 1]! - this.bounds[i]!;
    return total;
  }

  /** Line `i` as bytes (a view into `source`, not a copy). */
  bytes(i: number): Buffer {
    return this.source.subarray(this.start(i), this.end(i));
  }

  toBuffers(): Buffer[] {
    const out: Buffer[] = [];
    for (let i = 0; i < this.count; i++) out.push(this.bytes(i));
    return out;
  }

  /**
   * Every line decoded as UTF-8 (invalid bytes become U+FFFD). Output that is all ASCII,
   * the common case, is decoded once and sliced: same text, one decode per chunk.
   */
  texts(): string[] {
    const n = this.count;
    const out: string[] = new Array(n);
    if (n === 0) return out;
    const first = this.bounds[0]!;
    const last = this.bounds[2 * n - 1]!;
    if (isAscii(this.source.subarray(first, last))) {
      const text = this.source.toString('latin1', first, last);
      for (let i = 0; i < n; i++) out[i] = text.slice(this.bounds[2 * i]! - first, this.bounds[2 * i + 1]! - first);
    } else {
      for (let i = 0; i < n; i++) out[i] = this.source.toString('utf8', this.bounds[2 * i]!, this.bounds[2 * i + 1]!);
    }
    return out;
  }
}

/** Scratch space kept between chunks up to this size; a larger one (a very long line) is let go after use. */
const SCRATCH_KEEP_BYTES = 256 * 1024;
/** Room for the bounds of 1,024 lines to start with; more than 64 Ki lines' worth is let go after use. */
const BOUNDS_INITIAL = 2 * 1024;
const BOUNDS_KEEP = 2 * 64 * 1024;

export class LineSplitter {
  /** The start of a line whose newline has not arrived yet (never a view into `scratch`). */
  private pending: Buffer[] = [];
  private pendingSize = 0;
  /**
   * Where a carried-over line and the next chunk are joined. Reused: a fresh 64 KiB buffer
   * per chunk raised peak RSS by ~17 MiB on 1 GiB of output (garbage outside V8's heap).
   */
  private scratch: Buffer | null = null;
  /**
   * Start/end pairs of the lines of the batch being built, reused from chunk to chunk like
   * `scratch` (a growing number[] per chunk was ~50 bytes of garbage per line); `used` entries.
   */
  private bounds = new Int32Array(BOUNDS_INITIAL);
  private used = 0;

  /** Byte strings a cut may not fall inside (secrets; only those of 2 bytes or more can be cut). */
  private readonly keepTogether: readonly Buffer[];
  /** Bytes of a line still arriving held back past the last cut: a kept string straddling it is then seen whole. */
  private readonly holdBack: number;

  constructor(
    private readonly maxLineBytes: number,
    keepTogether: readonly Buffer[] = [],
  ) {
    this.keepTogether = keepTogether.filter((bytes) => bytes.length > 1);
    this.holdBack = this.keepTogether.reduce((most, bytes) => Math.max(most, bytes.length - 1), 0);
  }

  /**
   * Complete lines in `chunk` (without `\n` / `\r\n`); the rest waits for the next chunk.
   * The batch may point into this splitter's scratch space, and its bounds are reused: it is
   * valid until the next `push` or `end` (copy what must outlive that, e.g. with
   * `LineBatch.of(batch.toBuffers().map((line) => Buffer.from(line)))`).
   */
  push(chunk: Buffer): LineBatch {
    if (chunk.length === 0) return LineBatch.EMPTY;
    this.startBatch();
    let source = chunk;
    let scanFrom = 0;
    if (this.pendingSize > 0) {
      // A trailing '\r' may be the first half of a CRLF: it is not line content yet.
      const trailingCr = chunk[chunk.length - 1] === CR ? 1 : 0;
      if (
        chunk.indexOf(NEWLINE) === -1 &&
        this.pendingSize + chunk.length - trailingCr <= this.maxLineBytes + this.holdBack
      ) {
        this.pending.push(chunk);
        this.pendingSize += chunk.length;
        return LineBatch.EMPTY;
      }
      // One copy of the chunk per chunk (not per line) so every line of the batch is in one buffer.
      scanFrom = this.pendingSize;
      source = this.join(chunk);
      this.pending = [];
      this.pendingSize = 0;
    }

    let start = 0;
    let nl = source.indexOf(NEWLINE, scanFrom);
    while (nl !== -1) {
      const end = nl > start && source[nl - 1] === CR ? nl - 1 : nl;
      this.addLine(source, start, end);
      start = nl + 1;
      nl = source.indexOf(NEWLINE, start);
    }
    if (start < source.length) {
      const restSize = source.length - start;
      const trailingCr = source[source.length - 1] === CR ? 1 : 0;
      const body = restSize - trailingCr;
      // The last `holdBack` bytes are not cut before: what follows them is not known yet.
      const ready = body - this.holdBack;
      if (ready > this.maxLineBytes) {
        // Emit whole pieces; the last, partial one (and the '\r') waits for more bytes.
        let keep = cutPointIn(
          source,
          start,
          start + ready - (ready % this.maxLineBytes || this.maxLineBytes),
          source.length,
        );
        if (this.keepTogether.length > 0) keep = this.safeCut(source, start, keep, start + body);
        this.addLine(source, start, keep);
        // Copy: the remainder must not pin the (possibly large) joined buffer.
        this.pending = [Buffer.from(source.subarray(keep))];
        this.pendingSize = source.length - keep;
      } else {
        // A view into the chunk is fine; scratch space is overwritten by the next push.
        this.pending = [source === chunk ? source.subarray(start) : Buffer.from(source.subarray(start))];
        this.pendingSize = restSize;
      }
    }
    return this.used === 0 ? LineBatch.EMPTY : new LineBatch(source, this.bounds, this.used >> 1);
  }

  /** Flush at end of stream: the last line may have had no newline. */
  end(): LineBatch {
    if (this.pendingSize === 0) return LineBatch.EMPTY;
    const source = Buffer.concat(this.pending, this.pendingSize);
    this.pending = [];
    this.pendingSize = 0;
    this.startBatch();
    this.addLine(source, 0, source[source.length - 1] === CR ? source.length - 1 : source.length);
    return new LineBatch(source, this.bounds, this.used >> 1);
  }

  /** The previous batch's bounds are overwritten from here on (its validity ends, as documented). */
  private startBatch(): void {
    this.used = 0;
    if (this.bounds.length > BOUNDS_KEEP) this.bounds = new Int32Array(BOUNDS_INITIAL);
  }

  private addBounds(start: number, end: number): void {
    if (this.used + 2 > this.bounds.length) {
      const grown = new Int32Array(2 * this.bounds.length);
      grown.set(this.bounds);
      this.bounds = grown;
    }
    this.bounds[this.used++] = start;
    this.bounds[this.used++] = end;
  }

  /** `pending` and `chunk`, one after the other, in scratch space. */
  private join(chunk: Buffer): Buffer {
    const size = this.pendingSize + chunk.length;
    if (this.scratch === null || this.scratch.length < size) {
      this.scratch = Buffer.allocUnsafeSlow(Math.max(size, 2 * (this.scratch?.length ?? 0), 64 * 1024));
    }
    const scratch = this.scratch;
    if (scratch.length > SCRATCH_KEEP_BYTES) this.scratch = null;
    let at = 0;
    for (const piece of this.pending) at += piece.copy(scratch, at);
    chunk.copy(scratch, at);
    return scratch.subarray(0, size);
  }

  /**
   * Adds `source[start, end)` as one line, or as pieces of at most `maxLineBytes` (a piece
   * is longer only when a kept-together string would otherwise be cut and starts it).
   */
  private addLine(source: Buffer, start: number, end: number): void {
    let from = start;
    while (end - from > this.maxLineBytes) {
      let cut = cutPointIn(source, from, from + this.maxLineBytes, end);
      if (this.keepTogether.length > 0) cut = this.safeCut(source, from, cut, end);
      if (cut >= end) break;
      this.addBounds(from, cut);
      from = cut;
    }
    this.addBounds(from, end);
  }

  /**
   * `cut` (in `(from, end)`), moved so it falls inside no kept-together string found in
   * `source[from, end)`: back to where that string starts, or, when it starts the piece,
   * past its end. Moves back only decrease and moves forward only increase: it ends.
   */
  private safeCut(source: Buffer, from: number, cut: number, end: number): number {
    let forward = false;
    for (;;) {
      const hit = this.straddling(source, from, cut, end);
      if (hit === null) return cut;
      if (!forward && hit.start > from) {
        cut = hit.start;
      } else {
        forward = true;
        cut = hit.end;
      }
    }
  }

  /** A kept-together string in `source[from, end)` that `cut` falls strictly inside, if any. */
  private straddling(source: Buffer, from: number, cut: number, end: number): { start: number; end: number } | null {
    for (const bytes of this.keepTogether) {
      // Only a window around the cut can hold one that straddles it: the search stays O(length).
      const lo = Math.max(from, cut - bytes.length + 1);
      const hi = Math.min(end, cut + bytes.length - 1);
      if (hi - lo < bytes.length) continue;
      const at = source.subarray(lo, hi).indexOf(bytes);
      if (at !== -1) return { start: lo + at, end: lo + at + bytes.length };
    }
    return null;
  }
}

/** The largest index <= `at` that does not fall inside a UTF-8 sequence (never 0 for at > 0). */
export function cutPoint(buf: Buffer, at: number): number {
  return cutPointIn(buf, 0, at, buf.length);
}

/** `cutPoint` within `buf[start, end)`: the result is in (start, end] unless `at` is `start`. */
function cutPointIn(buf: Buffer, start: number, at: number, end: number): number {
  let cut = Math.min(at, end);
  while (cut > start && cut < end && (buf[cut]! & 0xc0) === 0x80) cut--;
  return cut === start ? Math.min(at, end) : cut;
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
