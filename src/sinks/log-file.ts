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
import type { StreamName } from '../runner/process.js';

/** `# key: value` lines; newlines in values are escaped so each entry stays one line. */
function metaLines(entries: Record<string, string>): string {
  return Object.entries(entries)
    .map(([k, v]) => `# ${k}: ${v.replace(/\\/g, '\\\\').replace(/\r?\n/g, '\\n')}\n`)
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
  append(stream: StreamName, lines: readonly Buffer[], timestamp: string): Promise<void> | undefined {
    if (lines.length === 0) return undefined;
    const prefix = `${timestamp} [${stream}] `;
    let size = 0;
    for (const line of lines) size += prefix.length + line.length + 1;
    const pooled = size <= POOL_BUFFER_BYTES ? this.pool.pop() ?? Buffer.allocUnsafeSlow(POOL_BUFFER_BYTES) : null;
    const out = pooled ?? Buffer.allocUnsafe(size);
    let at = 0;
    for (const line of lines) {
      at += out.write(prefix, at, "latin1");
      at += line.copy(out, at);
      out[at++] = 10;
    }
    return this.write(out.subarray(0, at), pooled ? () => this.recycle(pooled) : undefined);
  }

  private recycle(buffer: Buffer): void {
    if (this.pool.length < POOL_SIZE) this.pool.push(buffer);
  }

  /** Engine notes (signals sent, truncation) interleaved with the output; never waited for. */
  note(text: string): void {
    if (this.failure || this.out.destroyed) return;
    this.out.write(`${new Date().toISOString()} [engine] ${text}\n`);
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
