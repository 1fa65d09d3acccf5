/**
 * Runs one process: spawn (never through a shell unless the command is one), stream its
 * output as decoded chunks and lines, enforce the timeout, honour cancellation, and end the
 * whole process tree politely (SIGTERM) and then forcibly (SIGKILL) after a grace period.
 *
 * Every command is contained (containment.ts): in a PID namespace of its own where that works,
 * so no descendant can outlive it, else as the leader of its own process group. Either way,
 * once the command itself is gone and what it left was killed, we stop waiting for its output
 * pipes: a daemon that escaped (or got a pipe handed out) cannot hold the result hostage.
 *
 * Commands are started by spawn-server.ts (without forking the engine where it can), which
 * hands back a ChildProcess-like object; everything after the pid is known is done here.
 *
 * The runner knows nothing about logs or events: it hands every chunk to `onOutput`, and a
 * promise returned from there pauses that stream until it settles (backpressure), so a slow
 * disk throttles the child instead of growing our memory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { Readable } from 'node:stream';
import {
  type Containment,
  type ContainmentMode,
  type ContainmentSetting,
  chooseContainment,
  launchCommand,
  markNamespaceBroken,
  type NamespaceLauncher,
  warnFallback,
} from './containment.js';
import { InitChannel, type InitReport, initExitCode } from './containment-init.js';
import { groupAlive, signalTree, trackGroup, trySignal, untrackGroup } from './kill-tree.js';
import { type LineBatch, LineSplitter } from './line-splitter.js';
import { type StartedChild, startChild } from './spawn-server.js';

export type { ContainmentMode, ContainmentSetting } from './containment.js';

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
  /** Byte strings a long-line cut must not split (secret values: redaction runs per piece). */
  keepTogether?: readonly Buffer[];
  /** How descendants are kept from escaping; default `auto`. */
  containment?: ContainmentSetting;
  signal?: AbortSignal;
  onOutput(chunk: OutputChunk): void | Promise<void>;
  /** The pid we spawned, which leads the process group (in a namespace: `unshare`, the namespace's parent). */
  onSpawn?(pid: number): void;
}

export type EndReason = 'exited' | 'timeout' | 'cancelled' | 'spawn_failed';

export interface ProcessOutcome {
  reason: EndReason;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  spawnError: Error | null;
  /** How the command was contained; null if it never started. */
  containment: ContainmentMode | null;
  startedAt: Date;
  endedAt: Date;
}

type Ending = Omit<ProcessOutcome, 'startedAt' | 'endedAt' | 'containment'>;

const MAX_TIMER_MS = 2 ** 31 - 1;
const EMPTY = Buffer.alloc(0);
/**
 * After the tree is dead, how long pipes may stay open before we assume someone outside it
 * holds them. Everything the tree wrote is in the pipe by then; reading it takes far less.
 */
const DRAIN_MS = 100;
/**
 * How long a stop waits at least for the spawn server to cancel a command or report its pid
 * before the run ends without it (the grace period when longer). Not the grace period alone:
 * with `kill_grace_ms: 0` a busy server's answer would otherwise always come too late, and a
 * command that started would be reported as never started.
 */
const STALL_MS = 1000;

const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);
const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

export function runProcess(spec: ProcessSpec, options: RunOptions): Promise<ProcessOutcome> {
  const setting = options.containment ?? 'auto';
  const containment = chooseContainment(setting);
  if (containment instanceof Promise) return containment.then((c) => runContained(spec, options, c, setting));
  return runContained(spec, options, containment, setting);
}

function runContained(
  spec: ProcessSpec,
  options: RunOptions,
  containment: Containment,
  setting: ContainmentSetting,
): Promise<ProcessOutcome> {
  if (containment.mode === 'unavailable') {
    const now = new Date();
    const error = new Error(
      `process_containment is pid_namespace, but no PID namespace can be made here: ${containment.reason}`,
    );
    return Promise.resolve({
      reason: 'spawn_failed',
      exitCode: null,
      signal: null,
      spawnError: error,
      containment: null,
      startedAt: now,
      endedAt: now,
    });
  }
  return new Promise<ProcessOutcome>((resolve) => {
    new ProcessRun(
      spec,
      options,
      containment.mode === 'pid_namespace' ? containment.launcher : null,
      (outcome, retry) => {
        if (!retry) return resolve(outcome);
        // The namespace could not be made although the probe could: the command never started.
        if (setting === 'pid_namespace') {
          const error = new Error(`process_containment is pid_namespace, but no PID namespace could be made: ${retry}`);
          return resolve({
            ...outcome,
            reason: 'spawn_failed',
            exitCode: null,
            signal: null,
            spawnError: error,
            containment: null,
          });
        }
        warnFallback(retry);
        resolve(runContained(spec, options, { mode: 'process_group' }, 'process_group'));
      },
    );
  });
}

/** One spawned command, from spawn to the moment its result is known. */
class ProcessRun {
  private readonly startedAt = new Date();
  private readonly child: StartedChild;
  private pid: number | undefined;
  private readonly streams: Readable[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private settled = false;
  private stopReason: 'timeout' | 'cancelled' | null = null;
  private forceTimer: NodeJS.Timeout | null = null;
  private stallTimer: NodeJS.Timeout | null = null;
  private drainTimer: NodeJS.Timeout | null = null;
  /** The command itself has ended (its exit reported, or it is known dead). */
  private leaderGone = false;
  /** Everything it left was SIGKILLed, or nothing can be left. */
  private treeDead = false;
  /** Namespace mode: set once the spawned `unshare` exited (the namespace is empty then). */
  private launcherExited = false;
  private initPid = 0;
  private ready = false;
  private termPending = false;
  private ended: Extract<InitReport, { kind: 'ended' }> | null = null;
  private execErrno: number | null = null;
  private channel: InitChannel | null = null;
  private readonly paused = new Set<Readable>();

  constructor(
    private readonly spec: ProcessSpec,
    private readonly options: RunOptions,
    private readonly ns: NamespaceLauncher | null,
    private readonly done: (outcome: ProcessOutcome, retryReason: string | null) => void,
  ) {
    const launch = ns ? launchCommand(ns, spec.file, spec.args, spec.env) : null;
    this.child = ns
      ? // fd 2 is the init's report channel; the command's stderr travels on fd 3.
        startChild(ns.file, launch!.args, { cwd: spec.cwd, env: launch!.env, pipes: 3 })
      : startChild(spec.file, spec.args, { cwd: spec.cwd, env: spec.env, pipes: 2 });

    this.child.on('error', (err: Error) => {
      // Only a spawn failure leaves us without a pid; later errors (e.g. kill failures) are not fatal.
      if (this.pid !== undefined) return;
      // Stopped before it started (abandoned, see stop): it ends as stopped, having never run.
      if (this.stopReason !== null)
        this.finish({ reason: this.stopReason, exitCode: null, signal: null, spawnError: null }, null);
      else this.spawnFailed(err);
    });
    // Armed before the pid is known: a cancel or a timeout that comes before the spawn server
    // reports the command's pid still stops it (see stop and giveUp).
    if (options.signal?.aborted) this.stop('cancelled');
    else options.signal?.addEventListener('abort', this.onAbort, { once: true });
    if (Number.isFinite(options.timeoutMs)) {
      // setTimeout fires at once for delays above 2^31-1 ms; such timeouts are effectively "never".
      this.timers.push(setTimeout(() => this.stop('timeout'), Math.min(options.timeoutMs, MAX_TIMER_MS)));
    }
    // libuv's spawn knows the pid at once; the spawn server tells it a little later.
    if (this.child.pid !== undefined) this.onStarted(this.child.pid);
    else this.child.once('spawn', () => this.onStarted(this.child.pid!));
  }

  /** The command runs as `pid`, leading its own process group; nothing of its output was read yet. */
  private onStarted(pid: number): void {
    const stdio = this.child.stdio;
    if (this.settled) {
      // Given up on before its pid arrived (giveUp, below): it must not run on unobserved.
      signalTree(pid, 'SIGKILL');
      for (const stream of stdio) (stream as Readable | null)?.destroy();
      return;
    }
    this.pid = pid;
    const options = this.options;
    const ns = this.ns;
    trackGroup(pid);
    options.onSpawn?.(pid);

    this.pipe(stdio[1] as Readable, 'stdout');
    if (ns) {
      const channel = new InitChannel((report) => this.onReport(report));
      this.channel = channel;
      const control = stdio[2] as Readable;
      this.streams.push(control);
      control.on('data', (chunk: Buffer) => channel.push(chunk));
      control.on('error', () => {});
      control.once('close', () => channel.end());
      this.pipe(stdio[3] as Readable, 'stderr');
    } else {
      this.pipe(stdio[2] as Readable, 'stderr');
    }

    this.child.once('exit', () => {
      if (ns) {
        // The init is gone, and with it everything in the namespace (the kernel saw to that).
        this.launcherExited = true;
        this.treeDead = true;
      }
      this.onLeaderGone();
    });
    this.child.once('close', (code, signal) => this.onClose(code, signal));
    if (this.stopReason !== null) {
      // A stop asked for before the pid was known.
      if (this.stallTimer) clearTimeout(this.stallTimer);
      this.politeStop();
      this.startForceTimer();
    }
  }

  private readonly onAbort = (): void => this.stop('cancelled');

  private finish(ending: Ending, containment: ContainmentMode | null, retryReason: string | null = null): void {
    if (this.settled) return;
    this.settled = true;
    for (const t of this.timers) clearTimeout(t);
    this.options.signal?.removeEventListener('abort', this.onAbort);
    if (this.pid !== undefined) untrackGroup(this.pid);
    this.done({ ...ending, containment, startedAt: this.startedAt, endedAt: new Date() }, retryReason);
  }

  private spawnFailed(err: Error): void {
    if (this.ns && !existsSync(this.ns.file)) {
      // The launcher itself went missing since the probe: not the command's fault.
      markNamespaceBroken(this.ns, `${this.ns.file} is gone`);
      return this.finish(
        { reason: 'spawn_failed', exitCode: null, signal: null, spawnError: err },
        null,
        `${this.ns.file} is gone`,
      );
    }
    // Failing to start the launcher (a missing cwd, say) reads as failing to start the command.
    const error = this.ns
      ? commandSpawnError(
          this.spec,
          (err as NodeJS.ErrnoException).code ?? 'EUNKNOWN',
          (err as NodeJS.ErrnoException).errno,
        )
      : err;
    this.finish({ reason: 'spawn_failed', exitCode: null, signal: null, spawnError: error }, null);
  }

  private onReport(report: InitReport): void {
    switch (report.kind) {
      case 'ready':
        // The channel passes only the first report, written before the command was forked;
        // and the pid must be our unshare's child (else it is unknown: signal unshare's tree).
        this.ready = true;
        this.initPid = report.pid > 1 && this.initIsOurs(report.pid) ? report.pid : 0;
        if (this.termPending) this.politeStop();
        return;
      case 'exec_failed':
        this.execErrno = report.errno;
        return;
      case 'ended':
        this.ended = report;
        // Leftovers were sent SIGTERM by the init: they get the grace period, then SIGKILL.
        // None: the init exits at once, and unshare's exit tells us the rest; acting on the
        // report here would let a forged one cut the still-running command's pipes.
        if (report.leftovers) this.onLeaderGone();
    }
  }

  /**
   * `pid` is a child of the unshare we spawned. Checked again before each signal: once the init
   * is reaped its pid may be reused, and a pid signalled must never be someone else's.
   */
  private initIsOurs(pid: number): boolean {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === this.pid;
    } catch {
      return false;
    }
  }

  /** SIGTERM to the whole tree. */
  private politeStop(): void {
    if (this.pid === undefined || this.launcherExited) return;
    if (!this.ns) {
      // Once the leader was reaped its pid is free again: signal it only while its group lives.
      if (!this.leaderGone || groupAlive(this.pid)) signalTree(this.pid, 'SIGTERM');
      return;
    }
    // The init passes it to every process in the namespace, each exactly once.
    if (this.initPid) {
      if (this.initIsOurs(this.initPid)) trySignal(this.initPid, 'SIGTERM');
    } else if (this.ready)
      signalTree(this.pid, 'SIGTERM'); // its pid is unknown: reach them one by one
    else this.termPending = true; // not up yet: as soon as it is
  }

  /** SIGKILL to the whole tree. */
  private force(): void {
    const pid = this.pid!;
    if (this.ns) {
      // unshare and the init share our group; the init's death takes the namespace with it.
      if (!this.launcherExited) {
        trySignal(-pid, 'SIGKILL');
        if (this.initPid && this.initIsOurs(this.initPid)) trySignal(this.initPid, 'SIGKILL');
      }
    } else if (!this.leaderGone || groupAlive(pid)) {
      signalTree(pid, 'SIGKILL');
    }
    this.treeDead = true;
    this.scheduleDrain();
  }

  private stop(reason: 'timeout' | 'cancelled'): void {
    if (this.stopReason !== null || this.settled) return;
    this.stopReason = reason;
    if (this.pid !== undefined) {
      this.politeStop();
      this.startForceTimer();
      return;
    }
    // No pid yet (the spawn server has not said it): the command is not started if it still
    // can be (the cancel comes back as its 'error'), else onStarted stops it once its pid is
    // here. A server that answers neither is stalled: the run ends without it (giveUp).
    this.child.abandon?.();
    this.stallTimer = setTimeout(() => this.giveUp(), Math.max(this.options.killGraceMs, STALL_MS));
    this.stallTimer.unref();
    this.timers.push(this.stallTimer);
  }

  /** Stopped, and still no word of the command: it ends as stopped; onStarted kills it if it starts after all. */
  private giveUp(): void {
    if (this.pid !== undefined || this.settled) return;
    this.finish({ reason: this.stopReason!, exitCode: null, signal: null, spawnError: null }, null);
    this.child.release?.();
  }

  private startForceTimer(): void {
    if (this.forceTimer) return;
    this.forceTimer = setTimeout(() => this.force(), this.options.killGraceMs);
    this.forceTimer.unref();
    this.timers.push(this.forceTimer);
  }

  /**
   * The command itself is gone; whatever it left would hold our pipes open (and would be
   * orphaned). End it the same polite-then-forced way.
   */
  private onLeaderGone(): void {
    if (this.leaderGone) return this.scheduleDrain();
    this.leaderGone = true;
    if (!this.ns) {
      // One syscall on the common path; a walk only when something is left in the group (and
      // a stop has not signalled it already). What left the group and lost its parent is out
      // of reach here: nothing to wait for.
      if (!groupAlive(this.pid!)) this.treeDead = true;
      else if (!this.forceTimer) signalTree(this.pid!, 'SIGTERM');
    }
    // In a namespace the init has sent leftovers SIGTERM already.
    if (!this.treeDead) this.startForceTimer();
    this.scheduleDrain();
  }

  /** Once the leader is gone and the tree dead, pipes still open are held from outside: let go of them. */
  private scheduleDrain(): void {
    if (!this.leaderGone || !this.treeDead || this.drainTimer || this.settled) return;
    this.drainTimer = setTimeout(() => this.releasePipes(), DRAIN_MS);
    this.drainTimer.unref();
    this.timers.push(this.drainTimer);
  }

  private releasePipes(): void {
    // One more turn of the loop first, so data already in a pipe is read before we let go.
    setImmediate(() => {
      if (this.settled) return;
      const waiting = this.streams.filter((s) => !s.destroyed && !s.readableEnded);
      // A stream paused for backpressure still has our reader behind it: wait for it.
      if (waiting.some((s) => this.paused.has(s))) {
        this.drainTimer = setTimeout(() => this.releasePipes(), DRAIN_MS);
        this.timers.push(this.drainTimer);
        return;
      }
      for (const stream of waiting) stream.destroy();
    });
  }

  private onClose(code: number | null, signal: NodeJS.Signals | null): void {
    if (!this.ns) {
      return this.finish(
        { reason: this.stopReason ?? 'exited', exitCode: code, signal, spawnError: null },
        'process_group',
      );
    }
    // Reports can be forged by a root command (containment-init.ts): one counts only if unshare
    // exited as the init does after sending it. If unshare was killed there is nothing to check
    // against; then a forged end report can only misstate the command's own status.
    const agrees = (report: Exclude<InitReport, { kind: 'ready' }>): boolean =>
      code === null || initExitCode(report) === code;
    if (this.execErrno !== null && code === 127) {
      const name = ERRNO_NAMES.get(this.execErrno) ?? `E${this.execErrno}`;
      return this.finish(
        {
          reason: 'spawn_failed',
          exitCode: null,
          signal: null,
          spawnError: commandSpawnError(this.spec, name, -this.execErrno),
        },
        null,
      );
    }
    if (!this.ready && this.stopReason === null) {
      // The init never came up, so the command never started.
      const said = this.channel?.other.trim().split('\n')[0] ?? '';
      const reason = `${this.ns.file} ${signal ?? `exited ${code}`}${said ? `: ${said}` : ''}`;
      markNamespaceBroken(this.ns, reason);
      return this.finish({ reason: 'spawn_failed', exitCode: null, signal: null, spawnError: null }, null, reason);
    }
    const reason = this.stopReason ?? 'exited';
    if (this.ended && agrees(this.ended)) {
      const sig = this.ended.signal === null ? null : (SIGNAL_NAMES.get(this.ended.signal) ?? null);
      return this.finish({ reason, exitCode: this.ended.exitCode, signal: sig, spawnError: null }, 'pid_namespace');
    }
    // The init exited with the command's status, but its report was missing or forged.
    if (code !== null) return this.finish({ reason, exitCode: code, signal: null, spawnError: null }, 'pid_namespace');
    // No report: the init was SIGKILLed (by us, or with unshare), taking the command with it.
    this.finish({ reason, exitCode: null, signal: signal ?? 'SIGKILL', spawnError: null }, 'pid_namespace');
  }

  private pipe(stream: Readable, name: StreamName): void {
    this.streams.push(stream);
    const options = this.options;
    const splitter = new LineSplitter(options.maxLineBytes, options.keepTogether);
    const deliver = (data: Buffer, lines: LineBatch): void => {
      if (data.length === 0 && lines.count === 0) return;
      const pending = options.onOutput({ stream: name, data, lines, timestamp: new Date().toISOString() });
      if (pending) {
        stream.pause();
        this.paused.add(stream);
        const resume = (): void => {
          this.paused.delete(stream);
          stream.resume();
        };
        pending.then(resume, resume);
      }
    };
    stream.on('data', (chunk: Buffer) => deliver(chunk, splitter.push(chunk)));
    // A read error (rare: EIO on a pipe) ends the stream; the child's 'close' still follows.
    stream.on('error', () => {});
    // 'end' when the writers are gone; only 'close' when we let go of a pipe held from outside.
    let flushed = false;
    const flush = (): void => {
      if (flushed) return;
      flushed = true;
      deliver(EMPTY, splitter.end());
    };
    stream.once('end', flush);
    stream.once('close', flush);
  }
}

/** The error spawning the command directly would have given (`spawn <file> ENOENT`, ...). */
function commandSpawnError(spec: ProcessSpec, code: string, errno: number | undefined): Error {
  return Object.assign(new Error(`spawn ${spec.file} ${code}`), {
    errno,
    code,
    syscall: `spawn ${spec.file}`,
    path: spec.file,
    spawnargs: [...spec.args],
  });
}
