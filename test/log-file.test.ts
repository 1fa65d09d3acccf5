/** LogFile.append: every line gets its timestamp/stream prefix and a newline, whatever the batch's shape. */

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, expect, test } from 'vitest';
import { LineBatch, LineSplitter } from '../src/runner/line-splitter.js';
import { LogFile } from '../src/sinks/log-file.js';
import { until } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'log-file-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TS = '2026-12-01T10:00:00.000Z';
let n = 0;

/** The log body written for `batches` (each appended as it comes), without the header and footer. */
async function logged(batches: Iterable<LineBatch>): Promise<Buffer> {
  const path = join(dir, `${n++}.log`);
  const log = await LogFile.open(path, { kind: 'test' });
  for (const batch of batches) await log.append('stdout', batch, TS);
  await log.close({ end: 'x' });
  const text = readFileSync(path);
  const start = text.indexOf('\n') + 1;
  return text.subarray(start, text.lastIndexOf('# end: x\n'));
}

/** A batch's lines, copied (a splitter's batch is valid until its next push). */
const copied = (batch: LineBatch) => LineBatch.of(batch.toBuffers().map((line) => Buffer.from(line)));

/** What the log must hold: prefix, the line's bytes, a newline; one line at a time. */
function expected(batches: LineBatch[]): Buffer {
  const prefix = Buffer.from(`${TS} [stdout] `);
  return Buffer.concat(
    batches.flatMap((batch) => batch.toBuffers().flatMap((line) => [prefix, line, Buffer.from('\n')])),
  );
}

test('plain lines, CRLF lines, cut pieces and a last line without newline are all written whole', async () => {
  const splitter = new LineSplitter(4);
  function* batches() {
    yield splitter.push(Buffer.from('ab\ncd\r\nefghij\nk'));
    yield splitter.push(Buffer.from('l\n'));
    yield splitter.end();
  }
  expect((await logged(batches())).toString()).toBe(
    [
      `${TS} [stdout] ab`,
      `${TS} [stdout] cd`,
      `${TS} [stdout] efgh`,
      `${TS} [stdout] ij`,
      `${TS} [stdout] kl`,
      '',
    ].join('\n'),
  );
});

test('a batch that is one newline-separated run and one that is not give the same per-line format', async () => {
  const run = new LineSplitter(1024).push(Buffer.from('one\ntwo\n\nfour\n'));
  const joined = LineBatch.of([Buffer.from('one'), Buffer.from('two'), Buffer.from(''), Buffer.from('four')]);
  expect(await logged([run])).toEqual(expected([run]));
  expect(await logged([joined])).toEqual(await logged([run]));
});

test('property: the log holds every line of any chunked byte stream, prefixed, in order', async () => {
  const bytes = fc.array(fc.constantFrom(0x0a, 0x0d, 0x61, 0x62, 0xc3, 0xa9, 0xff), { maxLength: 200 });
  await fc.assert(
    fc.asyncProperty(
      bytes,
      fc.uniqueArray(fc.nat(200), { maxLength: 6 }),
      fc.integer({ min: 3, max: 64 }),
      async (data, cuts, max) => {
        const input = Buffer.from(data);
        const splitter = new LineSplitter(max);
        const seen: LineBatch[] = [];
        function* batches() {
          let from = 0;
          for (const at of [...cuts.filter((c) => c <= input.length).sort((a, b) => a - b), input.length]) {
            const batch = splitter.push(input.subarray(from, at));
            seen.push(copied(batch));
            yield batch; // logged before the next push, as the runner does
            from = at;
          }
          const last = splitter.end();
          seen.push(copied(last));
          yield last;
        }
        const log = await logged(batches());
        expect(log).toEqual(expected(seen));
      },
    ),
    { numRuns: 150 },
  );
});

test('large output through two logs at once, appended as the runner does, is written exactly', async () => {
  // Batches of 8 KiB to 300 KiB share and recycle the formatted-output slabs while earlier
  // writes are still in flight: a slab reused too early, or a wrong offset, corrupts a log.
  const lineOf = (i: number) => Buffer.from(`${i} `.padEnd(20 + ((i * 37) % 180), String.fromCharCode(97 + (i % 26))));
  const sizes = [9_000, 70_000, 200_000, 30_000, 300_000, 120_000, 8_500, 250_000, 60_000];
  const paths = [join(dir, `${n++}.log`), join(dir, `${n++}.log`)];
  const logs = await Promise.all(paths.map((path) => LogFile.open(path, { kind: 'test' })));
  const written: Buffer[][] = [[], []];
  let line = 0;
  for (let round = 0; round < 6; round++) {
    for (const [k, size] of sizes.entries()) {
      const which = (round + k) % 2;
      const lines: Buffer[] = [];
      for (let bytes = 0; bytes < size; line++) {
        lines.push(lineOf(line));
        bytes += lines[lines.length - 1]!.length + 1;
      }
      const splitter = new LineSplitter(1 << 20);
      const batch = splitter.push(Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
      written[which]!.push(expected([copied(batch)]));
      const pending = logs[which]!.append('stdout', batch, TS);
      if (pending) await pending; // the runner pauses the pipe only when the log asks it to
    }
  }
  await Promise.all(logs.map((log) => log.close({ end: 'x' })));
  for (const [i, path] of paths.entries()) {
    const text = readFileSync(path);
    const body = text.subarray(text.indexOf('\n') + 1, text.lastIndexOf('# end: x\n'));
    expect(body.equals(Buffer.concat(written[i]!))).toBe(true);
  }
});

test('a log still open reaches the disk without waiting for its close, and ends the same as one closed at once', async () => {
  const path = join(dir, `${n++}.log`);
  const log = await LogFile.open(path, { kind: 'test' });
  log.note('spawned pid 1: x');
  // Held in memory at first; a running command's log is on disk shortly after (readers and a crash see it).
  await until(() => readFileSync(path, 'utf8').includes('[engine] spawned pid 1: x\n'), 10_000, 'the held log on disk');
  log.append('stdout', LineBatch.of([Buffer.from('after')]), TS);
  await log.close({ end: 'x' });
  const text = readFileSync(path, 'utf8');
  expect(text).toMatch(/^# kind: test\n\S+ \[engine\] spawned pid 1: x\n/);
  expect(text.endsWith(`${TS} [stdout] after\n# end: x\n`)).toBe(true);
});

test('a process that exits while its log is held in memory leaves the log on disk', () => {
  const path = join(dir, `${n++}.log`);
  const script = `
    import { LogFile } from ${JSON.stringify(fileURLToPath(new URL('../dist/sinks/log-file.js', import.meta.url)))};
    const log = await LogFile.open(${JSON.stringify(path)}, { kind: 'test' });
    log.note('about to exit');
    process.exit(0);
  `;
  execFileSync(process.execPath, ['--input-type=module', '-e', script]);
  expect(readFileSync(path, 'utf8')).toMatch(/^# kind: test\n\S+ \[engine\] about to exit\n$/);
});
