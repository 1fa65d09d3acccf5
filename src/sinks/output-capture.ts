/**
 * In-memory copy of a stream's output for `ExecutionResult.stdout/stderr`, bounded to
 * `maxBytes`: it keeps the first half and the last half (in a fixed ring)
 * and marks the cut in the text, so the start of the output and its end (where errors
 * usually are) both survive. Bytes are copied in, so small reads never pin large buffers,
 * and decoded once, when the result is built.
 */
import { completeUtf8Length } from '../runner/line-splitter.js';

export class OutputCapture {
  /** Exact-size copies: no growth-by-doubling garbage, and no pinning of the reader's buffers. */
  private head: Buffer[] = [];
  private headSize = 0;
  private ring: Buffer | null = null;
  private ringPos = 0;
  private ringFull = false;
  private total = 0;
  private readonly half: number;

  constructor(private readonly maxBytes: number) {
    this.half = Math.max(1, Math.floor(maxBytes / 2));
  }

  append(data: Buffer): void {
    if (data.length === 0) return;
    this.total += data.length;
    let rest = data;
    if (this.headSize < this.half) {
      const take = Math.min(this.half - this.headSize, data.length);
      this.head.push(Buffer.from(data.subarray(0, take)));
      this.headSize += take;
      rest = data.subarray(take);
    }
    // Past the first half, bytes go straight to the ring: nothing is ever re-copied or concatenated.
    if (rest.length > 0) this.writeRing(rest);
  }

  get truncated(): boolean {
    return this.total > this.headSize + this.ringLength();
  }

  /**
   * The kept text, with a marker where output was left out. `keepTogether` (the secret values):
   * where the cut leaves only part of one (the head ending with its start, the tail beginning
   * with its end), that part is left out too, since redaction cannot recognise a fragment.
   */
  text(logPath: string, keepTogether: readonly Buffer[] = []): string {
    const head = Buffer.concat(this.head, this.headSize);
    if (this.ring === null) return head.toString('utf8');
    const tail = this.ringFull
      ? Buffer.concat([this.ring.subarray(this.ringPos), this.ring.subarray(0, this.ringPos)])
      : this.ring.subarray(0, this.ringPos);
    if (!this.truncated) return Buffer.concat([head, tail]).toString('utf8');
    // Cut both sides on character boundaries so truncation introduces no U+FFFD.
    let keptHead = head.subarray(0, completeUtf8Length(head));
    let start = 0;
    while (start < tail.length && (tail[start]! & 0xc0) === 0x80) start++;
    let keptTail = tail.subarray(start);
    if (keepTogether.length > 0) {
      keptHead = keptHead.subarray(0, keptHead.length - fragmentAtEnd(keptHead, keepTogether));
      keptTail = keptTail.subarray(fragmentAtStart(keptTail, keepTogether));
    }
    const omitted = this.total - keptHead.length - keptTail.length;
    return `${keptHead.toString('utf8')}\n[... ${omitted} bytes of output omitted; the full output is in ${logPath} ...]\n${keptTail.toString('utf8')}`;
  }

  private ringLength(): number {
    if (this.ring === null) return 0;
    return this.ringFull ? this.ring.length : this.ringPos;
  }

  private writeRing(data: Buffer): void {
    // The tail holds what does not fit in the first half: maxBytes - half bytes.
    const ring = (this.ring ??= Buffer.allocUnsafe(this.maxBytes - this.half));
    let src = data.length > ring.length ? data.subarray(data.length - ring.length) : data;
    if (src.length < data.length) this.ringFull = true;
    while (src.length > 0) {
      const n = src.copy(ring, this.ringPos);
      this.ringPos += n;
      src = src.subarray(n);
      if (this.ringPos === ring.length) {
        this.ringPos = 0;
        this.ringFull = true;
      }
    }
  }
}

/** Length of the longest end of `data` that is a proper beginning of one of `strings`. */
function fragmentAtEnd(data: Buffer, strings: readonly Buffer[]): number {
  let longest = 0;
  for (const bytes of strings) {
    for (let k = Math.min(bytes.length - 1, data.length); k > longest; k--) {
      if (data.compare(bytes, 0, k, data.length - k) === 0) {
        longest = k;
        break;
      }
    }
  }
  return longest;
}

/** Length of the longest beginning of `data` that is a proper end of one of `strings`. */
function fragmentAtStart(data: Buffer, strings: readonly Buffer[]): number {
  let longest = 0;
  for (const bytes of strings) {
    for (let k = Math.min(bytes.length - 1, data.length); k > longest; k--) {
      if (data.compare(bytes, bytes.length - k, bytes.length, 0, k) === 0) {
        longest = k;
        break;
      }
    }
  }
  return longest;
}
