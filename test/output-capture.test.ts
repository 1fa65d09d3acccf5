/** OutputCapture: bounded head + tail copy of a stream's output, with a marker where bytes were left out. */
import { describe, expect, test } from 'vitest';
import { OutputCapture } from '../src/sinks/output-capture.js';

const LOG = '/var/log/cloudops/abc.log';
const MARKER = /\n\[\.\.\. (\d+) bytes of output omitted; the full output is in (.*) \.\.\.\]\n/;

function capture(max: number, chunks: Array<string | Buffer>): OutputCapture {
  const c = new OutputCapture(max);
  for (const chunk of chunks) c.append(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
  return c;
}

/** Cut `text` into chunks of `size` bytes (possibly splitting characters). */
function byteChunks(text: string, size: number): Buffer[] {
  const buf = Buffer.from(text, 'utf8');
  const out: Buffer[] = [];
  for (let i = 0; i < buf.length; i += size) out.push(buf.subarray(i, i + size));
  return out;
}

/** Split a truncated text into head, omitted count, log path and tail. */
function parts(text: string): { head: string; omitted: number; path: string; tail: string } {
  const m = MARKER.exec(text);
  expect(m, 'the text has a truncation marker').not.toBeNull();
  return {
    head: text.slice(0, m!.index),
    omitted: Number(m![1]),
    path: m![2]!,
    tail: text.slice(m!.index + m![0].length),
  };
}

const numbered = (n: number) => Array.from({ length: n }, (_, i) => `line ${String(i).padStart(5, '0')}\n`).join('');

describe('OutputCapture under the cap', () => {
  test('nothing appended: empty text, not truncated', () => {
    const c = new OutputCapture(100);
    expect(c.truncated).toBe(false);
    expect(c.text(LOG)).toBe('');
  });

  test('keeps the text exactly', () => {
    const text = 'hello\nwörld ✓\n';
    const c = capture(100, [text]);
    expect(c.truncated).toBe(false);
    expect(c.text(LOG)).toBe(text);
  });

  test('exactly the cap is kept exactly, in any chunking', () => {
    const text = numbered(10); // 110 bytes
    const max = Buffer.byteLength(text);
    for (const size of [1, 3, 7, 50, max]) {
      const c = capture(max, byteChunks(text, size));
      expect(c.truncated, `chunks of ${size}`).toBe(false);
      expect(c.text(LOG), `chunks of ${size}`).toBe(text);
    }
  });

  test('empty appends change nothing', () => {
    const c = capture(10, ['', 'ab', '', 'cd']);
    expect(c.text(LOG)).toBe('abcd');
  });

  test("appended buffers are copied: later changes to the caller's buffer do not leak in", () => {
    const c = new OutputCapture(100);
    const buf = Buffer.from('abcdef');
    c.append(buf);
    buf.fill(0x7a);
    expect(c.text(LOG)).toBe('abcdef');
  });
});

describe('OutputCapture over the cap', () => {
  test('one byte over the cap is truncated', () => {
    const c = capture(10, ['0123456789X']);
    expect(c.truncated).toBe(true);
    const p = parts(c.text(LOG));
    expect(p.head).toBe('01234');
    expect(p.tail).toBe('6789X');
    expect(p.omitted).toBe(1);
  });

  test('keeps the head and the actual end; marker names the omitted bytes and the log path', () => {
    const text = numbered(1000); // 11,000 bytes
    const max = 1000;
    for (const size of [1, 37, 500, 4096, text.length]) {
      const c = capture(max, byteChunks(text, size));
      expect(c.truncated).toBe(true);
      const out = c.text(LOG);
      const p = parts(out);
      expect(p.path).toBe(LOG);
      expect(p.head).toBe(text.slice(0, 500));
      expect(p.tail).toBe(text.slice(-500));
      expect(text.endsWith(p.tail)).toBe(true);
      expect(p.omitted).toBe(text.length - 1000);
      const kept = Buffer.byteLength(p.head) + Buffer.byteLength(p.tail);
      expect(kept).toBeLessThanOrEqual(max);
      expect(kept).toBe(max); // ASCII: nothing lost to character boundaries
      // Nothing but head, marker and tail.
      expect(out).toBe(
        `${p.head}\n[... ${p.omitted} bytes of output omitted; the full output is in ${LOG} ...]\n${p.tail}`,
      );
    }
  });

  test('an odd cap keeps floor(cap/2) head bytes and the rest as tail', () => {
    const c = capture(11, ['abcdefghijklmnopqrstuvwxyz']);
    const p = parts(c.text(LOG));
    expect(p.head).toBe('abcde');
    expect(p.tail).toBe('uvwxyz');
    expect(p.omitted).toBe(26 - 11);
  });

  test('the tail follows the output as it keeps growing', () => {
    const c = new OutputCapture(20);
    let all = '';
    for (let i = 0; i < 200; i++) {
      const piece = `<${i}>`;
      all += piece;
      c.append(Buffer.from(piece));
      if (c.truncated) {
        const p = parts(c.text(LOG));
        expect(p.head).toBe(all.slice(0, 10));
        expect(p.tail).toBe(all.slice(-10));
        expect(p.omitted).toBe(all.length - 20);
      } else {
        expect(c.text(LOG)).toBe(all);
      }
    }
    expect(c.truncated).toBe(true);
  });

  test('a chunk bigger than the whole ring keeps its last bytes', () => {
    const c = capture(10, ['ab', `${'c'.repeat(100)}vwxyz`]);
    const p = parts(c.text(LOG));
    expect(p.head).toBe('abccc');
    expect(p.tail).toBe('vwxyz');
  });

  test('multi-byte characters are never split and no U+FFFD is introduced', () => {
    const text = 'aé€😀'.repeat(500); // 10 bytes per group
    const total = Buffer.byteLength(text);
    for (const max of [11, 16, 33, 100, 101, 999]) {
      for (const size of [1, 2, 3, 5, 64, total]) {
        const c = capture(max, byteChunks(text, size));
        expect(c.truncated).toBe(true);
        const out = c.text(LOG);
        expect(out, `max ${max}, chunks of ${size}`).not.toContain('\uFFFD');
        const p = parts(out);
        expect(text.startsWith(p.head), `head is a prefix (max ${max}, chunks of ${size})`).toBe(true);
        expect(text.endsWith(p.tail), `tail is a suffix (max ${max}, chunks of ${size})`).toBe(true);
        const kept = Buffer.byteLength(p.head) + Buffer.byteLength(p.tail);
        expect(kept).toBeLessThanOrEqual(max);
        // At most 3 bytes lost on each side to a character boundary.
        expect(kept).toBeGreaterThanOrEqual(max - 6);
        expect(p.omitted).toBe(total - kept);
      }
    }
  });

  test('invalid UTF-8 in the output decodes to U+FFFD without throwing', () => {
    const c = capture(100, [Buffer.from([0x41, 0xff, 0x42])]);
    expect(c.text(LOG)).toBe('A\uFFFDB');
    const big = capture(10, [Buffer.alloc(50, 0xff)]);
    expect(() => big.text(LOG)).not.toThrow();
    expect(big.truncated).toBe(true);
  });

  test('text() can be called more than once with the same result', () => {
    const c = capture(10, [numbered(5)]);
    expect(c.text(LOG)).toBe(c.text(LOG));
  });
});
