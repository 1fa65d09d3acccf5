/**
 * A worker's writes to one submitter's reply stream: messages batched (one XADD per batch,
 * written in order), the stream's expiry renewed with each, and how much output waits unsent
 * (the worker pauses a command's output beyond a bound).
 */
import type { Redis } from 'ioredis';
import { REPLY_TTL_SECONDS, type ReplyMessage } from './protocol.js';

/** Batches reply messages to one stream and writes them in order (one XADD per batch). */
export class ReplyWriter {
  private buffer: ReplyMessage[] = [];
  private flushing: Promise<void> = Promise.resolve();
  private scheduled = false;
  /** Output bytes in `buffer`, not yet handed to Redis. */
  bufferedBytes = 0;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
  ) {}

  push(message: ReplyMessage, bytes: number): void {
    this.buffer.push(message);
    this.bufferedBytes += bytes;
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
    this.bufferedBytes = 0;
    if (batch.length === 0) return this.flushing;
    this.flushing = this.flushing.then(async () => {
      try {
        await this.redis
          .multi()
          .xadd(this.key, '*', 'm', JSON.stringify(batch))
          .expire(this.key, REPLY_TTL_SECONDS)
          .exec();
      } catch (err) {
        process.emitWarning(
          `cloudops-exec worker: could not send ${batch.length} replies to ${this.key}: ${(err as Error).message}`,
        );
      }
    });
    return this.flushing;
  }
}
