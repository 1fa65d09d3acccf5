/**
 * `cloudops-exec worker`: takes attempts from the queue and runs each with the local executor
 * (the same spawn, stream, timeout and process-tree kill as local mode), streaming back to
 * the submitter its start, its output (redacted here, so secrets never sit in Redis) and its
 * outcome. The submitting engine keeps the execution's one history record and one log; a
 * worker keeps neither. A cancel announced on the cancel channel stops the command here.
 * Closing drains: the jobs in hand finish (or, forced, are cancelled) and report before the
 * worker lets go of the queue.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { type Job, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { AwsRunSettings } from '../command/aws.js';
import { type ExecutionConfig, type ExecutionConfigInput, logDirOf, resolveConfig } from '../config.js';
import { describeIssue, ValidationError } from '../errors.js';
import type { AttemptEnd, AttemptOutcome, AttemptSpec } from '../executor/contract.js';
import { LocalExecutor } from '../executor/local.js';
import { lineRedactor, redactorFor, secretBytes, secretsOf } from '../policy/redaction.js';
import { type RedisConfig, type RedisConfigInput, RedisConfigSchema } from '../redis-config.js';
import { OutputCapture } from '../sinks/output-capture.js';
import { validateRequest } from '../validation/request.js';
import { parseRequest, parseWith } from '../wire/parse.js';
import type { ExecutionRequest } from '../wire/types.js';
import { redactUrl, redisConnection, trackCopies, within } from './connections.js';
import { ProcessLedger } from './leftovers.js';
import { type CommandJob, JOB_NAME, keys, type ReplyMessage, toWire, type WorkerInfo } from './protocol.js';
import { ReplyWriter } from './reply-writer.js';

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
  /**
   * How commands run here: timeouts, kill grace, containment, redaction, AWS settings, and
   * `log_dir`, where the worker notes the processes it runs (to end them after a crash).
   * `redis` is ignored.
   */
  engine?: ExecutionConfigInput;
}

/** Output waiting to be written to Redis beyond this many bytes pauses the command's output (backpressure). */
const REPLY_BUFFER_BYTES = 256 * 1024;

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
type Reply = DistributiveOmit<ReplyMessage, 'job' | 'run' | 'seq'>;

interface ResolvedOptions {
  redis: RedisConfig;
  concurrency: number;
  on_worker_lost: 'fail' | 'retry';
  lock_duration_ms: number;
  config: ExecutionConfig;
}

export class QueueWorker {
  readonly id = randomUUID();
  private readonly executor: LocalExecutor;
  private readonly info: WorkerInfo = { worker_id: this.id, host: hostname(), pid: process.pid };
  private readonly ledger: ProcessLedger;
  private readonly worker: Worker;
  private readonly writerConnection: Redis;
  private readonly subscriber: Redis;
  private readonly jobsConnection: Redis;
  /** Copies BullMQ made of `jobsConnection` (the Worker's blocking one). */
  private readonly copies: Redis[] = [];
  /** Reply writers by submitter stream, with the jobs using each: dropped when the last is done. */
  private readonly writers = new Map<string, { writer: ReplyWriter; jobs: number }>();
  /** Job id -> the running attempt's cancel switch. */
  private readonly active = new Map<string, AbortController>();
  /** Jobs whose lock this worker lost: BullMQ has failed or requeued them, so they must not report. */
  private readonly abandoned = new Set<string>();
  private closing: Promise<void> | null = null;

  private constructor(private readonly options: ResolvedOptions) {
    const { redis, config } = options;
    this.executor = new LocalExecutor(config);
    this.ledger = new ProcessLedger(join(logDirOf(config), 'worker-processes'), this.id);
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
    // ioredis retries a lost connection every few hundred ms and BullMQ reports each failure:
    // the same error is said once, until Redis answers again (then a new outage is said again).
    let lastError: string | null = null;
    this.worker.on('error', (err) => {
      if (err.message === lastError) return;
      lastError = err.message;
      process.emitWarning(`cloudops-exec worker: ${err.message} (retrying until Redis answers)`);
    });
    this.jobsConnection.on('ready', () => {
      lastError = null;
    });
    // BullMQ failed one of our jobs without its processor reporting: its submitter hears it here.
    this.worker.on('failed', (job, err) => void this.reportFailed(job as Job<CommandJob> | undefined, err));
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
    // Named as `redis.<field>`, with the nearest known name for a typo.
    let redis: { data: RedisConfig };
    try {
      redis = { data: parseWith(RedisConfigSchema, options.redis ?? {}) };
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      throw new ValidationError(err.issues.map((i) => ({ ...i, field: i.field ? `redis.${i.field}` : 'redis' })));
    }
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw ValidationError.of('InvalidField', 'concurrency', 'must be a positive integer');
    const lock = options.lock_duration_ms ?? 30_000;
    if (!Number.isInteger(lock) || lock < 1000)
      throw ValidationError.of('InvalidField', 'lock_duration_ms', 'must be an integer of at least 1000');
    if (
      options.on_worker_lost !== undefined &&
      options.on_worker_lost !== 'fail' &&
      options.on_worker_lost !== 'retry'
    ) {
      throw ValidationError.of('InvalidField', 'on_worker_lost', 'must be fail or retry');
    }
    const config = resolveConfig({ ...options.engine, redis: null });
    const worker = new QueueWorker({
      redis: redis.data,
      concurrency,
      on_worker_lost: options.on_worker_lost ?? 'fail',
      lock_duration_ms: lock,
      config,
    });
    // What a worker that died here left running has nobody to report to or to stop it.
    const ended = worker.ledger.endLeftovers();
    if (ended > 0)
      process.emitWarning(`cloudops-exec worker: ended ${ended} process(es) left running by a worker that died`);
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
    this.ledger.dispose();
    for (const connection of [...this.copies, this.jobsConnection, this.subscriber, this.writerConnection])
      connection.disconnect();
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

  /**
   * Tells a job's submitter that BullMQ failed it: a worker that died left it stalled past the
   * limit and this worker found it (or this worker could not take it up). The submitter would
   * otherwise learn it only from its watchdog, seconds later. Jobs of another version are
   * left to their own submitters.
   */
  private async reportFailed(job: Job<CommandJob> | undefined, err: Error): Promise<void> {
    const replyTo = job?.data?.reply_to;
    if (job?.name !== JOB_NAME || job.id === undefined || typeof replyTo !== 'string') return;
    const writer = this.takeWriter(replyTo);
    try {
      writer.push({ t: 'lost', reason: err.message, worker: this.info, job: job.id, run: randomUUID(), seq: 1 }, 0);
      await writer.flush();
    } finally {
      this.releaseWriter(replyTo);
    }
  }

  private async process(job: Job<CommandJob>, signal?: AbortSignal): Promise<{ end: AttemptEnd }> {
    if (job.name !== JOB_NAME) {
      throw new Error(
        `unknown job ${job.name}: this worker takes ${JOB_NAME} jobs; run one version of cloudops-exec on submitters and workers`,
      );
    }
    const jobId = job.id;
    if (jobId === undefined) throw new Error('a job without an id');
    const { reply_to } = job.data;
    const writer = this.takeWriter(reply_to);
    // This run of the job: another worker taking the job over (on_worker_lost retry) starts another.
    const run = randomUUID();
    let seq = 0;
    const send = (message: Reply, bytes = 0): void => {
      if (!this.abandoned.has(jobId)) writer.push({ ...message, job: jobId, run, seq: ++seq } as ReplyMessage, bytes);
    };
    const abort = new AbortController();
    this.active.set(jobId, abort);
    signal?.addEventListener('abort', () => abort.abort(), { once: true });
    try {
      // Cancelled between being queued and being taken: say so without starting it.
      if (await this.writerConnection.exists(keys.cancelled(this.options.redis.queue, jobId))) abort.abort();
      const outcome = await this.attempt(job.data, abort.signal, run, send, writer);
      send({ t: 'outcome', outcome: toWire(outcome), worker: this.info });
      // In the stream before BullMQ completes (and removes) the job: the submitter's watchdog relies on it.
      await writer.flushSoon();
      return { end: outcome.end };
    } finally {
      this.ledger.remove(run);
      this.active.delete(jobId);
      this.abandoned.delete(jobId);
      this.releaseWriter(reply_to);
    }
  }

  /** Checks the request on this machine and runs it; never rejects. */
  private async attempt(
    job: CommandJob,
    signal: AbortSignal,
    run: string,
    send: (message: Reply, bytes?: number) => void,
    writer: ReplyWriter,
  ): Promise<AttemptOutcome> {
    const { config } = this.options;
    const receivedAt = new Date();
    const notRun = (end: AttemptEnd, detail: string | null): AttemptOutcome => {
      return { end, exitCode: null, signal: null, detail, ran: false, startedAt: receivedAt, endedAt: new Date() };
    };
    let request: ExecutionRequest;
    try {
      // The log and the rollback steps are the submitter's: only the command is checked and run here,
      // its working directory, script and interpreter on this machine.
      request = parseRequest({ ...job.request, output_log_path: null, rollback: [] });
    } catch (err) {
      return notRun('spawn_failed', problemOf(err));
    }
    const secrets = secretsOf(request, config);
    const redact = redactorFor(secrets);
    try {
      await validateRequest(request, config);
    } catch (err) {
      // A missing working dir or script is named in the problem, and a path may carry a secret.
      return notRun('spawn_failed', redact(problemOf(err)));
    }
    // The submitting engine's limit, which its result will name (jobs of other versions are refused by name).
    const timeoutMs = job.timeout_ms;
    if (!Number.isInteger(timeoutMs) || timeoutMs <= 0)
      return notRun('spawn_failed', `timeout ${timeoutMs} is not a positive integer`);
    if (timeoutMs > config.max_timeout_ms) {
      return notRun(
        'spawn_failed',
        `timeout ${timeoutMs}ms is above this worker's --max-timeout (${config.max_timeout_ms}ms)`,
      );
    }
    if (!isAwsRunSettings(job.aws)) return notRun('spawn_failed', 'the job does not say where its AWS calls go');
    if (signal.aborted) return notRun('cancelled', null);
    const redactLines = lineRedactor(secrets);
    // The exact output, for the result: the stream below carries whole lines only.
    // Bounded as the submitting engine bounds its results, with its log named where the output is cut.
    const stdout = new OutputCapture(job.max_output_bytes);
    const stderr = new OutputCapture(job.max_output_bytes);
    const logPath = job.log_path;
    const keepTogether = secretBytes(secrets);
    const spec: AttemptSpec = {
      executionId: request.id,
      planId: job.plan_id,
      request,
      attempt: job.attempt,
      timeoutMs,
      logPath,
      maxOutputBytes: job.max_output_bytes,
      signal,
      keepTogether,
      aws: job.aws,
    };
    const outcome = await this.executor.run(spec, {
      // The submitter learns it started from `spawned` (or, if it cannot start, from the outcome).
      started: () => {},
      spawned: (pid, what) => {
        this.ledger.add(run, pid);
        send({ t: 'spawned', pid, what: redact(what), worker: this.info });
      },
      output: (chunk) => {
        (chunk.stream === 'stdout' ? stdout : stderr).append(chunk.data);
        const lines = redactLines ? redactLines(chunk.lines) : chunk.lines;
        if (lines.count === 0) return; // a line still arriving: it comes whole with a later chunk
        send({ t: 'output', stream: chunk.stream, lines: lines.texts(), timestamp: chunk.timestamp }, lines.lineBytes);
        // Redis slower than the command: pause its output rather than hold it all here.
        return writer.bufferedBytes > REPLY_BUFFER_BYTES ? writer.flush() : undefined;
      },
      // The local executor says nothing more; the submitter notes which worker ran the attempt.
      note: () => {},
      restarted: () => {},
    });
    const output = {
      stdout: redact(stdout.text(logPath, keepTogether)),
      stderr: redact(stderr.text(logPath, keepTogether)),
      stdout_truncated: stdout.truncated,
      stderr_truncated: stderr.truncated,
    };
    // A spawn error names the program, which may carry a secret.
    return { ...outcome, detail: outcome.detail === null ? null : redact(outcome.detail), output };
  }

  /**
   * Stop taking jobs. Default: the commands in hand finish and report first. `force`: they
   * are cancelled (their process trees killed) and report `cancelled`.
   */
  close(options: { force?: boolean } = {}): Promise<void> {
    if (options.force) for (const abort of this.active.values()) abort.abort();
    return (this.closing ??= (async () => {
      // Waits for the jobs in hand: each reports before its processor returns.
      await this.worker.close();
      await Promise.all([...this.writers.values()].map((entry) => entry.writer.flush()));
      this.ledger.dispose();
      await this.subscriber.quit().catch(() => this.subscriber.disconnect());
      await this.writerConnection.quit().catch(() => this.writerConnection.disconnect());
      // BullMQ leaves a connection it was given open, and copies it made of it: ours to close.
      for (const connection of [...this.copies, this.jobsConnection]) connection.disconnect();
    })());
  }
}

/** A check's problem without the prefix the submitter's result adds ("Process spawn failed: "). */
function problemOf(err: unknown): string {
  if (err instanceof ValidationError) return err.issues.map(describeIssue).join('; ');
  return err instanceof Error ? err.message : String(err);
}

/** A job's AWS settings as a submitter of this version writes them (a job is data from Redis: checked). */
function isAwsRunSettings(value: unknown): value is AwsRunSettings {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  const text = (x: unknown) => x === null || typeof x === 'string';
  return (
    text(v.endpoint_url) &&
    text(v.profile) &&
    text(v.region) &&
    typeof v.endpoint_env === 'object' &&
    v.endpoint_env !== null &&
    Object.values(v.endpoint_env).every((x) => typeof x === 'string')
  );
}
