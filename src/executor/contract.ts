/**
 * The executor contract, owned by the engine (as BullMQ's core owns its backend interface):
 * the engine runs a command's lifecycle once (slot, log, events, capture, redaction,
 * judgement, retries, result, history) and hands each attempt to an executor, which runs it
 * somewhere and reports its output and how it ended. The local executor spawns it here; the
 * queue executor has a worker spawn it and turns the worker's replies into the same output
 * chunks and outcome. Nothing else differs between the two.
 */

import type { AwsRunSettings } from '../command/aws.js';
import type { OutputChunk } from '../runner/process.js';
import type { ExecutionRequest } from '../wire/types.js';

export type { OutputChunk } from '../runner/process.js';

/** One attempt to run a command. */
export interface AttemptSpec {
  /** The execution the attempt belongs to. */
  executionId: string;
  planId: string | null;
  request: ExecutionRequest;
  /** 1 for the first attempt, 2 for the first retry, ... */
  attempt: number;
  timeoutMs: number;
  /** Where the engine keeps the command's whole output (an executor that bounds what it reports names it). */
  logPath: string;
  /** The bound, per stream, on the output a result keeps. */
  maxOutputBytes: number;
  /** Aborted to cancel: the executor stops the attempt (its whole process tree) and reports `cancelled`. */
  signal: AbortSignal;
  /** Byte strings a long-line cut must not split (the request's secrets: redaction runs per piece). */
  keepTogether: readonly Buffer[];
  /** Where the run's AWS calls go, and its default profile and region (the submitting engine's). */
  aws: AwsRunSettings;
}

/** What an executor reports while an attempt runs. */
export interface AttemptObserver {
  /**
   * The attempt begins now: it is no longer waiting for somewhere to run (the command turns
   * `running`). Called before any other report; more calls are ignored.
   */
  started(): void;
  /**
   * The attempt's process started on THIS machine: the pid leading its process group (what a
   * later engine ends if this one dies first) and what was spawned, for the log. An executor
   * running it elsewhere reports that with `note` instead.
   */
  spawned(pid: number, what: string): void;
  /** Output, in order per stream. A returned promise pauses that stream until it settles (backpressure). */
  output(chunk: OutputChunk): void | Promise<void>;
  /** A line for the command's log about how the attempt ran (which worker ran it, ...). */
  note(text: string): void;
  /** The executor started the attempt over on its own (a queue worker died and another took the job). */
  restarted(reason: string): void;
}

/**
 * How an attempt ended. The first four are the process's own ends; the last two are an
 * executor's: it could not reach where commands run, or lost the one running this attempt.
 */
export type AttemptEnd = 'exited' | 'timeout' | 'cancelled' | 'spawn_failed' | 'queue_unavailable' | 'worker_lost';

export interface AttemptOutcome {
  end: AttemptEnd;
  /** The exit code when the process exited on its own; null when a signal ended it or it never ran. */
  exitCode: number | null;
  signal: string | null;
  /**
   * Why: what could not be spawned, what was lost, where a cancel landed. Null when the end
   * says it all, and for a timeout or cancel it is null exactly when the executor itself stopped
   * the process tree (a cancel no worker confirmed carries a detail saying so).
   */
  detail: string | null;
  /** Whether a process ran at all (an attempt cancelled in the queue never did). */
  ran: boolean;
  /**
   * The command's output exactly as it was (bounded, redacted), from an executor whose output
   * chunks are not the exact bytes: a queue worker streams whole lines, so CRLF endings, a
   * last line without a newline and cut long lines travel only here. Absent: the chunks are
   * exact, and the engine's own capture of them is the result's output.
   */
  output?: CapturedOutput;
  startedAt: Date;
  endedAt: Date;
}

export interface CapturedOutput {
  stdout: string;
  stderr: string;
  stdout_truncated: boolean;
  stderr_truncated: boolean;
}

export interface CommandExecutor {
  /**
   * Where attempts run, as the history records it: `local` (this machine: a later engine here
   * ends what a dead one left), or `queue:NAME` (a queue's workers; see `endLeftovers`).
   * Default `local`.
   */
  readonly place?: string;
  /** Run one attempt to its outcome. Never rejects: every failure is an outcome. */
  run(attempt: AttemptSpec, observer: AttemptObserver): Promise<AttemptOutcome>;
  /**
   * End what engines before this one left of these executions where this executor runs them (a
   * dead submitter's queued jobs are taken out, running ones stopped by their workers), waiting
   * at most `waitMs`. Resolves with the ids still running. Absent: the executor cannot tell.
   */
  endLeftovers?(executionIds: readonly string[], waitMs: number): Promise<string[]>;
  /** Let go of what the executor holds (connections, workers); called once, at engine shutdown. */
  close(): Promise<void>;
}
