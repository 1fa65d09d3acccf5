/**
 * The per-execution log file: a header, then every output line of both streams in the
 * order read, each with its timestamp and stream, then a footer with the outcome.
 *
 *   2026-11-22T10:00:00.123Z [stdout] hello
 *
 * `append` returns a promise when the file's write buffer is full; the runner pauses the
 * child's pipe until it resolves, so a fast producer cannot outrun the disk in memory.
 *
 * The file is created when the command starts, but what is written to it is first held in
 * memory (see HOLD_MS): most commands end within that time, and their whole log then goes to
 * disk in one write instead of a stream's open, header, note, footer and close.
 */
import {
  close as closeFd,
  createWriteStream,
  open as openFd,
  type WriteStream,
  write as writeFd,
  writeSync,
} from 'node:fs';
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

/**
 * Formatted output is carved, chunk after chunk, from slabs of this size; a slab goes back to
 * a free list shared by all log files once it is full and its last write has completed. Up to
 * 512 KiB are in flight per log (the write buffer below): a pool of 4 whole buffers of 256 KiB
 * per log, one per chunk, ran dry and allocated ~2.7 fresh bytes per byte of output, garbage
 * outside V8's heap that raised peak RSS and forced full GCs.
 */
const SLAB_BYTES = 256 * 1024;
/** Free slabs kept for reuse, all log files together. */
const FREE_SLABS_KEPT = 8;
/** Smaller appends (a command printing a line now and then) get an exact-size buffer, so an idle log holds no slab. */
const SLAB_MIN_APPEND = 8 * 1024;

class Slab {
  readonly buffer = freeSlabs.pop() ?? Buffer.allocUnsafeSlow(SLAB_BYTES);
  used = 0;
  /** Writes from this slab not completed yet. */
  writing = 0;
  /** No more appends go here: it is freed when `writing` reaches 0. */
  sealed = false;

  seal(): void {
    this.sealed = true;
    this.releaseIfDone();
  }

  written(): void {
    this.writing--;
    this.releaseIfDone();
  }

  private releaseIfDone(): void {
    if (this.sealed && this.writing === 0 && freeSlabs.length < FREE_SLABS_KEPT) freeSlabs.push(this.buffer);
  }
}
const freeSlabs: Buffer[] = [];
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

/**
 * How long a log's content after its header may stay in memory. A running command's log is on disk by then
 * (`cloudops-exec logs`, a late subscriber's replay and a crash all see it); a command that ends
 * sooner is written whole at its end: one write (then a close, not waited for) where a stream
 * wrote header, note and footer apart and went through its own machinery, each write a round
 * trip through libuv's thread pool, for every command on the engine's busiest path.
 */
const HOLD_MS = 100;
/** Output held past this size is written at once (a command printing a lot streams as before). */
const HOLD_BYTES = 64 * 1024;

/** What a log holds in memory, in order, each piece with what to call once it is on disk. */
interface Held {
  data: string | Buffer;
  written?: () => void;
}

/** Logs holding content: written synchronously if the process exits first. */
const holding = new Set<LogFile>();
let exitHooked = false;

function hookExit(): void {
  if (exitHooked) return;
  exitHooked = true;
  process.once('exit', () => {
    for (const log of holding) log.writeHeldNow();
  });
}

function openFile(path: string): Promise<number> {
  return new Promise<number>((resolve, reject) =>
    openFd(path, 'w', 0o600, (err, fd) => (err ? reject(err) : resolve(fd))),
  );
}

/** Write all of `data` at the file's position (a short write goes on from where it stopped). */
function writeAll(fd: number, data: Buffer, done: (err: Error | null) => void, from = 0): void {
  writeFd(fd, data, from, data.length - from, null, (err, bytes) => {
    if (err) done(err);
    else if (from + bytes < data.length) writeAll(fd, data, done, from + bytes);
    else done(null);
  });
}

function joined(held: readonly Held[]): Buffer {
  return held.every((h) => typeof h.data === 'string')
    ? Buffer.from(held.map((h) => h.data).join(''))
    : Buffer.concat(held.map((h) => (typeof h.data === 'string' ? Buffer.from(h.data) : h.data)));
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
  private slab: Slab | null = null;
  /** Content not written yet (null once the log streams or is closed). */
  private held: Held[] | null = [];
  private heldBytes = 0;
  private readonly holdTimer: NodeJS.Timeout;
  /** The stream the log becomes past HOLD_MS or HOLD_BYTES. */
  private out: WriteStream | null = null;
  private closed = false;

  private constructor(
    readonly path: string,
    private readonly fd: number,
  ) {
    this.holdTimer = setTimeout(() => this.stream(), HOLD_MS);
    this.holdTimer.unref();
    holding.add(this);
    hookExit();
  }

  /**
   * Create (or truncate) the file now, so a log that cannot be written stops the command before
   * it runs; its content follows within HOLD_MS, or at `close`.
   */
  static async open(path: string, header: Record<string, string>): Promise<LogFile> {
    const dir = dirname(path);
    await ensureDir(dir);
    let fd: number;
    try {
      fd = await openFile(path);
    } catch (err) {
      // The folder was removed since we made it: make it again, once.
      if ((err as NodeJS.ErrnoException).code === 'ENOENT' && madeDirs.delete(dir)) return LogFile.open(path, header);
      throw ExecutionError.io(`cannot open log file ${path}: ${(err as Error).message}`, err);
    }
    // The header is written at once, not held: from the start, the file says which execution
    // it is and which engine ran it, so a crash of the engine within HOLD_MS still leaves a log
    // that `cloudops-exec status` reads as interrupted. (A small write to the page cache.)
    try {
      writeSync(fd, metaLines(header));
    } catch (err) {
      closeFd(fd, () => {});
      throw ExecutionError.io(`cannot write log file ${path}: ${(err as Error).message}`, err);
    }
    return new LogFile(path, fd);
  }

  /**
   * Lines stay bytes: formatting the log never decodes output into JavaScript strings, and
   * the formatted bytes go into recycled slabs instead of a fresh allocation per chunk (at
   * hundreds of MiB/s, fresh buffers pile up faster than the GC frees them).
   */
  append(stream: StreamName, lines: LineBatch, timestamp: string): Promise<void> | undefined {
    const count = lines.count;
    if (count === 0) return undefined;
    const prefix = Buffer.from(`${timestamp} [${stream}] `, 'latin1');
    const size = count * (prefix.length + 1) + lines.lineBytes;
    const slab = size >= SLAB_MIN_APPEND && size <= SLAB_BYTES ? this.slabFor(size) : null;
    const out = slab ? slab.buffer.subarray(slab.used, slab.used + size) : Buffer.allocUnsafe(size);
    const at = isNewlineRun(lines) ? formatRun(lines, prefix, out) : formatEach(lines, prefix, out);
    if (slab === null) return this.write(out.subarray(0, at));
    slab.used += at;
    slab.writing++;
    return this.write(out.subarray(0, at), () => slab.written());
  }

  /** The current slab if `size` bytes still fit in it, else a fresh one (the current one sealed). */
  private slabFor(size: number): Slab {
    if (this.slab !== null && this.slab.used + size <= SLAB_BYTES) return this.slab;
    this.slab?.seal();
    this.slab = new Slab();
    return this.slab;
  }

  /**
   * Engine notes (signals sent, truncation) interleaved with the output; never waited for.
   * A note often quotes the command: its control characters are escaped like header values.
   */
  note(text: string): void {
    this.put(`${new Date().toISOString()} [engine] ${escapeLogValue(text)}\n`);
  }

  async close(footer: Record<string, string>): Promise<void> {
    this.slab?.seal();
    this.slab = null;
    this.write(metaLines(footer));
    this.closed = true;
    if (this.out === null) return this.writeHeld();
    const out = this.out;
    await new Promise<void>((resolve) => out.end(resolve));
  }

  /** The first write error, if any (e.g. disk full). */
  get error(): Error | null {
    return this.failure;
  }

  private write(data: string | Buffer, written?: () => void): Promise<void> | undefined {
    if (this.put(data, written)) return undefined;
    const out = this.out!;
    return new Promise<void>((resolve) => {
      const done = () => {
        out.off('drain', done);
        out.off('error', done);
        out.off('close', done);
        resolve();
      };
      out.once('drain', done);
      out.once('error', done);
      out.once('close', done);
    });
  }

  /** Hold or write `data`; false when the stream's buffer is full (the caller may wait for 'drain'). */
  private put(data: string | Buffer, written?: () => void): boolean {
    if (this.failure || this.closed) return true;
    if (this.held !== null) {
      if (this.heldBytes + data.length <= HOLD_BYTES) {
        this.held.push({ data, written });
        this.heldBytes += data.length;
        return true;
      }
      this.stream();
    }
    const out = this.out!;
    return out.destroyed || out.write(data, written);
  }

  /** From now on the log is a stream on its file, starting with what was held. */
  private stream(): void {
    const held = this.release();
    if (held === null) return;
    const out = createWriteStream(this.path, { fd: this.fd, highWaterMark: WRITE_BUFFER_BYTES });
    out.on('error', (err) => {
      this.failure ??= err;
    });
    this.out = out;
    for (const { data, written } of held) out.write(data, written);
  }

  /** The whole log of a command that ended while it was held: one write; the file is closed after. */
  private writeHeld(): Promise<void> {
    const held = this.release();
    if (held === null) return Promise.resolve();
    return new Promise<void>((resolve) =>
      writeAll(this.fd, joined(held), (err) => {
        if (err) this.failure ??= err;
        for (const h of held) h.written?.();
        // Like a stream's `end`, done once written; the descriptor is let go in the background.
        closeFd(this.fd, () => {});
        resolve();
      }),
    );
  }

  /** At process exit: what is held goes to disk now (the event loop will not run again). */
  writeHeldNow(): void {
    const held = this.release();
    if (held === null) return;
    try {
      writeSync(this.fd, joined(held));
    } catch {
      // exiting: nothing left to report to
    }
  }

  /** Stop holding: what was held, or null if the log no longer holds anything. */
  private release(): Held[] | null {
    const held = this.held;
    if (held === null) return null;
    this.held = null;
    clearTimeout(this.holdTimer);
    holding.delete(this);
    return held;
  }
}
