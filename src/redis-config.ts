/** Where the queue lives and how the fleet shares it (the engine's `redis` option). */
import { z } from 'zod';

// Strict: a misspelt option (`global_concurency`) is an error naming it, never a default silently kept.
export const RedisConfigSchema = z.strictObject({
  /** `redis://[user:password@]host:port[/db]`. */
  url: z.string().regex(/^rediss?:\/\//, 'must be a redis:// or rediss:// URL'),
  /** Queue name: submitters and workers that share it share the work. */
  queue: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, - and _ only')
    .default('cloudops-exec'),
  /**
   * Commands running at once over the whole fleet, enforced by the queue for every worker.
   * Set on the queue when given; null (the default) leaves the queue's limit as it is
   * (unlimited on a new queue, else whatever an earlier submitter set).
   */
  global_concurrency: z.int().positive().nullable().default(null),
  /** How long to wait for Redis before commands fail with "Queue unavailable" (they are not left pending forever). */
  connect_timeout_ms: z.int().positive().default(10_000),
});

export type RedisConfig = z.output<typeof RedisConfigSchema>;

/**
 * Where a queue's commands run, as the history records it: the Redis server (its address, never
 * its credentials) and the queue name. Two queues of one name on two servers are two places.
 */
export function queuePlace(redis: Pick<RedisConfig, 'url' | 'queue'>): string {
  let server = redis.url;
  try {
    const url = new URL(redis.url);
    server = `${url.protocol}//${url.hostname}${url.port ? `:${url.port}` : ''}${url.pathname === '/' ? '' : url.pathname}`;
  } catch {
    // Checked by the schema: kept as given.
  }
  return `queue:${redis.queue}@${server}`;
}
export type RedisConfigInput = z.input<typeof RedisConfigSchema>;
