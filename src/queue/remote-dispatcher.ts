/**
 * The submitting side of queue-backed mode. The engine schedules as always (plans, DAGs,
 * slots, approvals); where it would spawn a command, this puts a BullMQ job in the queue and
 * turns what the worker streams back (events in order, then the result) into the same
 * events, log file and result a local run produces. Cancel removes a queued job or reaches
 * the worker running it; a worker that dies is reported by BullMQ's stalled-job check.
 */
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ExecutionConfig } from '../config.js';
import { ExecutionError } from '../errors.js';
import { finishUnstarted, finishWithResult, resultWithoutOutput, type CommandContext } from '../engine/run-command.js';
import type { TrackedCommand } from '../engine/tracked.js';
import { LineBatch } from '../runner/line-splitter.js';
import { LogFile } from '../sinks/log-file.js';
import type { ExecutionEvent, ExecutionResult } from '../wire/types.js';
import { JOB_NAME, jobIdOf, keys, type CommandJob, type ReplyMessage } from './protocol.js';
import { redactUrl, redisConnection, trackCopies, within } from './connections.js';
import type { RedisConfig } from '../redis-config.js';

const READ_BLOCK_MS = 1_000;
/** Beyond the kill grace, how long a worker has to confirm a cancel before the submitter ends the run itself. */
const CANCEL_CONFIRM_MS = 10_000;
const READ_COUNT = 200;
/** How often the submitter checks that each of its jobs is still queued or held by a live worker. */
const WATCH_MS = 5_000;
/** A Redis call the submitter waits on (cancel, cleanup) gives up after this long. */
const CALL_TIMEOUT_MS = 5_000;

export class RemoteDispatcher {
  readonly clientId = randomUUID();
  private readonly replyKey: string;
  private readonly runs = new Map<string, RemoteRun>();
  private started: Promise<void> | null = null;
  private closed = false;
  private queue!: Queue;
  private events!: QueueEvents;
  private reader!: Redis;
  private commands!: Redis;
  private eventsConnection!: Redis;
  /** Connections BullMQ made from ours (QueueEvents' blocking one): closed with ours. */
  private readonly duplicates: Redis[] = [];
  private readLoop: Promise<void> | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private watching = false;
  /** Resolves at close: a blocked read must not wait on a connection that, offline, never answers. */
  private stop!: () => void;
  private readonly stopped = new Promise<null>((resolve) => (this.stop = () => resolve(null)));

  constructor(
    private readonly config: ExecutionConfig,
    private readonly redis: RedisConfig,
  ) {
    this.replyKey = keys.replies(redis.queue, this.clientId);
  }

  /**
   * Connections are opened at the first command, so an idle engine costs nothing. If Redis
   * cannot be reached in time the attempt is dropped (the next command tries again).
   */
  private start(): Promise<void> {
    return (this.started ??= (async () => {
      this.commands = redisConnection(this.redis.url);
      this.reader = redisConnection(this.redis.url);
      this.eventsConnection = trackCopies(redisConnection(this.redis.url), this.duplicates);
      this.queue = new Queue(this.redis.queue, { connection: this.commands });
      this.events = new QueueEvents(this.redis.queue, { connection: this.eventsConnection });
      // A job BullMQ gave up on (its worker stopped renewing the lock) never sends a result.
      this.events.on('failed', ({ jobId, failedReason }) => this.runOfJob(jobId)?.lost(failedReason));
      // Connection trouble is retried underneath and reported through timeouts and failed runs.
      this.queue.on('error', () => {});
      this.events.on('error', () => {});
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`cannot reach ${redactUrl(this.redis.url)} within ${this.redis.connect_timeout_ms} ms`)), this.redis.connect_timeout_ms);
      });
      try {
        await Promise.race([Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]), timeout]);
        // Set only when asked: the limit is the fleet's, and an engine started without one
        // (a one-off `run --redis`) must not overwrite what another configured.
        if (this.redis.global_concurrency !== null) await Promise.race([this.queue.setGlobalConcurrency(this.redis.global_concurrency), timeout]);
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

  private runOfJob(jobId: string): RemoteRun | undefined {
    const run = this.runs.get(jobId.slice(0, jobId.lastIndexOf('_')));
    return run?.jobId === jobId ? run : undefined;
  }

  /**
   * BullMQ notices a dead worker only from another live worker. When none is left, or the
   * job vanished (Redis restarted without persistence), nothing would ever end the run: look
   * at each job here, and end a run whose job is twice in a row neither queued nor held.
   */
  private async watch(): Promise<void> {
    if (this.watching || this.closed || this.runs.size === 0) return;
    this.watching = true;
    try {
      for (const run of [...this.runs.values()]) {
        if (run.jobId === null || run.isFinished) continue;
        let verdict: string | null;
        try {
          verdict = await within(this.jobTrouble(run.jobId), CALL_TIMEOUT_MS, 'checking a job');
        } catch (err) {
          run.unreachable(Math.max(30_000, 3 * this.redis.connect_timeout_ms), (err as Error).message);
          continue;
        }
        // Ended here: a worker that starts later must not run it again unobserved.
        if (run.observe(verdict)) void this.withdraw(run.jobId);
      }
    } finally {
      this.watching = false;
    }
  }

  /** Why this job will never report, or null if it may still. */
  private async jobTrouble(jobId: string): Promise<string | null> {
    const state = await this.queue.getJobState(jobId);
    if (state === 'unknown') return 'the job left the queue without a result (was Redis restarted without persistence?)';
    if (state !== 'active') return null;
    // A live worker renews the lock; without one, the worker died and no other worker noticed.
    if (await this.commands.exists(`${this.queue.toKey(jobId)}:lock`)) return null;
    return 'no worker holds the job any more (its worker died, and no other worker was running to notice)';
  }

  /** Like `runCommand`: waits for an engine slot, then for the worker; never rejects. */
  async run(ctx: CommandContext, state: TrackedCommand): Promise<ExecutionResult> {
    let release: () => void;
    try {
      release = await ctx.slots.acquire(state.abort.signal);
    } catch {
      return finishUnstarted(ctx, state, 'cancelled', ExecutionError.cancelled().message);
    }
    const run = new RemoteRun(ctx, state);
    const jobId = jobIdOf(this.clientId, state.id);
    try {
      await this.start();
      if (state.abort.signal.aborted) return finishUnstarted(ctx, state, 'cancelled', ExecutionError.cancelled().message);
      this.runs.set(state.id, run);
      const job: CommandJob = { request: state.request, reply_to: this.replyKey, plan_id: state.planId };
      // Finished jobs are not kept: the submitter's history and log hold the outcome.
      const adding = this.queue.add(JOB_NAME, job, { jobId, attempts: 1, removeOnComplete: true, removeOnFail: true });
      try {
        await within(adding, this.redis.connect_timeout_ms, 'queueing the command');
      } catch (err) {
        // Redis may still take the job when it comes back: make sure it then does not run.
        void this.withdraw(jobId);
        throw err;
      }
      run.jobId = jobId;
      const onAbort = () => void this.cancel(jobId, run);
      state.abort.signal.addEventListener('abort', onAbort, { once: true });
      if (state.abort.signal.aborted) onAbort();
      return await run.done;
    } catch (err) {
      return run.fail(`Queue unavailable: ${(err as Error).message}`);
    } finally {
      this.runs.delete(state.id);
      release();
    }
  }

  /** A queued job is taken out of the queue; a running one is stopped by its worker. */
  private async cancel(jobId: string, run: RemoteRun): Promise<void> {
    // First, before any Redis call: a worker that died, a fleet that is gone or a Redis that
    // does not answer never confirms, and the run must still end.
    run.expectCancelWithin(this.config.kill_grace_ms + CANCEL_CONFIRM_MS);
    try {
      await within(this.commands.set(keys.cancelled(this.redis.queue, jobId), '1', 'EX', 24 * 60 * 60), CALL_TIMEOUT_MS, 'marking the job cancelled');
      const job = await within(this.queue.getJob(jobId), CALL_TIMEOUT_MS, 'finding the job');
      const state = job ? await within(job.getState(), CALL_TIMEOUT_MS, 'reading the job state') : 'unknown';
      if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children')) {
        try {
          await within(job.remove(), CALL_TIMEOUT_MS, 'removing the job');
          run.cancelledBeforeStart();
          return;
        } catch {
          // Taken by a worker meanwhile: tell it.
        }
      }
      await within(this.commands.publish(keys.cancelChannel(this.redis.queue), jobId), CALL_TIMEOUT_MS, 'announcing the cancel');
    } catch (err) {
      process.emitWarning(`cloudops-execution-engine: could not cancel queued command ${run.id}: ${(err as Error).message}`);
    }
  }

  /** A job the submitter gave up on must not run if Redis takes it late: mark it cancelled and remove it. */
  private async withdraw(jobId: string): Promise<void> {
    await this.commands.set(keys.cancelled(this.redis.queue, jobId), '1', 'EX', 24 * 60 * 60).catch(() => null);
    await this.queue.remove(jobId).catch(() => 0);
  }

  private async readReplies(): Promise<void> {
    let lastId = '0-0';
    let sinceTrim = 0;
    while (!this.closed) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        const reading = this.reader.xread('COUNT', READ_COUNT, 'BLOCK', READ_BLOCK_MS, 'STREAMS', this.replyKey, lastId) as Promise<typeof reply>;
        reading.catch(() => null); // abandoned at close
        reply = await Promise.race([reading, this.stopped]);
        if (this.closed) return;
      } catch (err) {
        if (this.closed) return;
        process.emitWarning(`cloudops-execution-engine: reading worker replies failed, retrying: ${(err as Error).message}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      for (const [, entries] of reply ?? []) {
        for (const [entryId, fields] of entries) {
          lastId = entryId;
          const data = fields[fields.indexOf('m') + 1];
          if (!data) continue;
          let messages: ReplyMessage[];
          try {
            messages = JSON.parse(data) as ReplyMessage[];
          } catch (err) {
            process.emitWarning(`cloudops-execution-engine: skipped an unreadable worker reply ${entryId}: ${(err as Error).message}`);
            continue;
          }
          for (const message of messages) this.runs.get(message.id)?.receive(message);
          sinceTrim++;
        }
      }
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
    if (!this.started) return;
    if (!(await this.started.then(() => true, () => false))) return;
    if (this.watchdog) clearInterval(this.watchdog);
    this.stop();
    this.reader.disconnect();
    await this.readLoop?.catch(() => {});
    await within(this.commands.del(this.replyKey), 2_000, 'removing the reply stream').catch(() => 0);
    await this.disconnect();
  }

  private async disconnect(): Promise<void> {
    // Closing BullMQ's objects waits on their connections: bounded, in case Redis is gone.
    const closing = Promise.allSettled([this.events.close(), this.queue.close()]);
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    // BullMQ leaves connections it was given open, and copies it made of them: ours to close.
    for (const connection of [...this.duplicates, this.reader, this.eventsConnection, this.commands]) connection.disconnect();
  }
}

/** One queued command on the submitting side: the worker's messages, applied in order. */
class RemoteRun {
  readonly done: Promise<ExecutionResult>;
  /** Set once the job is in the queue. */
  jobId: string | null = null;
  private resolve!: (result: ExecutionResult) => void;
  private log: LogFile | null = null;
  private starts = 0;
  private finished = false;
  /** Messages are applied one after another (opening the log and writing it are async). */
  private chain: Promise<void> = Promise.resolve();
  /** The last message taken: its attempt and number. */
  private lastRun: string | null = null;
  private lastSeq = 0;
  /** Watchdog: consecutive checks that found the job in trouble, and since when Redis has not answered. */
  private troubled = 0;
  private unreachableSince: number | null = null;

  constructor(
    private readonly ctx: CommandContext,
    private readonly state: TrackedCommand,
  ) {
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }

  get id(): string {
    return this.state.id;
  }

  get isFinished(): boolean {
    return this.finished;
  }

  receive(message: ReplyMessage): void {
    if (message.run === this.lastRun && message.seq <= this.lastSeq) return; // written twice
    this.lastRun = message.run;
    this.lastSeq = message.seq;
    this.chain = this.chain.then(() => this.apply(message)).catch((err: unknown) => void this.fail(`Internal error: ${(err as Error).message}`));
  }

  private async apply(message: ReplyMessage): Promise<void> {
    if (this.finished) return;
    if (message.t === 'events') {
      for (const event of message.events) await this.event(event);
      return;
    }
    const { result, worker } = message;
    this.log?.note(`ran on worker ${worker.worker_id} (${worker.host}, pid ${worker.pid}); its log: ${worker.log_path}`);
    await this.closeLog({ status: result.status, exit_code: String(result.exit_code), completed_at: result.completed_at ?? new Date().toISOString(), ...(result.error ? { error: result.error } : {}) });
    this.finish({ ...result, id: this.state.id, log_path: this.state.logPath });
  }

  private async event(event: ExecutionEvent): Promise<void> {
    const { ctx, state } = this;
    switch (event.event_type) {
      case 'started': {
        this.starts++;
        if (this.starts === 1) {
          state.status = 'running';
          state.startedAt = new Date(event.timestamp);
          this.log = await LogFile.open(state.logPath, {
            kind: 'command',
            execution_id: state.id,
            ...(state.planId ? { plan_id: state.planId } : {}),
            engine_pid: String(process.pid),
            command: state.display,
            started_at: event.timestamp,
            queued: 'true',
          }).catch(() => null);
          ctx.publish(state, { event_type: 'started', execution_id: state.id, command: state.display, timestamp: event.timestamp });
        } else {
          // The first worker stopped answering and BullMQ handed the job to another.
          const reason = 'worker lost; running again on another worker';
          this.log?.note(reason);
          ctx.publish(state, { event_type: 'retrying', execution_id: state.id, attempt: this.starts - 1, max_attempts: this.starts, delay_ms: 0, reason, timestamp: event.timestamp });
        }
        return;
      }
      case 'stdout':
      case 'stderr': {
        state.linesLogged++;
        if (ctx.config.stream_output && ctx.wantsLines(state)) ctx.publish(state, { ...event, execution_id: state.id });
        await this.log?.append(event.event_type, LineBatch.of([Buffer.from(event.line)]), event.timestamp);
        return;
      }
      case 'retrying':
        this.log?.note(`attempt ${event.attempt} of ${event.max_attempts} failed (${event.reason}); retrying in ${event.delay_ms}ms`);
        ctx.publish(state, { ...event, execution_id: state.id });
        return;
      default:
        // completed / failed / cancelled: the result message that follows closes the run.
        return;
    }
  }

  /** BullMQ failed the job without a result: its worker died (or the job could not be processed). */
  lost(reason: string): void {
    this.endHere('failed', `Worker lost: ${reason}`);
  }

  /** A watchdog check: `trouble` says why the job will never report (null: it may). Twice in a row ends the run (true). */
  observe(trouble: string | null): boolean {
    this.unreachableSince = null;
    this.troubled = trouble === null ? 0 : this.troubled + 1;
    if (trouble === null || this.troubled < 2) return false;
    this.lost(trouble);
    return true;
  }

  /** A watchdog check Redis did not answer: after `limitMs` of that, the outcome is unknowable here. */
  unreachable(limitMs: number, why: string): void {
    const now = Date.now();
    this.unreachableSince ??= now;
    if (now - this.unreachableSince >= limitMs) this.endHere('failed', `Queue unavailable: ${why} for ${Math.round((now - this.unreachableSince) / 1000)} s; the command's outcome is unknown`);
  }

  /** If no result arrives in time after a cancel, end as cancelled here (the worker is gone or unreachable). */
  expectCancelWithin(ms: number): void {
    const timer = setTimeout(() => this.endHere('cancelled', `${ExecutionError.cancelled().message} (no worker confirmed it within ${ms} ms)`), ms);
    timer.unref();
    void this.done.then(() => clearTimeout(timer));
  }

  /** The job was taken out of the queue before a worker ran it (again). */
  cancelledBeforeStart(): void {
    this.chain = this.chain.then(() => {
      if (this.finished) return;
      if (this.starts > 0) return this.endHere('cancelled', `${ExecutionError.cancelled().message} while queued to run again`);
      this.finished = true;
      this.resolve(finishUnstarted(this.ctx, this.state, 'cancelled', ExecutionError.cancelled().message));
    });
  }

  fail(error: string): Promise<ExecutionResult> {
    if (!this.finished) {
      this.finished = true;
      this.resolve(finishUnstarted(this.ctx, this.state, 'failed', error));
    }
    return this.done;
  }

  /** Ends the run from this side, with no result from a worker: the log says why. */
  private endHere(status: 'failed' | 'cancelled', error: string): void {
    this.chain = this.chain.then(async () => {
      if (this.finished) return;
      this.log?.note(error);
      await this.closeLog({ status, exit_code: '-1', completed_at: new Date().toISOString(), error });
      this.finish(resultWithoutOutput({ id: this.state.id, status, error, startedAt: this.state.startedAt, logPath: this.state.logPath, attempts: this.starts }));
    });
  }

  private async closeLog(footer: Record<string, string>): Promise<void> {
    const log = this.log;
    this.log = null;
    await log?.close(footer);
  }

  private finish(result: ExecutionResult): void {
    if (this.finished) return;
    this.finished = true;
    finishWithResult(this.ctx, this.state, result);
    this.resolve(result);
  }
}
