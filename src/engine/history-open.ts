/**
 * Opening the engine's history: the store (a corrupt one replaced by one in memory, said
 * once, loudly), its writer, and the cleanup of what a dead engine left unfinished: its
 * executions are marked interrupted and the processes it left behind are ended.
 */
import { type ExecutionConfig, historyPathOf } from '../config.js';
import { corruptionCode, corruptionReason, HistoryStore } from '../history/store.js';
import { endLeftoverGroup, processAlive } from '../runner/kill-tree.js';
import { HistoryWriter } from './history-writer.js';
import type { TrackedExecution } from './tracked.js';

/** The history writer for an engine, or null with `store_history: false` or when the store cannot be opened (a warning says why). */
export function openHistory(
  config: ExecutionConfig,
  engineId: string,
  tracked: () => TrackedExecution[],
  /** Where this engine's commands run (its executor's `place`). */
  place: string,
): HistoryWriter | null {
  if (!config.store_history) return null;
  const path = historyPathOf(config);
  // A corrupt store is said once, loudly; the engine goes on with its history in memory (what
  // it runs from now on), so the server, approvals and duplicate-id checks keep working.
  const warnCorrupt = (reason: string) =>
    process.emitWarning(
      `cloudops-execution-engine: ${reason}; running without it: this engine's executions are kept in memory only and lost when it stops (move the file aside to start a new store)`,
      { code: 'CLOUDOPS_HISTORY' },
    );
  const unavailable = (err: unknown): null => {
    process.emitWarning(
      `cloudops-execution-engine: history store ${path} unavailable, running without history: ${(err as Error).message}`,
      {
        code: 'CLOUDOPS_HISTORY',
      },
    );
    return null;
  };
  let store: HistoryStore;
  try {
    store = HistoryStore.open(path);
  } catch (err) {
    if (corruptionCode(err) === null) return unavailable(err);
    const reason = corruptionReason(path, err);
    warnCorrupt(reason);
    store = HistoryStore.inMemory(path, reason);
  }
  const writer = new HistoryWriter(store, engineId, { redact_secrets: config.redact_secrets, place });
  // Corruption found later (the file damaged while we run): the store moves to memory, filled
  // with everything this engine tracks, so what it holds is still answered, never a 500.
  store.keepRunningInMemory({
    maxRecords: config.max_retained_executions,
    onCorrupt: (reason) => {
      warnCorrupt(reason);
      return tracked().map((state) => writer.recordOf(state));
    },
  });
  try {
    // Whatever a dead engine left running or pending is not going to finish: say so, and end
    // the processes it left behind (they have no engine to report to or to stop them).
    const interrupted = store.markInterrupted((pid) => pid === process.pid || processAlive(pid));
    let ended = 0;
    for (const record of interrupted)
      if (record.process_group !== null) ended += endLeftoverGroup(record.process_group, record.process_start);
    if (ended > 0) {
      process.emitWarning(
        `cloudops-execution-engine: ended ${ended} process(es) left running by an engine that died (history ${path})`,
        { code: 'CLOUDOPS_LEFTOVER' },
      );
    }
  } catch (err) {
    writer.close();
    store.close();
    return unavailable(err);
  }
  return writer;
}
