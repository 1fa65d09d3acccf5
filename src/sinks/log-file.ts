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

export class LogFile {
  private failure: Error | null = null;

  private constructor(
    readonly path: string,
    private readonly out: WriteStream,
  ) {
    out.on('error', (err) => {
      this.failure ??= err;
    });
  }

  static async open(path: string, header: Record<string, string>): Promise<LogFile> {
    try {
      await mkdir(dirname(path), { recursive: true });
    } catch (err) {
      throw ExecutionError.io(`cannot create log directory ${dirname(path)}: ${(err as Error).message}`, err);
    }
    const out = createWriteStream(path, { flags: 'w', mode: 0o600 });
    await new Promise<void>((resolve, reject) => {
      out.once('open', () => resolve());
      out.once('error', (err) => reject(ExecutionError.io(`cannot open log file ${path}: ${err.message}`, err)));
    });
    const log = new LogFile(path, out);
    log.write(Object.entries(header).map(([k, v]) => `# ${k}: ${v}\n`).join(''));
    return log;
  }

  append(stream: StreamName, lines: readonly string[], timestamp: string): Promise<void> | undefined {
    if (lines.length === 0) return undefined;
    const prefix = `${timestamp} [${stream}] `;
    let text = '';
    for (const line of lines) text += prefix + line + '\n';
    return this.write(text);
  }

  /** Engine notes (signals sent, truncation) interleaved with the output. */
  note(text: string): void {
    this.write(`${new Date().toISOString()} [engine] ${text}\n`);
  }

  async close(footer: Record<string, string>): Promise<void> {
    this.write(Object.entries(footer).map(([k, v]) => `# ${k}: ${v}\n`).join(''));
    await new Promise<void>((resolve) => this.out.end(resolve));
  }

  /** The first write error, if any (e.g. disk full). */
  get error(): Error | null {
    return this.failure;
  }

  private write(text: string): Promise<void> | undefined {
    if (this.failure || this.out.destroyed) return undefined;
    if (this.out.write(text)) return undefined;
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
