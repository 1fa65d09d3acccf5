/**
 * What submitters and workers say to each other through Redis, besides BullMQ's own job
 * records: a job per attempt, a reply stream per submitter (the attempt's start, its output
 * in order, then its outcome), and a cancel channel every worker listens to.
 */
import type { AwsRunSettings } from '../command/aws.js';
import type { AttemptOutcome } from '../executor/contract.js';
import type { ExecutionRequest } from '../wire/types.js';

/**
 * A job's id: one per attempt and submitter, so the same execution id submitted again (after
 * a restart, or by two engines) or retried is a new job, and a cancel marker or a failure of
 * one never hits another. BullMQ ids may not contain ':'.
 */
export function jobIdOf(executionId: string, clientId: string, attempt: number): string {
  return `${executionId}_${clientId}_${attempt}`;
}

/** The data of one BullMQ job: one attempt of a command, and where to report. */
export interface CommandJob {
  request: ExecutionRequest;
  /** 1 for the first attempt, 2 for the first retry, ... (the submitting engine retries, never the worker). */
  attempt: number;
  /**
   * The submitting engine's limit for this attempt (the request's `timeout_ms`, else its own
   * default): the worker enforces exactly this, so the result's "timeout after N ms" is true.
   */
  timeout_ms: number;
  /** The submitting engine's bound on the output a result keeps, per stream (the log keeps all). */
  max_output_bytes: number;
  /** The submitting engine's log of the execution: where a cut result says the whole output is. */
  log_path: string;
  /** Where the run's AWS calls go (the submitting engine's settings and endpoint variables, never the worker's). */
  aws: AwsRunSettings;
  /** The submitter's reply stream (a Redis stream key). */
  reply_to: string;
  plan_id: string | null;
}

/** The worker process that ran an attempt. */
export interface WorkerInfo {
  worker_id: string;
  host: string;
  pid: number;
}

/** An attempt's outcome as it travels: the dates as ISO strings. */
export type WireOutcome = Omit<AttemptOutcome, 'startedAt' | 'endedAt'> & { startedAt: string; endedAt: string };

/** One entry of a reply stream holds a batch of these, in order. */
export type ReplyMessage = (
  | { t: 'spawned'; pid: number; what: string; worker: WorkerInfo }
  /** Complete lines (already redacted on the worker), without their newlines. */
  | { t: 'output'; stream: 'stdout' | 'stderr'; lines: string[]; timestamp: string }
  | { t: 'outcome'; outcome: WireOutcome; worker: WorkerInfo }
  /**
   * BullMQ failed the job without an outcome (its worker died and this one found it stalled
   * past the limit, or the job could not be processed): sent by the worker that failed it.
   */
  | { t: 'lost'; reason: string; worker: WorkerInfo }
) & {
  /** The job the message is about (a submitter has many in flight). */
  job: string;
  /**
   * One run of the job on one worker (a job handed to a second worker is a second run), its
   * messages numbered: a batch written twice (ioredis resends unanswered commands after a
   * reconnect) is recognised and dropped by the submitter.
   */
  run: string;
  seq: number;
};

export function toWire(outcome: AttemptOutcome): WireOutcome {
  return { ...outcome, startedAt: outcome.startedAt.toISOString(), endedAt: outcome.endedAt.toISOString() };
}

export function fromWire(outcome: WireOutcome): AttemptOutcome {
  return { ...outcome, startedAt: new Date(outcome.startedAt), endedAt: new Date(outcome.endedAt) };
}

/**
 * The job name carries the protocol's version: a worker of another version refuses the job at
 * once (BullMQ fails it, and the submitter reports the worker lost) instead of misreporting it.
 */
export const JOB_NAME = 'command.v4';
/** Reply streams of submitters that went away expire after about this long without writes (renewed once a minute while written). */
export const REPLY_TTL_SECONDS = 24 * 60 * 60;
/**
 * A failed job is kept this long (BullMQ drops it when a later job fails after that), so a
 * submitter that was not told (a worker of another version refused it) reads why from it.
 */
export const FAILED_JOB_KEPT_SECONDS = 60 * 60;
/** A cancel marker outlives any job it could concern. */
export const CANCEL_MARKER_TTL_SECONDS = 24 * 60 * 60;

export const keys = {
  replies: (queue: string, clientId: string) => `cee:${queue}:replies:${clientId}`,
  cancelChannel: (queue: string) => `cee:${queue}:cancel`,
  /** Set before a cancel is announced, so a worker about to start the job sees it (keyed by job id). */
  cancelled: (queue: string, jobId: string) => `cee:${queue}:cancelled:${jobId}`,
};
