/**
 * Runs one process: spawn (never through a shell unless the command is one), stream its
 * output as decoded chunks and lines, enforce the timeout, honour cancellation, and end the
 * whole process tree politely (SIGTERM) and then forcibly (SIGKILL) after a grace period.
 *
 * The runner knows nothing about logs or events: it hands every chunk to `onOutput`, and a
 * promise returned from there pauses that stream until it settles (backpressure), so a slow
 * disk throttles the child instead of growing our memory.
 */
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { LineBatch, LineSplitter } from './line-splitter.js';
import { groupAlive, signalTree, trackGroup, untrackGroup } from './kill-tree.js';

export type StreamName = 'stdout' | 'stderr';

export interface OutputChunk {
  stream: StreamName;
  /** The bytes exactly as read. */
  data: Buffer;
  /** Lines completed by this chunk (bytes, without `\n` / `\r\n`); decode only if needed. */
  lines: LineBatch;
  /** When the chunk was read (one timestamp per chunk: its lines arrived together). */
  timestamp: string;
}

export interface ProcessSpec {
  file: string;
  args: readonly string[];
  /** Undefined: the engine's own environment, inherited. */
  env: NodeJS.ProcessEnv | undefined;
  cwd?: string | undefined;
}

export interface RunOptions {
  timeoutMs: number;
  /** Time between SIGTERM and SIGKILL when stopping the tree. */
  killGraceMs: number;
  /** Longer lines are cut into pieces of at most this many bytes. */
  maxLineBytes: number;
  signal?: AbortSignal;
  onOutput(chunk: OutputChunk): void | Promise<void>;
  onSpawn?(pid: number): void;
}

export type EndReason = 'exited' | 'timeout' | 'cancelled' | 'spawn_failed';

export interface ProcessOutcome {
  reason: EndReason;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  spawnError: Error | null;
  startedAt: Date;
  endedAt: Date;
}

const MAX_TIMER_MS = 2 ** 31 - 1;
const EMPTY = Buffer.alloc(0);

export function runProcess(spec: ProcessSpec, options: RunOptions): Promise<ProcessOutcome> {
  return new Promise<ProcessOutcome>((resolve) => {
    const startedAt = new Date();
    let stopReason: 'timeout' | 'cancelled' | null = null;
    let settled = false;
    const timers: NodeJS.Timeout[] = [];

    const child = spawn(spec.file, spec.args as string[], {
      cwd: spec.cwd,
      env: spec.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true, // own process group, so the whole tree can be signalled at once
      windowsHide: true,
    });
    const pid = child.pid;

    const finish = (outcome: Omit<ProcessOutcome, 'startedAt' | 'endedAt'>): void => {
      if (settled) return;
      settled = true;
      for (const t of timers) clearTimeout(t);
      options.signal?.removeEventListener('abort', onAbort);
      if (pid !== undefined) untrackGroup(pid);
      resolve({ ...outcome, startedAt, endedAt: new Date() });
    };

    const stop = (reason: 'timeout' | 'cancelled'): void => {
      if (stopReason !== null || settled || pid === undefined) return;
      stopReason = reason;
      signalTree(pid, 'SIGTERM');
      const force = setTimeout(() => signalTree(pid, 'SIGKILL'), options.killGraceMs);
      force.unref();
      timers.push(force);
    };

    const onAbort = (): void => stop('cancelled');

    child.on('error', (err) => {
      // Only a spawn failure leaves us without a pid; later errors (e.g. kill failures) are not fatal.
      if (pid === undefined) {
        finish({ reason: 'spawn_failed', exitCode: null, signal: null, spawnError: err });
      }
    });
    if (pid === undefined) return;

    trackGroup(pid);
    options.onSpawn?.(pid);

    if (options.signal?.aborted) stop('cancelled');
    else options.signal?.addEventListener('abort', onAbort, { once: true });

    if (Number.isFinite(options.timeoutMs)) {
      // setTimeout fires at once for delays above 2^31-1 ms; such timeouts are effectively "never".
      const timeout = setTimeout(() => stop('timeout'), Math.min(options.timeoutMs, MAX_TIMER_MS));
      timers.push(timeout);
    }

    pipeStream(child.stdout, 'stdout', options);
    pipeStream(child.stderr, 'stderr', options);

    child.once('exit', () => {
      // The leader is gone; whatever it left in its group would hold our pipes open (and
      // would be orphaned). End it the same polite-then-forced way.
      if (!groupAlive(pid)) return;
      signalTree(pid, 'SIGTERM');
      const force = setTimeout(() => {
        if (groupAlive(pid)) signalTree(pid, 'SIGKILL');
      }, options.killGraceMs);
      force.unref();
      timers.push(force);
    });

    child.once('close', (code, signal) => {
      finish({
        reason: stopReason ?? 'exited',
        exitCode: code,
        signal: signal,
        spawnError: null,
      });
    });
  });
}

function pipeStream(stream: Readable, name: StreamName, options: RunOptions): void {
  const splitter = new LineSplitter(options.maxLineBytes);
  const deliver = (data: Buffer, lines: LineBatch): void => {
    if (data.length === 0 && lines.count === 0) return;
    const pending = options.onOutput({ stream: name, data, lines, timestamp: new Date().toISOString() });
    if (pending) {
      stream.pause();
      pending.then(
        () => stream.resume(),
        () => stream.resume(),
      );
    }
  };
  stream.on('data', (chunk: Buffer) => deliver(chunk, splitter.push(chunk)));
  // A read error (rare: EIO on a pipe) ends the stream; the child's 'close' still follows.
  stream.on('error', () => {});
  stream.once('end', () => deliver(EMPTY, splitter.end()));
}
