/** Redis connections for the queue mode, and bounds on waiting for them while Redis is away. */
import { Redis } from 'ioredis';

export function redisConnection(url: string): Redis {
  // BullMQ's blocking commands need unlimited retries per request.
  const connection = new Redis(url, { maxRetriesPerRequest: null });
  // Connection errors are retried by ioredis and surface as timeouts where they matter.
  connection.on('error', () => {});
  return connection;
}

/**
 * Records the copies BullMQ makes of `connection` (a Worker blocks on one).
 * While Redis is unreachable, closing the BullMQ object does not reach its copy, which
 * would then reconnect, and hold the process open, forever: the owner disconnects them.
 */
export function trackCopies(connection: Redis, copies: Redis[]): Redis {
  const duplicate = connection.duplicate.bind(connection);
  connection.duplicate = ((override?: object) => {
    const copy = duplicate(override as never);
    copy.on('error', () => {});
    copies.push(copy);
    return copy;
  }) as typeof connection.duplicate;
  return connection;
}

/** A Redis URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}

/** `promise`, or a rejection naming `what` after `ms` (the call itself may still complete later). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from Redis within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
