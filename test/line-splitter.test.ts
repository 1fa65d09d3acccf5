/** LineSplitter: byte-level line splitting across chunks, CRLF, flushing, long-line cutting, UTF-8 safety. */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { completeUtf8Length, cutPoint, LineBatch, LineSplitter } from '../src/runner/line-splitter.js';

const b = (s: string) => Buffer.from(s, 'utf8');
/** A batch's lines decoded one by one (`toString('utf8')`), independently of `texts()`. */
const strings = (batch: LineBatch) => batch.toBuffers().map(String);

/** Feed `chunks` then end the stream; every line decoded as the engine does (`toString('utf8')`). */
function split(chunks: Array<string | Buffer>, maxLineBytes = 1024): string[] {
  const splitter = new LineSplitter(maxLineBytes);
  const lines: Buffer[] = [];
  // Copied: a batch is valid until the next push.
  for (const chunk of chunks)
    lines.push(
      ...splitter
        .push(typeof chunk === 'string' ? b(chunk) : chunk)
        .toBuffers()
        .map((line) => Buffer.from(line)),
    );
  lines.push(...splitter.end().toBuffers());
  return lines.map((line) => line.toString('utf8'));
}

/** Every way to cut `data` into two chunks gives the same lines as one chunk. */
function expectSameForEverySplit(data: Buffer, maxLineBytes = 1024): void {
  const whole = split([data], maxLineBytes);
  for (let at = 0; at <= data.length; at++) {
    expect(split([data.subarray(0, at), data.subarray(at)], maxLineBytes), `split at ${at}`).toEqual(whole);
  }
}

describe('LineSplitter', () => {
  test('complete lines in one chunk', () => {
    const splitter = new LineSplitter(1024);
    expect(strings(splitter.push(b('a\nbb\nccc\n')))).toEqual(['a', 'bb', 'ccc']);
    expect(splitter.end().count).toBe(0);
  });

  test('a line across chunk boundaries is emitted once it completes', () => {
    const splitter = new LineSplitter(1024);
    expect(splitter.push(b('hel')).count).toBe(0);
    expect(strings(splitter.push(b('lo\nwor')))).toEqual(['hello']);
    expect(splitter.push(b('l')).count).toBe(0);
    expect(strings(splitter.push(b('d\n')))).toEqual(['world']);
    expect(splitter.end().count).toBe(0);
  });

  test('one byte at a time', () => {
    const text = 'first line\nsecond\n\nlast';
    expect(split([...b(text)].map((byte) => Buffer.from([byte])))).toEqual(['first line', 'second', '', 'last']);
  });

  test('a multi-byte character split across two chunks decodes correctly', () => {
    const euro = b('€'); // E2 82 AC
    expect(euro).toHaveLength(3);
    expect(
      split([Buffer.concat([b('price: '), euro.subarray(0, 2)]), Buffer.concat([euro.subarray(2), b(' 5\n')])]),
    ).toEqual(['price: € 5']);
    const emoji = b('😀'); // 4 bytes
    expect(split([emoji.subarray(0, 1), emoji.subarray(1, 3), emoji.subarray(3), b('\n')])).toEqual(['😀']);
  });

  test('splitting anywhere gives the same lines', () => {
    expectSameForEverySplit(b('héllo wörld\r\n日本語\n\n😀 end'));
    expect(split([b('héllo wörld\r\n日本語\n\n😀 end')])).toEqual(['héllo wörld', '日本語', '', '😀 end']);
  });

  test('CRLF is stripped, also when \\r and \\n arrive in different chunks', () => {
    expect(split(['a\r\nb\r\n'])).toEqual(['a', 'b']);
    expect(split(['a\r', '\nb\r', '\n'])).toEqual(['a', 'b']);
  });

  test('only one trailing \\r is stripped and a lone \\r inside a line is kept', () => {
    expect(split(['a\rb\n'])).toEqual(['a\rb']);
    expect(split(['x\r\r\n'])).toEqual(['x\r']);
  });

  test('the final line without a newline is flushed by end()', () => {
    const splitter = new LineSplitter(1024);
    expect(splitter.push(b('one\ntwo')).count).toBe(1);
    expect(strings(splitter.end())).toEqual(['two']);
    // Nothing left after that.
    expect(splitter.end().count).toBe(0);
  });

  test('end() strips a trailing \\r of the last line', () => {
    expect(split(['last\r'])).toEqual(['last']);
  });

  test('end() with nothing pending emits nothing (no phantom empty line)', () => {
    expect(split(['a\n'])).toEqual(['a']);
    expect(split([])).toEqual([]);
    expect(split([''])).toEqual([]);
  });

  test('empty lines are kept', () => {
    expect(split(['a\n\nb\n'])).toEqual(['a', '', 'b']);
    expect(split(['\n\n'])).toEqual(['', '']);
    expect(split(['\r\n'])).toEqual(['']);
  });

  test('a line longer than maxLineBytes is cut into pieces (one chunk)', () => {
    expect(split(['abcdefghij\n'], 4)).toEqual(['abcd', 'efgh', 'ij']);
  });

  test('a long line without a newline is cut while it streams, so memory stays bounded', () => {
    const splitter = new LineSplitter(4);
    const out: string[] = [];
    for (const chunk of ['abc', 'def', 'ghi', 'jkl']) {
      out.push(...strings(splitter.push(b(chunk))));
    }
    // Pieces are emitted before the line ends.
    expect(out.length).toBeGreaterThan(0);
    out.push(...strings(splitter.push(b('\n'))));
    out.push(...strings(splitter.end()));
    expect(out.join('')).toBe('abcdefghijkl');
    for (const piece of out) expect(Buffer.byteLength(piece)).toBeLessThanOrEqual(4);
    expect(out).toEqual(['abcd', 'efgh', 'ijkl']);
  });

  test('a line of exactly maxLineBytes is one piece', () => {
    expect(split(['abcd\nefgh'], 4)).toEqual(['abcd', 'efgh']);
    expect(split(['abcd', 'efgh', '\n'], 4)).toEqual(['abcd', 'efgh']);
  });

  // Regression: when a chunk ended with a line of exactly maxLineBytes (or a multiple) followed
  // by its '\r', the over-limit flush in push() treated the '\r' as line content and left it
  // pending alone; the '\n' (or end()) then turned it into a spurious empty line.
  test('CRLF right after a full-length piece gives no extra empty line, however the input is chunked', () => {
    expect(split(['abcd\r', '\nxy\n'], 4)).toEqual(['abcd', 'xy']);
    expect(split(['abcd\r'], 4)).toEqual(['abcd']);
    expectSameForEverySplit(b('abcd\r\nxy\n'), 4);
  });

  test('long-line pieces are cut on character boundaries', () => {
    const text = 'aé€😀'.repeat(20); // 1 + 2 + 3 + 4 bytes per group
    for (const max of [4, 5, 7, 10]) {
      const bytes = b(text);
      const oneByteChunks = [...bytes].map((byte) => Buffer.from([byte]));
      for (const chunks of [[`${text}\n`], oneByteChunks]) {
        const lines = split(chunks, max);
        expect(lines.join(''), `max ${max}`).toBe(text);
        for (const line of lines) {
          expect(line).not.toContain('\uFFFD');
          expect(Buffer.byteLength(line)).toBeLessThanOrEqual(max);
        }
      }
    }
  });

  test('invalid UTF-8 passes through as bytes and decodes to U+FFFD without throwing', () => {
    const bad = Buffer.from([0xff, 0x41, 0xc3, 0x0a, 0x80, 0x42, 0x0a]);
    const splitter = new LineSplitter(1024);
    const lines = [...splitter.push(bad).toBuffers(), ...splitter.end().toBuffers()];
    expect(lines.map((l) => [...l])).toEqual([
      [0xff, 0x41, 0xc3],
      [0x80, 0x42],
    ]);
    expect(lines.map((l) => l.toString('utf8'))).toEqual(['\uFFFDA\uFFFD', '\uFFFDB']);
  });

  test('a truncated multi-byte sequence at end of stream decodes to U+FFFD', () => {
    expect(split([Buffer.from([0x41, 0xe2, 0x82])])).toEqual(['A\uFFFD']);
  });

  /** Bytes that matter to splitting: newlines, CRs, ASCII, a 2- and a 3-byte character, invalid bytes. */
  const streamBytes = fc.array(fc.constantFrom(...[0x0a, 0x0d, 0x61, 0x62, 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xff, 0x80]), {
    maxLength: 120,
  });
  const cutsOf = (data: number[]) =>
    fc.uniqueArray(fc.integer({ min: 0, max: data.length }), { maxLength: 8 }).map((at) => at.sort((x, y) => x - y));

  /** The lines of a whole input, split the obvious way (no streaming, no length limit). */
  function referenceLines(data: Buffer): Buffer[] {
    const parts: Buffer[] = [];
    let start = 0;
    for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
      parts.push(data.subarray(start, nl > start && data[nl - 1] === 13 ? nl - 1 : nl));
      start = nl + 1;
    }
    if (start < data.length)
      parts.push(data.subarray(start, data[data.length - 1] === 13 ? data.length - 1 : data.length));
    return parts;
  }

  function streamed(data: Buffer, cuts: number[], max: number): { lines: Buffer[]; texts: string[] } {
    const splitter = new LineSplitter(max);
    const lines: Buffer[] = [];
    const texts: string[] = [];
    const take = (batch: LineBatch) => {
      // Taken at once: a batch is valid until the next push.
      lines.push(...batch.toBuffers().map((line) => Buffer.from(line)));
      texts.push(...batch.texts());
    };
    let from = 0;
    for (const at of [...cuts, data.length]) {
      take(splitter.push(data.subarray(from, at)));
      from = at;
    }
    take(splitter.end());
    return { lines, texts };
  }

  test('property: however the stream is chunked, the lines are those of the whole input', () => {
    fc.assert(
      fc.property(
        streamBytes.chain((bytes) => fc.tuple(fc.constant(bytes), cutsOf(bytes))),
        ([bytes, cuts]) => {
          const data = Buffer.from(bytes);
          const { lines, texts } = streamed(data, cuts, 1 << 20);
          const expected = referenceLines(data);
          expect(lines.map((line) => [...line])).toEqual(expected.map((line) => [...line]));
          // The batch's decoding (one decode per ASCII batch) equals decoding each line alone.
          expect(texts).toEqual(expected.map((line) => line.toString('utf8')));
        },
      ),
      { numRuns: 500 },
    );
  });

  test('property: with a length limit, pieces stay within it and join back to the lines', () => {
    fc.assert(
      fc.property(
        streamBytes.chain((bytes) => fc.tuple(fc.constant(bytes), cutsOf(bytes), fc.integer({ min: 4, max: 12 }))),
        ([bytes, cuts, max]) => {
          const data = Buffer.from(bytes);
          const { lines } = streamed(data, cuts, max);
          for (const piece of lines) expect(piece.length).toBeLessThanOrEqual(max);
          expect(Buffer.concat(lines)).toEqual(Buffer.concat(referenceLines(data)));
        },
      ),
      { numRuns: 500 },
    );
  });
});

test('a batch joined with a carried-over line stays intact until the next push, and pending bytes survive reuse', () => {
  const splitter = new LineSplitter(1024);
  splitter.push(b('ab'));
  const first = splitter.push(b('c\nde'));
  expect(first.texts()).toEqual(['abc']);
  // 'de' was carried in scratch space: it must not be overwritten by the next join.
  expect(strings(splitter.push(b('f\nxyz\n')))).toEqual(['def', 'xyz']);
  splitter.push(b('12'));
  expect(strings(splitter.push(b('3\n45')))).toEqual(['123']);
  expect(strings(splitter.push(b('6\n')))).toEqual(['456']);
});

test('a chunk of many lines (bounds grown past what is kept) is followed by a small one, both whole', () => {
  const splitter = new LineSplitter(1024);
  const many = splitter.push(Buffer.from(`${'x\n'.repeat(70_000)}tail`));
  expect(many.count).toBe(70_000);
  expect(many.lineBytes).toBe(70_000);
  expect(new Set(many.texts())).toEqual(new Set(['x']));
  expect(strings(splitter.push(b('!\nlast\n')))).toEqual(['tail!', 'last']);
  expect(strings(splitter.push(b('a\nb\n'.repeat(600))))).toEqual(Array.from({ length: 600 }, () => ['a', 'b']).flat());
});

describe('LineBatch', () => {
  test('texts() decodes an ASCII batch and a UTF-8 batch the same as line by line', () => {
    const splitter = new LineSplitter(1024);
    expect(splitter.push(b('plain\nascii\r\n\nend\n')).texts()).toEqual(['plain', 'ascii', '', 'end']);
    expect(splitter.push(b('héllo\n日本\nx\n')).texts()).toEqual(['héllo', '日本', 'x']);
    expect(LineBatch.EMPTY.texts()).toEqual([]);
  });

  test('of() joins lines into one batch with their bounds', () => {
    const batch = LineBatch.of([b('ab'), b(''), b('€')]);
    expect(batch.count).toBe(3);
    expect(batch.lineBytes).toBe(5);
    expect(batch.texts()).toEqual(['ab', '', '€']);
    expect(batch.bytes(2)).toEqual(b('€'));
  });
});

describe('UTF-8 helpers', () => {
  test('cutPoint never lands inside a character', () => {
    const buf = b('a€b'); // 61 E2 82 AC 62
    expect(cutPoint(buf, 1)).toBe(1);
    expect(cutPoint(buf, 2)).toBe(1);
    expect(cutPoint(buf, 3)).toBe(1);
    expect(cutPoint(buf, 4)).toBe(4);
    expect(cutPoint(buf, 10)).toBe(5);
  });

  test('completeUtf8Length drops an incomplete trailing sequence only', () => {
    const euro = b('€');
    expect(completeUtf8Length(b('abc'))).toBe(3);
    expect(completeUtf8Length(Buffer.concat([b('a'), euro]))).toBe(4);
    expect(completeUtf8Length(Buffer.concat([b('a'), euro.subarray(0, 2)]))).toBe(1);
    expect(completeUtf8Length(Buffer.concat([b('a'), euro.subarray(0, 1)]))).toBe(1);
    const emoji = b('😀');
    expect(completeUtf8Length(emoji.subarray(0, 3))).toBe(0);
    expect(completeUtf8Length(emoji)).toBe(4);
    expect(completeUtf8Length(Buffer.alloc(0))).toBe(0);
  });
});
