/** A plan's counts by status, from its commands' results. */
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
    if (r.status !== 'pending' && r.status !== 'running') stats[r.status]++;
  }
  return stats;
}
