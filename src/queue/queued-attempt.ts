/**
 * One attempt in the queue, on the submitting side: the worker's replies applied in order to
 * the engine's observer (a job handed to a second worker is a restart; a batch written twice
 * is dropped), and the ways the submitter ends an attempt no worker will report on.
 */
import type { AttemptEnd, AttemptObserver, AttemptOutcome } from '../executor/contract.js';
import { LineBatch } from '../runner/line-splitter.js';
import { fromWire, type ReplyMessage, type WorkerInfo } from './protocol.js';

const RESTARTED = 'worker lost; running again on another worker';

/** One attempt in the queue, on the submitting side: the worker's replies, applied in order. */
export class QueuedAttempt {
  readonly done: Promise<AttemptOutcome>;
  /** Set once the job is in the queue (the watchdog looks only at those). */
  inQueue = false;
  private resolve!: (outcome: AttemptOutcome) => void;
  private finished = false;
  private startedAt = new Date();
  /** The worker running the current run, once it said so. */
  private worker: WorkerInfo | null = null;
  /** Replies are applied one after another (the observer's output may return a promise). */
  private chain: Promise<void> = Promise.resolve();
  /** The run whose replies are taken (a job handed to another worker starts a new one), and its last number. */
  private run: string | null = null;
  private lastSeq = 0;
  /** Runs superseded by a later one: whatever they still send is stale. */
  private readonly retired = new Set<string>();
  /** Watchdog: consecutive checks that found the job in trouble, and since when Redis has not answered. */
  private troubled = 0;
  private unreachableSince: number | null = null;

  constructor(private readonly observer: AttemptObserver) {
    this.done = new Promise((resolve) => (this.resolve = resolve));
  }

  get isFinished(): boolean {
    return this.finished;
  }

  /** Resolves once every reply received so far is applied. */
  settled(): Promise<void> {
    return this.chain;
  }

  receive(message: ReplyMessage): void {
    // Not part of any run: the worker that found the job failed says so (after the replies already taken).
    if (message.t === 'lost') return this.lost(message.reason);
    if (this.retired.has(message.run)) return;
    if (message.run !== this.run) {
      // BullMQ handed the job to another worker (the first stopped renewing its lock).
      if (this.run !== null) {
        this.retired.add(this.run);
        this.chain = this.chain.then(() => {
          if (!this.finished) this.observer.restarted(RESTARTED);
        });
      }
      this.run = message.run;
      this.lastSeq = 0;
    }
    if (message.seq <= this.lastSeq) return; // written twice
    this.lastSeq = message.seq;
    this.chain = this.chain
      .then(() => this.apply(message))
      .catch((err: unknown) => {
        process.emitWarning(
          `cloudops-execution-engine: a worker reply could not be applied: ${(err as Error).message}`,
        );
      });
  }

  private async apply(message: ReplyMessage): Promise<void> {
    if (this.finished) return;
    switch (message.t) {
      case 'spawned':
        if (this.worker === null) this.startedAt = new Date();
        this.worker = message.worker;
        this.observer.started();
        // Its process group is on the worker's machine: nothing this engine could signal.
        this.observer.note(`spawned pid ${message.pid} on worker ${describe(message.worker)}: ${message.what}`);
        return;
      case 'output': {
        const lines = message.lines.map((line) => Buffer.from(line, 'utf8'));
        const data = Buffer.from(`${message.lines.join('\n')}\n`, 'utf8');
        await this.observer.output({
          stream: message.stream,
          data,
          lines: LineBatch.of(lines),
          timestamp: message.timestamp,
        });
        return;
      }
      case 'outcome': {
        const outcome = fromWire(message.outcome);
        // A worker that could not spawn it still took it up, as the local executor would have.
        if (outcome.ran || outcome.end === 'spawn_failed') this.observer.started();
        this.observer.note(`ran on worker ${describe(message.worker)}`);
        this.finish(outcome);
        return;
      }
    }
  }

  /** BullMQ failed the job without an outcome: its worker died (or the job could not be processed). */
  lost(reason: string): void {
    this.endHere('worker_lost', reason);
  }

  /**
   * A watchdog check: `trouble` says why the job will never report (null: it may). Twice in a
   * row ends the attempt (true); once if `certain` (BullMQ failed the job).
   */
  observe(trouble: string | null, certain = false): boolean {
    this.unreachableSince = null;
    this.troubled = trouble === null ? 0 : this.troubled + 1;
    if (trouble === null || (this.troubled < 2 && !certain)) return false;
    this.lost(trouble);
    return true;
  }

  /** A watchdog check Redis did not answer: after `limitMs` of that, the outcome is unknowable here. */
  unreachable(limitMs: number, why: string): void {
    const now = Date.now();
    this.unreachableSince ??= now;
    const seconds = Math.round((now - this.unreachableSince) / 1000);
    if (now - this.unreachableSince >= limitMs)
      this.endHere('queue_unavailable', `${why} for ${seconds} s; the command's outcome is unknown`);
  }

  /** If no outcome arrives in time after a cancel, end as cancelled here (the worker is gone or unreachable). */
  expectCancelWithin(ms: number): void {
    const timer = setTimeout(() => this.endHere('cancelled', `(no worker confirmed it within ${ms} ms)`), ms);
    timer.unref();
    void this.done.then(() => clearTimeout(timer));
  }

  /** The job was taken out of the queue before a worker ran it (again). */
  cancelledInQueue(): void {
    this.endHere('cancelled', this.run !== null ? 'while queued to run again' : null);
  }

  /** An attempt that never reached the queue. */
  notRun(end: AttemptEnd, detail: string | null): AttemptOutcome {
    const outcome: AttemptOutcome = {
      end,
      exitCode: null,
      signal: null,
      detail,
      ran: false,
      startedAt: this.startedAt,
      endedAt: new Date(),
    };
    this.finish(outcome);
    return outcome;
  }

  /** Ends the attempt from this side, with no outcome from a worker (after the replies already taken). */
  endHere(end: AttemptEnd, detail: string | null): void {
    this.chain = this.chain.then(() => {
      if (this.finished) return;
      // Which worker had it, for the log: the outcome that would have said so never comes.
      if (this.worker && end !== 'cancelled') this.observer.note(`it was running on worker ${describe(this.worker)}`);
      this.finish({
        end,
        exitCode: null,
        signal: null,
        detail,
        ran: this.run !== null,
        startedAt: this.startedAt,
        endedAt: new Date(),
      });
    });
  }

  private finish(outcome: AttemptOutcome): void {
    if (this.finished) return;
    this.finished = true;
    this.resolve(outcome);
  }
}

function describe(worker: WorkerInfo): string {
  return `${worker.worker_id} (${worker.host}, pid ${worker.pid})`;
}
