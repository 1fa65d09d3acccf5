/**
 * `run --redis` / `exec --redis`: the commands wait in Redis for a `cloudops-exec worker`. When
 * none is taking jobs from the queue a few seconds in, say so once (how to start one), instead
 * of leaving the user in front of a silent terminal.
 */
import type { ExecutionEngine } from '../engine/engine.js';

/** How long queued work may wait before the check. */
export const WORKER_CHECK_MS = 3000;

export function watchForWorker(
  engine: ExecutionEngine,
  notify: (message: string) => void,
  afterMs: number = WORKER_CHECK_MS,
): void {
  const redis = engine.config.redis;
  if (!redis) return;
  const timer = setTimeout(() => void check(), afterMs);
  // Never what keeps the process alive: the run ending first makes the check moot.
  timer.unref();

  async function check(): Promise<void> {
    const unfinished = (await engine.listExecutions()).some((e) => e.status === 'pending' || e.status === 'running');
    if (!unfinished) return;
    const { Queue } = await import('bullmq');
    const { redactUrl, redisConnection, within } = await import('../queue/connections.js');
    const connection = redisConnection(redis!.url);
    const queue = new Queue(redis!.queue, { connection });
    queue.on('error', () => {});
    try {
      const workers = await within(queue.getWorkersCount(), 2000, 'counting workers');
      if (workers === 0) {
        notify(
          `waiting for a worker: none is taking jobs from queue "${redis!.queue}" at ${redactUrl(redis!.url)} ` +
            `(start one: cloudops-exec worker --redis ${redactUrl(redis!.url)}${redis!.queue === 'cloudops-exec' ? '' : ` --queue ${redis!.queue}`})`,
        );
      }
    } catch {
      // Redis itself is away: the queue's own errors say so.
    } finally {
      void queue.close().catch(() => {});
      connection.disconnect();
    }
  }
}
