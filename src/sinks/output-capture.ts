/**
 * In-memory copy of a stream's output for `ExecutionResult.stdout/stderr`, bounded to
 * `maxBytes`: past the bound it keeps the first and the last half and marks the cut in the
 * text, so the start of the output and its end (where errors usually are) both survive.
 */
const encoder = new TextEncoder();

function byteLength(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

/** The longest prefix of `text` that fits in `bytes` bytes (on a character boundary). */
function headBytes(text: string, bytes: number): string {
  const buf = new Uint8Array(bytes);
  const { read } = encoder.encodeInto(text, buf);
  return text.slice(0, read);
}

/** The longest suffix of `text` that fits in `bytes` bytes. */
function tailBytes(text: string, bytes: number): string {
  const buf = Buffer.from(text, 'utf8');
  if (buf.length <= bytes) return text;
  let start = buf.length - bytes;
  // Skip UTF-8 continuation bytes so the kept text starts on a whole character.
  while (start < buf.length && (buf[start]! & 0xc0) === 0x80) start++;
  return buf.subarray(start).toString('utf8');
}

export class OutputCapture {
  private head = '';
  private headSize = 0;
  private tail: string[] = [];
  private tailSizes: number[] = [];
  private tailSize = 0;
  private total = 0;
  private readonly half: number;

  constructor(private readonly maxBytes: number) {
    this.half = Math.floor(maxBytes / 2);
  }

  append(text: string): void {
    if (text.length === 0) return;
    const size = byteLength(text);
    this.total += size;
    if (this.tail.length === 0 && this.headSize + size <= this.maxBytes) {
      this.head += text;
      this.headSize += size;
      return;
    }
    if (this.tail.length === 0) {
      // First overflow: keep the first half as head, the rest starts the tail.
      const all = this.head + text;
      this.head = headBytes(all, this.half);
      this.headSize = byteLength(this.head);
      this.tail = [all.slice(this.head.length)];
      this.tailSizes = [byteLength(this.tail[0]!)];
      this.tailSize = this.tailSizes[0]!;
    } else {
      this.tail.push(text);
      this.tailSizes.push(size);
      this.tailSize += size;
    }
    // Drop whole chunks from the front while what remains still covers the tail half.
    while (this.tail.length > 1 && this.tailSize - this.tailSizes[0]! >= this.half) {
      this.tail.shift();
      this.tailSize -= this.tailSizes.shift()!;
    }
  }

  get truncated(): boolean {
    return this.tail.length > 0 && this.total > this.maxBytes;
  }

  /** The kept text, with a marker where output was left out. */
  text(logPath: string): string {
    if (this.tail.length === 0) return this.head;
    const tail = tailBytes(this.tail.join(''), this.half);
    const omitted = this.total - this.headSize - byteLength(tail);
    if (omitted <= 0) return this.head + tail;
    return `${this.head}\n[... ${omitted} bytes of output omitted; the full output is in ${logPath} ...]\n${tail}`;
  }
}
