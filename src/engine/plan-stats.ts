/** A plan's counts by status, from its commands' results. */
import { TERMINAL_STATUSES } from '../vocabulary.js';
import type { ExecutionResult, ExecutionStats } from '../wire/types.js';

export function statsOf(results: readonly ExecutionResult[]): ExecutionStats {
  const stats: ExecutionStats = {
    total: results.length,
    completed: 0,
    failed: 0,
    cancelled: 0,
    timeout: 0,
    skipped: 0,
    rolled_back: 0,
    interrupted: 0,
  };
  for (const r of results) {
    // Only ended work is counted; each terminal status has its own count.
    if (TERMINAL_STATUSES.has(r.status)) stats[r.status as Exclude<keyof ExecutionStats, 'total'>]++;
  }
  return stats;
}
