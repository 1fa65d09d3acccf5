/**
 * Turns a byte stream into UTF-8 text and complete lines. Multi-byte characters split
 * across chunks are reassembled; invalid bytes become U+FFFD rather than failing. A line
 * longer than `maxLineLength` is cut into pieces so a stream with no newline cannot grow
 * memory without bound.
 */
import { StringDecoder } from 'node:string_decoder';

export interface DecodedChunk {
  /** The decoded text exactly as written (for capture). */
  text: string;
  /** Lines completed by this chunk, without their `\n` / `\r\n`. */
  lines: string[];
}

export class LineSplitter {
  private readonly decoder = new StringDecoder('utf8');
  private pending = '';

  constructor(private readonly maxLineLength: number) {}

  push(chunk: Buffer): DecodedChunk {
    const text = this.decoder.write(chunk);
    return { text, lines: this.split(text) };
  }

  /** Flush at end of stream: the last line may have had no newline. */
  end(): DecodedChunk {
    const text = this.decoder.end();
    const lines = this.split(text);
    if (this.pending.length > 0) {
      lines.push(stripCr(this.pending));
      this.pending = '';
    }
    return { text, lines };
  }

  private split(text: string): string[] {
    if (text.length === 0) return [];
    let start = 0;
    let nl = text.indexOf('\n');
    if (nl === -1) {
      this.pending += text;
      return this.cutLongPending();
    }
    const lines: string[] = [];
    if (this.pending.length > 0) {
      lines.push(stripCr(this.pending + text.slice(0, nl)));
      this.pending = '';
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    while (nl !== -1) {
      lines.push(stripCr(text.slice(start, nl)));
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    this.pending = text.slice(start);
    const cut = this.cutLongPending();
    if (cut.length > 0) lines.push(...cut);
    return lines;
  }

  private cutLongPending(): string[] {
    if (this.pending.length <= this.maxLineLength) return [];
    const pieces: string[] = [];
    while (this.pending.length > this.maxLineLength) {
      pieces.push(this.pending.slice(0, this.maxLineLength));
      this.pending = this.pending.slice(this.maxLineLength);
    }
    return pieces;
  }
}

function stripCr(line: string): string {
  return line.length > 0 && line.charCodeAt(line.length - 1) === 13 ? line.slice(0, -1) : line;
}
