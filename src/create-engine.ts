/**
 * Makes an engine with the executor its configuration asks for: the local executor, or,
 * when `redis` is set, the queue executor (loaded on first use: BullMQ and ioredis weigh tens
 * of MB and every spawn forks this process). The engine itself knows only the contract.
 */
import { type ExecutionConfigInput, resolveConfig } from './config.js';
import { ExecutionEngine } from './engine/engine.js';
import { lazyExecutor } from './executor/lazy.js';
import { queuePlace } from './redis-config.js';

export function createEngine(config: ExecutionConfigInput = {}): ExecutionEngine {
  const resolved = resolveConfig(config);
  const redis = resolved.redis;
  if (!redis) return new ExecutionEngine(resolved);
  const executor = lazyExecutor(
    () => import('./queue/queue-executor.js').then((m) => new m.QueueExecutor(resolved, redis)),
    queuePlace(redis),
  );
  return new ExecutionEngine(resolved, { executor });
}
