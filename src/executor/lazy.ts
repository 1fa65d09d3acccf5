/**
 * An executor loaded on first use. The queue executor pulls in BullMQ and ioredis (tens of
 * MB, and every spawn forks this process): an engine that never runs a command never loads
 * them. A load that fails ends each attempt as `queue_unavailable` (the next one tries again).
 */
import type { AttemptObserver, AttemptOutcome, AttemptSpec, CommandExecutor } from './contract.js';

export function lazyExecutor(load: () => Promise<CommandExecutor>, place?: string): CommandExecutor {
  let loading: Promise<CommandExecutor> | null = null;
  const executor = () => {
    loading ??= load().catch((err: unknown) => {
      loading = null;
      throw err;
    });
    return loading;
  };
  return {
    place,
    async endLeftovers(executionIds: readonly string[], waitMs: number): Promise<string[]> {
      const loaded = await executor();
      return loaded.endLeftovers ? loaded.endLeftovers(executionIds, waitMs) : [...executionIds];
    },
    async run(attempt: AttemptSpec, observer: AttemptObserver): Promise<AttemptOutcome> {
      let loaded: CommandExecutor;
      try {
        loaded = await executor();
      } catch (err) {
        const now = new Date();
        return {
          end: 'queue_unavailable',
          exitCode: null,
          signal: null,
          detail: (err as Error).message,
          ran: false,
          startedAt: now,
          endedAt: now,
        };
      }
      return loaded.run(attempt, observer);
    },
    async close(): Promise<void> {
      if (loading) await (await loading.catch(() => null))?.close();
    },
  };
}
