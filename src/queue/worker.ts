/**
 * `cloudops-exec worker`: takes command jobs from the queue and runs each through a local
 * engine (spawn, stream, timeout, process-tree kill, log, history: the same code as local
 * mode), streaming its events back to the submitter in order, then its result. A cancel
 * announced on the cancel channel stops the command here. Closing drains: the jobs in hand
 * finish (or, forced, are cancelled) and report before the worker lets go of the queue.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Worker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import type { ExecutionConfigInput } from '../config.js';
import { ExecutionEngine } from '../engine/engine.js';
import { resultWithoutOutput } from '../engine/run-command.js';
import { ValidationError } from '../errors.js';
import type { ExecutionEvent } from '../wire/types.js';
import { JOB_NAME, keys, REPLY_TTL_SECONDS, type CommandJob, type ReplyMessage, type WorkerInfo } from './protocol.js';
import { RedisConfigSchema, type RedisConfigInput } from '../redis-config.js';
import { redactUrl, redisConnection, trackCopies, within } from './connections.js';

export interface WorkerOptions {
  redis: RedisConfigInput;
  /** Commands this worker runs at once (default 4). The queue's global limit still applies. */
  concurrency?: number;
  /**
   * What happens to a command whose worker dies mid-run (stops renewing its job lock):
   * `fail` (default) marks it failed; `retry` runs it once more on another worker.
   */
  on_worker_lost?: 'fail' | 'retry';
  /** How long a job's lock lasts without renewal before it counts as stalled (default 30 s). */
  lock_duration_ms?: number;
  /** The local engine's config (log_dir, timeouts, kill grace, ...); `redis` is ignored. */
  engine?: ExecutionConfigInput;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Batches reply messages to one stream and writes them in order (one XADD per batch). */
class ReplyWriter {
  private buffer: ReplyMessage[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private scheduled = false;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  push(message: ReplyMessage): void {
    const last = this.buffer.at(-1);
    if (message.t === 'events' && last?.t === 'events' && last.id === message.id) last.events.push(...message.events);
    else this.buffer.push(message);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
  }

  /** Resolves once everything pushed so far is in Redis. */
  flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.buffer;
    this.buffer = [];
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing.then(async () => {
      try {
        await this.redis.multi().xadd(this.key, '*', 'm', JSON.stringify(batch)).expire(this.key, REPLY_TTL_SECONDS).exec();
      } catch (err) {
        process.emitWarning(`cloudops-exec worker: could not send ${batch.length} replies to ${this.key}: ${(err as Error).message}`);
      }
    });
    return this.flushing;
  }
}

export class QueueWorker {
  readonly id = randomUUID();
  readonly engine: ExecutionEngine;
  private readonly worker: Worker;
  private readonly writerConnection: Redis;
  private readonly subscriber: Redis;
  private readonly jobsConnection: Redis;
  /** Copies BullMQ made of `jobsConnection` (the Worker's blocking one). */
  private readonly copies: Redis[] = [];
  /** Reply writers by submitter stream, with the jobs using each: dropped when the last is done. */
  private readonly writers = new Map<string, { writer: ReplyWriter; jobs: number }>();
  /** Job id -> the local execution's cancel switch. */
  private readonly active = new Map<string, AbortController>();
  /** Jobs whose lock this worker lost: BullMQ has failed or requeued them, so they must not report. */
  private readonly abandoned = new Set<string>();
  private closing: Promise<void> | null = null;

  private constructor(private readonly options: Required<Omit<WorkerOptions, 'engine' | 'redis'>> & { redis: ReturnType<typeof RedisConfigSchema.parse>; engine: ExecutionConfigInput }) {
    const { redis } = options;
    // The local engine may run as many commands as the worker takes jobs.
    this.engine = new ExecutionEngine({ event_buffer_limit: 100_000, ...options.engine, max_concurrent_executions: options.concurrency, redis: null });
    this.writerConnection = redisConnection(redis.url);
    this.subscriber = redisConnection(redis.url);
    this.jobsConnection = trackCopies(redisConnection(redis.url), this.copies);
    this.worker = new Worker(redis.queue, (job, _token, signal) => this.process(job as Job<CommandJob>, signal), {
      connection: this.jobsConnection,
      concurrency: options.concurrency,
      lockDuration: options.lock_duration_ms,
      // A lost worker's job is checked for twice per lock period.
      stalledInterval: Math.max(500, Math.floor(options.lock_duration_ms / 2)),
      maxStalledCount: options.on_worker_lost === 'retry' ? 1 : 0,
      autorun: false,
    });
    this.worker.on('error', (err) => process.emitWarning(`cloudops-exec worker: ${err.message}`));
    // Paused too long (or cut off from Redis) to renew a lock: the job is no longer ours, and
    // may already run elsewhere. Stop the command rather than let it run unsupervised.
    this.worker.on('lockRenewalFailed', (jobIds) => {
      for (const jobId of jobIds) {
        if (!this.active.has(jobId)) continue;
        this.abandoned.add(jobId);
        this.active.get(jobId)?.abort();
      }
    });
  }

  static async start(options: WorkerOptions): Promise<QueueWorker> {
    const redis = RedisConfigSchema.safeParse(options.redis);
    if (!redis.success) throw ValidationError.of('InvalidField', `redis.${String(redis.error.issues[0]?.path.join('.'))}`, redis.error.issues[0]?.message ?? 'invalid');
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1) throw ValidationError.of('InvalidField', 'concurrency', 'must be a positive integer');
    const lock = options.lock_duration_ms ?? 30_000;
    if (!Number.isInteger(lock) || lock < 1000) throw ValidationError.of('InvalidField', 'lock_duration_ms', 'must be an integer of at least 1000');
    if (options.on_worker_lost !== undefined && options.on_worker_lost !== 'fail' && options.on_worker_lost !== 'retry') {
      throw ValidationError.of('InvalidField', 'on_worker_lost', 'must be fail or retry');
    }
    const worker = new QueueWorker({
      redis: redis.data,
      concurrency,
      on_worker_lost: options.on_worker_lost ?? 'fail',
      lock_duration_ms: lock,
      engine: options.engine ?? {},
    });
    try {
      await within(worker.listen(), redis.data.connect_timeout_ms, `reaching ${redactUrl(redis.data.url)}`);
    } catch (err) {
      // Nothing was taken from the queue: let go of every connection without waiting on Redis.
      worker.abandon();
      throw new Error(`Queue unavailable: ${(err as Error).message}`);
    }
    return worker;
  }

  private abandon(): void {
    void this.worker.close(true).catch(() => {});
    this.engine.close();
    for (const connection of [...this.copies, this.jobsConnection, this.subscriber, this.writerConnection]) connection.disconnect();
  }

  private async listen(): Promise<void> {
    const channel = keys.cancelChannel(this.options.redis.queue);
    this.subscriber.on('message', (_channel: string, jobId: string) => this.active.get(jobId)?.abort());
    await this.subscriber.subscribe(channel);
    await this.worker.waitUntilReady();
    void this.worker.run().catch((err: unknown) => process.emitWarning(`cloudops-exec worker stopped: ${String(err)}`));
  }

  /** Commands running here now. */
  get running(): number {
    return this.active.size;
  }

  private takeWriter(key: string): ReplyWriter {
    let entry = this.writers.get(key);
    if (!entry) this.writers.set(key, (entry = { writer: new ReplyWriter(this.writerConnection, key), jobs: 0 }));
    entry.jobs++;
    return entry.writer;
  }

  /** A submitter's writer is kept while one of its jobs runs here, not for the worker's life. */
  private releaseWriter(key: string): void {
    const entry = this.writers.get(key);
    if (entry && --entry.jobs === 0) this.writers.delete(key);
  }

  private async process(job: Job<CommandJob>, signal?: AbortSignal): Promise<{ status: string }> {
    if (job.name !== JOB_NAME) throw new Error(`unknown job ${job.name}`);
    const { request, reply_to } = job.data;
    const id = request.id;
    const jobId = job.id ?? id;
    const writer = this.takeWriter(reply_to);
    const run = randomUUID();
    let seq = 0;
    const send = (message: DistributiveOmit<ReplyMessage, 'run' | 'seq'>): void => {
      if (!this.abandoned.has(jobId)) writer.push({ ...message, run, seq: ++seq } as ReplyMessage);
    };
    const abort = new AbortController();
    this.active.set(jobId, abort);
    signal?.addEventListener('abort', () => abort.abort(), { once: true });
    try {
      // Cancelled between being queued and being taken: say so without starting it.
      if (await this.writerConnection.exists(keys.cancelled(this.options.redis.queue, jobId))) abort.abort();
      // A fresh local id (the same command may come back here, requeued after a lost worker);
      // the log stays on this machine: a submitter's output_log_path is a path on its own.
      const local = { ...request, id: randomUUID(), rollback: [], output_log_path: null };
      let localId: string;
      try {
        localId = await this.engine.execute(local, { signal: abort.signal });
      } catch (err) {
        const result = resultWithoutOutput({ id, status: 'failed', error: (err as Error).message, startedAt: null, logPath: '', attempts: 0 });
        send({ t: 'result', id, result, worker: this.info('') });
        await writer.flush();
        return { status: result.status };
      }
      const events = this.engine.events(localId);
      const forwarding = (async () => {
        for await (const event of events) send({ t: 'events', id, events: [{ ...event, execution_id: id } as ExecutionEvent] });
      })();
      const result = await this.engine.wait(localId);
      await forwarding;
      send({ t: 'result', id, result: { ...result, id }, worker: this.info(result.log_path) });
      await writer.flush();
      return { status: result.status };
    } finally {
      this.active.delete(jobId);
      this.abandoned.delete(jobId);
      this.releaseWriter(reply_to);
    }
  }

  private info(logPath: string): WorkerInfo {
    return { worker_id: this.id, host: hostname(), pid: process.pid, log_path: logPath };
  }

  /**
   * Stop taking jobs. Default: the commands in hand finish and report first. `force`: they
   * are cancelled (their process trees killed) and report `cancelled`.
   */
  close(options: { force?: boolean } = {}): Promise<void> {
    if (options.force) for (const abort of this.active.values()) abort.abort();
    return (this.closing ??= (async () => {
      await this.worker.close();
      await this.engine.shutdown({ mode: 'drain' });
      await Promise.all([...this.writers.values()].map((entry) => entry.writer.flush()));
      this.engine.close();
      await this.subscriber.quit().catch(() => this.subscriber.disconnect());
      await this.writerConnection.quit().catch(() => this.writerConnection.disconnect());
      // BullMQ leaves a connection it was given open, and copies it made of it: ours to close.
      for (const connection of [...this.copies, this.jobsConnection]) connection.disconnect();
    })());
  }
}
