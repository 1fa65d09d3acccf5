/**
 * A worker's writes to one submitter's reply stream: messages batched (one XADD per batch,
 * written in order), the stream's expiry renewed now and then, and how much output waits
 * unsent (the worker pauses a command's output beyond a bound).
 */
import type { Redis } from 'ioredis';
import { REPLY_TTL_SECONDS, type ReplyMessage } from './protocol.js';

/**
 * How long a message waits for others before it is written, unless a flush comes first (an
 * attempt's outcome is flushed within the turn). A short command's start then travels with
 * its outcome, and the starts and output of commands running side by side share one XADD:
 * per command, one write to Redis instead of two or more. Short enough not to be seen.
 */
const HOLD_MS = 20;
/** The stream's expiry is renewed with a batch at most this often (it is a day long). */
const RENEW_MS = 60_000;

/** Batches reply messages to one stream and writes them in order (one XADD per batch). */
export class ReplyWriter {
  private buffer: ReplyMessage[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  /** A flush at the end of this event-loop turn, once asked for. */
  private soon: Promise<void> | null = null;
  /** When the stream's expiry was last renewed (0: not yet by this writer). */
  private renewedAt = 0;
  /** Output bytes in `buffer`, not yet handed to Redis. */
  bufferedBytes = 0;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  push(message: ReplyMessage, bytes: number): void {
    this.buffer.push(message);
    this.bufferedBytes += bytes;
    this.timer ??= setTimeout(() => void this.flush(), HOLD_MS);
  }

  /**
   * Resolves once everything pushed so far is in Redis, written at the end of this event-loop
   * turn: the outcomes of commands that ended together share one XADD.
   */
  flushSoon(): Promise<void> {
    this.soon ??= new Promise((resolve) =>
      setImmediate(() => {
        this.soon = null;
        resolve(this.flush());
      }),
    );
    return this.soon;
  }

  /** Resolves once everything pushed so far is in Redis (written now). */
  flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    const batch = this.buffer;
    this.buffer = [];
    this.bufferedBytes = 0;
    if (batch.length === 0) return this.flushing;
    const now = Date.now();
    const renew = now - this.renewedAt >= RENEW_MS;
    if (renew) this.renewedAt = now;
    this.flushing = this.flushing.then(async () => {
      try {
        const data = JSON.stringify(batch);
        // Sent together (one write); a batch resent after a reconnect is dropped by the submitter (seq).
        if (!renew) await this.redis.xadd(this.key, '*', 'm', data);
        else {
          const results = await this.redis
            .pipeline()
            .xadd(this.key, '*', 'm', data)
            .expire(this.key, REPLY_TTL_SECONDS)
            .exec();
          const failed = results?.find(([err]) => err);
          if (failed) throw failed[0];
        }
      } catch (err) {
        process.emitWarning(
          `cloudops-exec worker: could not send ${batch.length} replies to ${this.key}: ${(err as Error).message}`,
        );
      }
    });
    return this.flushing;
  }
}
