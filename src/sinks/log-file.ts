/**
 * The per-execution log file: a header, then every output line of both streams in the
 * order read, each with its timestamp and stream, then a footer with the outcome.
 *
 *   2026-11-22T10:00:00.123Z [stdout] hello
 *
 * `append` returns a promise when the file's write buffer is full; the runner pauses the
 * child's pipe until it resolves, so a fast producer cannot outrun the disk in memory.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { ExecutionError } from '../errors.js';
import type { LineBatch } from '../runner/line-splitter.js';
import type { StreamName } from '../runner/process.js';
import { escapeLogValue } from './control-chars.js';

/**
 * `# key: value` lines. Values are submitted text (the command, its error): control characters
 * are escaped so each entry stays one line and none can pass for a line of its own.
 */
function metaLines(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([k, v]) => `# ${k}: ${escapeLogValue(v)}\n`)
    .join('');
}

const POOL_BUFFER_BYTES = 256 * 1024;
const POOL_SIZE = 4;
/**
 * Bytes the log may buffer before the child's pipe is paused. Node's default (16 KiB) made
 * reading and writing take turns at every 64 KiB read; this lets a read and a disk write
 * overlap while keeping memory bounded (the pool covers what is in flight).
 */
const WRITE_BUFFER_BYTES = 512 * 1024;

/** Directories already made: a command's log needs no `mkdir -p` when its folder exists. */
const madeDirs = new Set<string>();

async function ensureDir(dir: string): Promise<void> {
  if (madeDirs.has(dir)) return;
  try {
    await mkdir(dir, { recursive: true });
  } catch (err) {
    throw ExecutionError.io(`cannot create log directory ${dir}: ${(err as Error).message}`, err);
  }
  madeDirs.add(dir);
}

function openStream(path: string): Promise<WriteStream> {
  const out = createWriteStream(path, { flags: 'w', mode: 0o600, highWaterMark: WRITE_BUFFER_BYTES });
  return new Promise<WriteStream>((resolve, reject) => {
    out.once('open', () => resolve(out));
    out.once('error', reject);
  });
}

/** Whether the lines follow each other in their source, each still ended by its own `\n`. */
function isNewlineRun(lines: LineBatch): boolean {
  const source = lines.source;
  const last = lines.count - 1;
  for (let i = 0; i < last; i++)
    if (source[lines.end(i)] !== 10 || lines.start(i + 1) !== lines.end(i) + 1) return false;
  return source[lines.end(last)] === 10;
}

/**
 * The common case (no CRs, no cut pieces): the whole run is copied once, then each line is
 * moved to its place within `out` and its prefix set before it. A per-line `Buffer.copy`
 * makes a view object per call; `copyWithin` and `set` do not (≈ 3× less time per line).
 * Lines move towards the start and each lands before the next unmoved line, so none is
 * overwritten before it moves.
 */
function formatRun(lines: LineBatch, prefix: Buffer, out: Buffer): number {
  const count = lines.count;
  const first = lines.start(0);
  const span = lines.end(count - 1) + 1 - first;
  const base = count * prefix.length;
  lines.source.copy(out, base, first, first + span);
  for (let i = 0; i < count; i++) {
    const offset = lines.start(i) - first;
    const to = (i + 1) * prefix.length + offset;
    out.copyWithin(to, base + offset, base + lines.end(i) + 1 - first);
    out.set(prefix, to - prefix.length);
  }
  return base + span;
}

function formatEach(lines: LineBatch, prefix: Buffer, out: Buffer): number {
  const source = lines.source;
  let at = 0;
  for (let i = 0; i < lines.count; i++) {
    out.set(prefix, at);
    at += prefix.length;
    at += source.copy(out, at, lines.start(i), lines.end(i));
    out[at++] = 10;
  }
  return at;
}

export class LogFile {
  private failure: Error | null = null;
  private readonly pool: Buffer[] = [];

  private constructor(
    readonly path: string,
    private readonly out: WriteStream,
  ) {
    out.on('error', (err) => {
      this.failure ??= err;
    });
  }

  static async open(path: string, header: Record<string, string>): Promise<LogFile> {
    const dir = dirname(path);
    await ensureDir(dir);
    let out: WriteStream;
    try {
      out = await openStream(path);
    } catch (err) {
      // The folder was removed since we made it: make it again, once.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && madeDirs.delete(dir)) return LogFile.open(path, header);
      throw ExecutionError.io(`cannot open log file ${path}: ${(err as Error).message}`, err);
    }
    const log = new LogFile(path, out);
    log.write(metaLines(header));
    return log;
  }

  /**
   * Lines stay bytes: formatting the log never decodes output into JavaScript strings, and
   * the formatted bytes go through a few recycled buffers instead of a fresh allocation per
   * chunk (at hundreds of MiB/s, fresh buffers pile up faster than the GC frees them).
   */
  append(stream: StreamName, lines: LineBatch, timestamp: string): Promise<void> | undefined {
    const count = lines.count;
    if (count === 0) return undefined;
    const prefix = Buffer.from(`${timestamp} [${stream}] `, 'latin1');
    const size = count * (prefix.length + 1) + lines.lineBytes;
    const pooled = size <= POOL_BUFFER_BYTES ? (this.pool.pop() ?? Buffer.allocUnsafeSlow(POOL_BUFFER_BYTES)) : null;
    const out = pooled ?? Buffer.allocUnsafe(size);
    const at = isNewlineRun(lines) ? formatRun(lines, prefix, out) : formatEach(lines, prefix, out);
    return this.write(out.subarray(0, at), pooled ? () => this.recycle(pooled) : undefined);
  }

  private recycle(buffer: Buffer): void {
    if (this.pool.length < POOL_SIZE) this.pool.push(buffer);
  }

  /**
   * Engine notes (signals sent, truncation) interleaved with the output; never waited for.
   * A note often quotes the command: its control characters are escaped like header values.
   */
  note(text: string): void {
    if (this.failure || this.out.destroyed) return;
    this.out.write(`${new Date().toISOString()} [engine] ${escapeLogValue(text)}\n`);
  }

  async close(footer: Record<string, string>): Promise<void> {
    this.write(metaLines(footer));
    await new Promise<void>((resolve) => this.out.end(resolve));
  }

  /** The first write error, if any (e.g. disk full). */
  get error(): Error | null {
    return this.failure;
  }

  private write(data: string | Buffer, written?: () => void): Promise<void> | undefined {
    if (this.failure || this.out.destroyed) return undefined;
    if (this.out.write(data, written)) return undefined;
    return new Promise<void>((resolve) => {
      const done = () => {
        this.out.off('drain', done);
        this.out.off('error', done);
        this.out.off('close', done);
        resolve();
      };
      this.out.once('drain', done);
      this.out.once('error', done);
      this.out.once('close', done);
    });
  }
}
