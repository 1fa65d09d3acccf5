/**
 * The queue executor: the submitting side of queue mode. The engine runs each command's
 * lifecycle as always (slot, log, events, capture, redaction, judgement, retries, result,
 * history); for each attempt this puts a BullMQ job in the queue and turns what the worker
 * streams back (its start, its output, its outcome) into the observer calls and outcome a
 * local run produces. What only a queue needs stays here: connecting lazily, the fleet-wide
 * limit, the watchdog for jobs no worker will ever report on, remote cancel, withdrawing a
 * job the submitter gave up on, and reading the reply stream.
 */
import { randomUUID } from 'node:crypto';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ExecutionConfig } from '../config.js';
import type { AttemptObserver, AttemptOutcome, AttemptSpec, CommandExecutor } from '../executor/contract.js';
import { queuePlace, type RedisConfig } from '../redis-config.js';
import { redactUrl, redisConnection, trackCopies, within } from './connections.js';
import {
  CANCEL_MARKER_TTL_SECONDS,
  type CommandJob,
  FAILED_JOB_KEPT_SECONDS,
  JOB_NAME,
  jobIdOf,
  keys,
  type ReplyMessage,
} from './protocol.js';
import { QueuedAttempt } from './queued-attempt.js';

const READ_BLOCK_MS = 1_000;
const READ_COUNT = 200;
/** Beyond the kill grace, how long a worker has to confirm a cancel before the submitter ends the attempt itself. */
const CANCEL_CONFIRM_MS = 10_000;
/** How often the submitter checks that each of its jobs is still queued or held by a live worker. */
const WATCH_MS = 5_000;
/** A Redis call the submitter waits on (cancel, cleanup) gives up after this long. */
const CALL_TIMEOUT_MS = 5_000;
/** Job states in which no worker has the job yet: a cancel can simply remove it. */
const NOT_TAKEN = new Set(['waiting', 'delayed', 'prioritized', 'waiting-children']);

export class QueueExecutor implements CommandExecutor {
  /** This submitter: names its reply stream and is part of each of its job ids. */
  readonly clientId = randomUUID();
  private readonly replyKey: string;
  /** Attempts in flight, by job id. */
  private readonly runs = new Map<string, QueuedAttempt>();
  private started: Promise<void> | null = null;
  private closed = false;
  private queue!: Queue;
  private reader!: Redis;
  private commands!: Redis;
  /** Connections BullMQ made from ours, if any: closed with ours. */
  private readonly duplicates: Redis[] = [];
  private readLoop: Promise<void> | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private watching = false;
  /** The last reply the reader has read and applied (a reply stream id). */
  private appliedId = '0-0';
  /** Resolves at close: a blocked read must not wait on a connection that, offline, never answers. */
  private stop!: () => void;
  private readonly stopped = new Promise<null>((resolve) => (this.stop = () => resolve(null)));

  readonly place: string;

  constructor(
    private readonly config: ExecutionConfig,
    private readonly redis: RedisConfig,
  ) {
    this.replyKey = keys.replies(redis.queue, this.clientId);
    this.place = queuePlace(redis);
  }

  /**
   * A dead submitter's jobs of these executions, found by their request id: queued ones are
   * taken out, running ones told to stop (their worker ends the process tree, as for a cancel).
   * Waits at most `waitMs` for them to leave the workers; resolves with the ids still running.
   */
  async endLeftovers(executionIds: readonly string[], waitMs: number): Promise<string[]> {
    const wanted = new Set(executionIds);
    if (wanted.size === 0) return [];
    await this.start();
    const jobs = await within(
      this.queue.getJobs(['active', 'waiting', 'delayed', 'prioritized', 'waiting-children']),
      CALL_TIMEOUT_MS,
      'listing the queue',
    );
    const left = jobs.filter((job) => job?.id && wanted.has((job.data as CommandJob | undefined)?.request?.id ?? ''));
    const running = new Map<string, string>(); // job id -> execution id
    for (const job of left) {
      const jobId = job.id!;
      const state = await within(job.getState(), CALL_TIMEOUT_MS, 'reading a job state');
      await within(
        this.commands.set(keys.cancelled(this.redis.queue, jobId), '1', 'EX', CANCEL_MARKER_TTL_SECONDS),
        CALL_TIMEOUT_MS,
        'marking a job cancelled',
      );
      // Queued, or held by no worker (its worker died and none noticed): taken out of the queue.
      const held = state === 'active' && (await this.commands.exists(`${this.queue.toKey(jobId)}:lock`)) === 1;
      const removable = NOT_TAKEN.has(state) || (state === 'active' && !held);
      if (
        removable &&
        (await job.remove().then(
          () => true,
          () => false,
        ))
      )
        continue;
      await within(
        this.commands.publish(keys.cancelChannel(this.redis.queue), jobId),
        CALL_TIMEOUT_MS,
        'announcing a cancel',
      );
      running.set(jobId, (job.data as CommandJob).request.id);
    }
    const deadline = Date.now() + waitMs;
    while (running.size > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      for (const jobId of [...running.keys()]) {
        const state = await within(this.queue.getJobState(jobId), CALL_TIMEOUT_MS, 'reading a job state');
        if (state !== 'active') running.delete(jobId);
      }
    }
    return [...new Set(running.values())];
  }

  /** Puts the attempt in the queue and follows it to its outcome; never rejects. */
  async run(attempt: AttemptSpec, observer: AttemptObserver): Promise<AttemptOutcome> {
    const queued = new QueuedAttempt(observer);
    const { signal } = attempt;
    if (signal.aborted) return queued.notRun('cancelled', null);
    try {
      await this.start();
    } catch (err) {
      return queued.notRun('queue_unavailable', (err as Error).message);
    }
    if (signal.aborted) return queued.notRun('cancelled', null);
    if (this.closed) return queued.notRun('queue_unavailable', 'the engine closed its connection to the queue');
    const jobId = jobIdOf(attempt.executionId, this.clientId, attempt.attempt);
    // Registered before the job exists: a quick worker may reply before `add` returns.
    this.runs.set(jobId, queued);
    const onAbort = () => void this.cancel(jobId, queued);
    try {
      const job: CommandJob = {
        request: attempt.request,
        attempt: attempt.attempt,
        timeout_ms: attempt.timeoutMs,
        max_output_bytes: attempt.maxOutputBytes,
        log_path: attempt.logPath,
        aws: attempt.aws,
        reply_to: this.replyKey,
        plan_id: attempt.planId,
      };
      // Completed jobs are not kept: the submitting engine's history and log hold the outcome.
      // A failed one is, for a while: the watchdog reads why from it when no worker said so.
      const adding = this.queue.add(JOB_NAME, job, {
        jobId,
        attempts: 1,
        removeOnComplete: true,
        removeOnFail: { age: FAILED_JOB_KEPT_SECONDS },
      });
      try {
        await within(adding, this.redis.connect_timeout_ms, 'queueing the command');
      } catch (err) {
        // Redis may still take the job when it comes back: make sure it then does not run.
        void this.withdraw(jobId);
        queued.endHere('queue_unavailable', (err as Error).message);
        return await queued.done;
      }
      queued.inQueue = true;
      signal.addEventListener('abort', onAbort, { once: true });
      if (signal.aborted) onAbort();
      return await queued.done;
    } finally {
      signal.removeEventListener('abort', onAbort);
      this.runs.delete(jobId);
    }
  }

  /**
   * Connections are opened at the first command, so an idle engine costs nothing. If Redis
   * cannot be reached in time the attempt is dropped (the next command tries again).
   */
  private start(): Promise<void> {
    return (this.started ??= (async () => {
      this.commands = trackCopies(redisConnection(this.redis.url), this.duplicates);
      this.reader = redisConnection(this.redis.url);
      // No QueueEvents: reading every event of the queue (each job's added, active, completed,
      // removed...) cost each submitter more than its own jobs did. A job BullMQ fails is
      // reported in the reply stream by the worker that failed it, or found by the watchdog.
      this.queue = new Queue(this.redis.queue, { connection: this.commands });
      // Connection trouble is retried underneath and reported through timeouts and lost attempts.
      this.queue.on('error', () => {});
      const ms = this.redis.connect_timeout_ms;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`cannot reach ${redactUrl(this.redis.url)} within ${ms} ms`)), ms);
      });
      try {
        await Promise.race([this.queue.waitUntilReady(), timeout]);
        // Set only when asked: the limit is the fleet's, and an engine started without one
        // (a one-off `run --redis`) must not overwrite what another configured.
        const limit = this.redis.global_concurrency;
        if (limit !== null) await Promise.race([this.queue.setGlobalConcurrency(limit), timeout]);
      } catch (err) {
        this.started = null;
        await this.disconnect();
        throw err;
      } finally {
        clearTimeout(timer);
      }
      this.readLoop = this.readReplies();
      this.watchdog = setInterval(() => void this.watch(), WATCH_MS);
      this.watchdog.unref();
    })());
  }

  /**
   * BullMQ notices a dead worker only from another live worker. When none is left, or the
   * job vanished (Redis restarted without persistence), nothing would ever end the attempt:
   * look at each job here, and end an attempt whose job is twice in a row neither queued nor held.
   */
  private async watch(): Promise<void> {
    if (this.watching || this.closed || this.runs.size === 0) return;
    this.watching = true;
    try {
      for (const [jobId, queued] of [...this.runs]) {
        if (!queued.inQueue || queued.isFinished) continue;
        let trouble: Trouble | null;
        try {
          trouble = await within(this.jobTrouble(jobId), CALL_TIMEOUT_MS, 'checking a job');
        } catch (err) {
          queued.unreachable(Math.max(30_000, 3 * this.redis.connect_timeout_ms), (err as Error).message);
          continue;
        }
        // Ended here: a worker that starts later must not run it again unobserved (a failed job is removed).
        if (queued.observe(trouble?.reason ?? null, trouble?.certain)) void this.withdraw(jobId);
      }
    } finally {
      this.watching = false;
    }
  }

  /** Why this job will never report, or null if it may still. */
  private async jobTrouble(jobId: string): Promise<Trouble | null> {
    const state = await this.queue.getJobState(jobId);
    if (state === 'failed') {
      // Failed by a worker that did not tell (of another version), or whose word is not read yet.
      const reason = (await this.queue.getJob(jobId))?.failedReason || 'the job failed in the queue';
      return { reason, certain: true };
    }
    if (state === 'unknown') {
      // A finished job is removed once its outcome is in the reply stream: if replies written
      // by now are not all read yet (a slow log holds the reader back), the outcome may be there.
      const newest = await this.commands.xrevrange(this.replyKey, '+', '-', 'COUNT', 1);
      if (streamIdAfter(newest[0]?.[0] ?? '0-0', this.appliedId)) return null;
      return {
        reason: 'the job left the queue without a result (was Redis restarted without persistence?)',
        certain: false,
      };
    }
    if (state !== 'active') return null;
    // A live worker renews the lock; without one, the worker died and no other worker noticed.
    if (await this.commands.exists(`${this.queue.toKey(jobId)}:lock`)) return null;
    return {
      reason: 'no worker holds the job any more (its worker died, and no other worker was running to notice)',
      certain: false,
    };
  }

  /** A queued job is taken out of the queue; a running one is stopped by its worker. */
  private async cancel(jobId: string, queued: QueuedAttempt): Promise<void> {
    // First, before any Redis call: a worker that died, a fleet that is gone or a Redis that
    // does not answer never confirms, and the attempt must still end.
    queued.expectCancelWithin(this.config.kill_grace_ms + CANCEL_CONFIRM_MS);
    try {
      const marking = this.commands.set(keys.cancelled(this.redis.queue, jobId), '1', 'EX', CANCEL_MARKER_TTL_SECONDS);
      await within(marking, CALL_TIMEOUT_MS, 'marking the job cancelled');
      const job = await within(this.queue.getJob(jobId), CALL_TIMEOUT_MS, 'finding the job');
      const state = job ? await within(job.getState(), CALL_TIMEOUT_MS, 'reading the job state') : 'unknown';
      if (job && NOT_TAKEN.has(state)) {
        try {
          await within(job.remove(), CALL_TIMEOUT_MS, 'removing the job');
          queued.cancelledInQueue();
          return;
        } catch {
          // Taken by a worker meanwhile: tell it.
        }
      }
      const announcing = this.commands.publish(keys.cancelChannel(this.redis.queue), jobId);
      await within(announcing, CALL_TIMEOUT_MS, 'announcing the cancel');
    } catch (err) {
      process.emitWarning(`cloudops-execution-engine: could not cancel queued job ${jobId}: ${(err as Error).message}`);
    }
  }

  /** A job the submitter gave up on must not run if Redis takes it late: mark it cancelled and remove it. */
  private async withdraw(jobId: string): Promise<void> {
    await this.commands
      .set(keys.cancelled(this.redis.queue, jobId), '1', 'EX', CANCEL_MARKER_TTL_SECONDS)
      .catch(() => null);
    await this.queue.remove(jobId).catch(() => 0);
  }

  private async readReplies(): Promise<void> {
    let lastId = '0-0';
    let sinceTrim = 0;
    while (!this.closed) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        const reading = this.reader.xread(
          'COUNT',
          READ_COUNT,
          'BLOCK',
          READ_BLOCK_MS,
          'STREAMS',
          this.replyKey,
          lastId,
        );
        reading.catch(() => null); // abandoned at close
        reply = (await Promise.race([reading, this.stopped])) as typeof reply;
        if (this.closed) return;
      } catch (err) {
        if (this.closed) return;
        process.emitWarning(
          `cloudops-execution-engine: reading worker replies failed, retrying: ${(err as Error).message}`,
        );
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      const touched = new Set<QueuedAttempt>();
      for (const [, entries] of reply ?? []) {
        for (const [entryId, fields] of entries) {
          lastId = entryId;
          sinceTrim++;
          const data = fields[fields.indexOf('m') + 1];
          if (!data) continue;
          let messages: ReplyMessage[];
          try {
            messages = JSON.parse(data) as ReplyMessage[];
          } catch (err) {
            process.emitWarning(
              `cloudops-execution-engine: skipped an unreadable worker reply ${entryId}: ${(err as Error).message}`,
            );
            continue;
          }
          for (const message of messages) {
            // Its reason is read: the failed job need not be kept.
            if (message.t === 'lost') void this.queue.remove(message.job).catch(() => 0);
            const queued = this.runs.get(message.job);
            if (!queued) continue;
            queued.receive(message);
            touched.add(queued);
          }
        }
      }
      // Backpressure: what was read is written (log, events) before more is read, so a slow
      // log keeps the output waiting in Redis rather than in this process's memory.
      await Promise.race([Promise.all([...touched].map((queued) => queued.settled())), this.stopped]);
      this.appliedId = lastId;
      // Entries already handled are dropped so the stream stays small.
      if (sinceTrim >= 1_000) {
        sinceTrim = 0;
        await this.reader.xtrim(this.replyKey, 'MINID', lastId).catch(() => 0);
      }
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.stop();
    // Nothing is left to report on what is still in flight (the engine normally drains first).
    for (const [jobId, queued] of this.runs) {
      queued.endHere('queue_unavailable', 'the engine closed its connection to the queue before the outcome arrived');
      if (queued.inQueue) void this.withdraw(jobId);
    }
    if (!this.started) return;
    if (
      !(await this.started.then(
        () => true,
        () => false,
      ))
    )
      return;
    if (this.watchdog) clearInterval(this.watchdog);
    this.reader.disconnect();
    await this.readLoop?.catch(() => {});
    await within(this.commands.del(this.replyKey), 2_000, 'removing the reply stream').catch(() => 0);
    await this.disconnect();
  }

  private async disconnect(): Promise<void> {
    // Closing BullMQ's objects waits on their connections: bounded, in case Redis is gone.
    const closing = Promise.allSettled([this.queue.close()]);
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    // BullMQ leaves connections it was given open, and copies it made of them: ours to close.
    for (const connection of [...this.duplicates, this.reader, this.commands]) connection.disconnect();
  }
}

/** Why a job will never report; `certain`: no need to look twice (BullMQ failed it). */
interface Trouble {
  reason: string;
  certain: boolean;
}

/** Whether reply stream id `a` ("ms-seq") comes after `b`. */
function streamIdAfter(a: string, b: string): boolean {
  const [aMs = 0n, aSeq = 0n] = a.split('-').map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split('-').map(BigInt);
  return aMs > bMs || (aMs === bMs && aSeq > bSeq);
}
