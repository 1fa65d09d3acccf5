/**
 * The submitting side of queue-backed mode. The engine schedules as always (plans, DAGs,
 * slots, approvals); where it would spawn a command, this puts a BullMQ job in the queue and
 * turns what the worker streams back (events in order, then the result) into the same
 * events, log file and result a local run produces. Cancel removes a queued job or reaches
 * the worker running it; a worker that dies is reported by BullMQ's stalled-job check.
 */
import { randomUUID } from 'node:crypto';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import type { ExecutionConfig } from '../config.js';
import { ExecutionError } from '../errors.js';
import { finishUnstarted, finishWithResult, resultWithoutOutput, type CommandContext } from '../engine/run-command.js';
import type { TrackedCommand } from '../engine/tracked.js';
import { LineBatch } from '../runner/line-splitter.js';
import { LogFile } from '../sinks/log-file.js';
import type { ExecutionEvent, ExecutionResult } from '../wire/types.js';
import { JOB_NAME, keys, type CommandJob, type ReplyMessage } from './protocol.js';
import type { RedisConfig } from './redis-config.js';

const READ_BLOCK_MS = 1_000;
/** Beyond the kill grace, how long a worker has to confirm a cancel before the submitter ends the run itself. */
const CANCEL_CONFIRM_MS = 10_000;
const READ_COUNT = 200;

export function redisConnection(url: string): Redis {
  // BullMQ's blocking commands need unlimited retries per request.
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  // Connection errors are retried by ioredis and surface as timeouts where they matter.
  connection.on('error', () => {});
  return connection;
}

/** A Redis URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

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
  private readLoop: Promise<void> | null = null;

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
      this.eventsConnection = redisConnection(this.redis.url);
      this.queue = new Queue(this.redis.queue, { connection: this.commands });
      this.events = new QueueEvents(this.redis.queue, { connection: this.eventsConnection });
      // A job BullMQ gave up on (its worker stopped renewing the lock) never sends a result.
      this.events.on('failed', ({ jobId, failedReason }) => this.runs.get(jobId)?.lost(failedReason));
      // Connection trouble is retried underneath and reported through timeouts and failed runs.
      this.queue.on('error', () => {});
      this.events.on('error', () => {});
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`cannot reach ${redactUrl(this.redis.url)} within ${this.redis.connect_timeout_ms} ms`)), this.redis.connect_timeout_ms);
      });
      try {
        await Promise.race([Promise.all([this.queue.waitUntilReady(), this.events.waitUntilReady()]), timeout]);
        await Promise.race([this.queue.setGlobalConcurrency(this.redis.global_concurrency ?? this.config.max_concurrent_executions), timeout]);
      } catch (err) {
        this.started = null;
        await this.disconnect();
        throw err;
      } finally {
        clearTimeout(timer);
      }
      this.readLoop = this.readReplies();
    })());
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
    try {
      await this.start();
      if (state.abort.signal.aborted) return finishUnstarted(ctx, state, 'cancelled', ExecutionError.cancelled().message);
      this.runs.set(state.id, run);
      const job: CommandJob = { request: state.request, reply_to: this.replyKey, plan_id: state.planId };
      // Finished jobs are not kept: the submitter's history and log hold the outcome.
      await this.queue.add(JOB_NAME, job, { jobId: state.id, attempts: 1, removeOnComplete: true, removeOnFail: true });
      const onAbort = () => void this.cancel(state.id, run);
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
  private async cancel(id: string, run: RemoteRun): Promise<void> {
    try {
      await this.commands.set(keys.cancelled(this.redis.queue, id), '1', 'EX', 24 * 60 * 60);
      const job = await this.queue.getJob(id);
      const state = job ? await job.getState() : 'unknown';
      if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized' || state === 'waiting-children')) {
        try {
          await job.remove();
          run.cancelledBeforeStart();
          return;
        } catch {
          // Taken by a worker meanwhile: tell it.
        }
      }
      await this.commands.publish(keys.cancelChannel(this.redis.queue), id);
      // A worker that died (or a fleet that is gone) never answers: do not wait forever.
      run.expectCancelWithin(this.config.kill_grace_ms + CANCEL_CONFIRM_MS);
    } catch (err) {
      process.emitWarning(`cloudops-execution-engine: could not cancel queued command ${id}: ${(err as Error).message}`);
    }
  }

  private async readReplies(): Promise<void> {
    let lastId = '0-0';
    let sinceTrim = 0;
    while (!this.closed) {
      let reply: Array<[string, Array<[string, string[]]>]> | null;
      try {
        reply = (await this.reader.xread('COUNT', READ_COUNT, 'BLOCK', READ_BLOCK_MS, 'STREAMS', this.replyKey, lastId)) as typeof reply;
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
          for (const message of JSON.parse(data) as ReplyMessage[]) this.runs.get(message.id)?.receive(message);
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
    if (!this.started) return;
    if (!(await this.started.then(() => true, () => false))) return;
    this.reader.disconnect(); // ends the blocking read
    await this.readLoop?.catch(() => {});
    await this.commands.del(this.replyKey).catch(() => 0);
    await this.disconnect();
  }

  private async disconnect(): Promise<void> {
    // Closing BullMQ's objects waits on their connections: bounded, in case Redis is gone.
    const closing = Promise.allSettled([this.events.close(), this.queue.close()]);
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);
    // BullMQ leaves connections it was given open: they are ours to close.
    for (const connection of [this.reader, this.eventsConnection, this.commands]) connection.disconnect();
  }
}

/** One queued command on the submitting side: the worker's messages, applied in order. */
class RemoteRun {
  readonly done: Promise<ExecutionResult>;
  private resolve!: (result: ExecutionResult) => void;
  private log: LogFile | null = null;
  private starts = 0;
  private finished = false;
  /** Messages are applied one after another (opening the log and writing it are async). */
  private chain: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: CommandContext,
    private readonly state: TrackedCommand,
  ) {
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }

  receive(message: ReplyMessage): void {
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
    this.chain = this.chain.then(async () => {
      if (this.finished) return;
      const error = `Worker lost: ${reason}`;
      this.log?.note(error);
      await this.closeLog({ status: 'failed', exit_code: '-1', completed_at: new Date().toISOString(), error });
      this.finish(resultWithoutOutput({ id: this.state.id, status: 'failed', error, startedAt: this.state.startedAt, logPath: this.state.logPath, attempts: this.starts }));
    });
  }

  /** If no result arrives in time after a cancel, end as cancelled here (the worker is gone or unreachable). */
  expectCancelWithin(ms: number): void {
    const timer = setTimeout(() => {
      this.chain = this.chain.then(async () => {
        if (this.finished) return;
        const error = `${ExecutionError.cancelled().message} (no worker confirmed it within ${ms} ms)`;
        this.log?.note(error);
        await this.closeLog({ status: 'cancelled', exit_code: '-1', completed_at: new Date().toISOString(), error });
        this.finish(resultWithoutOutput({ id: this.state.id, status: 'cancelled', error, startedAt: this.state.startedAt, logPath: this.state.logPath, attempts: this.starts }));
      });
    }, ms);
    timer.unref();
    void this.done.then(() => clearTimeout(timer));
  }

  cancelledBeforeStart(): void {
    this.chain = this.chain.then(() => {
      if (!this.finished && this.starts === 0) {
        this.finished = true;
        this.resolve(finishUnstarted(this.ctx, this.state, 'cancelled', ExecutionError.cancelled().message));
      }
    });
  }

  fail(error: string): Promise<ExecutionResult> {
    if (!this.finished) {
      this.finished = true;
      this.resolve(finishUnstarted(this.ctx, this.state, 'failed', error));
    }
    return this.done;
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
