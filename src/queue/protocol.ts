/**
 * What submitters and workers say to each other through Redis, besides BullMQ's own job
 * records: a job per command, a reply stream per submitter (events in order, then the
 * result), and a cancel channel every worker listens to.
 */
import type { ExecutionEvent, ExecutionRequest, ExecutionResult } from '../wire/types.js';

/**
 * A job's id: one per submission, so the same execution id submitted again (after a restart,
 * or by two engines) is a new job, and a cancel marker or a failure of one never hits another.
 * BullMQ ids may not contain ':'.
 */
export function jobIdOf(clientId: string, executionId: string): string {
  return `${executionId}_${clientId}`;
}

/** The data of one BullMQ job: a command to run and where to report. */
export interface CommandJob {
  request: ExecutionRequest;
  /** The submitter's reply stream (a Redis stream key). */
  reply_to: string;
  plan_id: string | null;
}

export interface WorkerInfo {
  worker_id: string;
  host: string;
  pid: number;
  /** The command's log on the worker's machine. */
  log_path: string;
}

/** One entry of a reply stream holds a batch of these, in order. */
export type ReplyMessage = (
  | { t: 'events'; id: string; events: ExecutionEvent[] }
  | { t: 'result'; id: string; result: ExecutionResult; worker: WorkerInfo }
) & {
  /**
   * One attempt on one worker, its messages numbered: a batch written twice (ioredis resends
   * a MULTI after a reconnect) is recognised and dropped by the submitter.
   */
  run: string;
  seq: number;
};

export const JOB_NAME = 'command';
/** Reply streams of submitters that went away expire after this long without writes. */
export const REPLY_TTL_SECONDS = 24 * 60 * 60;

export const keys = {
  replies: (queue: string, clientId: string) => `cee:${queue}:replies:${clientId}`,
  cancelChannel: (queue: string) => `cee:${queue}:cancel`,
  /** Set before a cancel is announced, so a worker about to start the job sees it (keyed by job id). */
  cancelled: (queue: string, jobId: string) => `cee:${queue}:cancelled:${jobId}`,
};
