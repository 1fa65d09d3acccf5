/**
 * The audit trail: who did what, to which object, when and from where, append-only in the
 * history store. Each entry carries the hash of the one before it, so a row changed, deleted or
 * moved with SQLite directly is found by `verify`, which names the first entry that does not hold.
 */
import { type AuditEntry, type AuditInput, auditHash, GENESIS_HASH } from '../history/audit-log.js';
import { type HistoryStore, MAX_LIST_LIMIT } from '../history/store.js';
import { AuditActionSchema } from '../vocabulary.js';

export type { AuditEntry, AuditInput } from '../history/audit-log.js';

/** What is wrong with the first broken entry: its content, a gap before it, or its place in the chain. */
export type AuditProblem = 'changed' | 'deleted' | 'out_of_order';

/** How far back `verify` looks for the number a moved entry had (hashes tried, once). */
const MAX_RENUMBER_SEARCH = 1_000_000;

export type AuditVerdict =
  | { ok: true; entries: number }
  | { ok: false; seq: number; problem: AuditProblem; reason: string; entries: number };

export class AuditTrail {
  constructor(private readonly store: HistoryStore) {}

  /** Append an entry (numbered, timed and chained by the store, in one transaction). */
  record(entry: AuditInput): AuditEntry {
    return this.store.appendAudit({ ...entry, action: AuditActionSchema.parse(entry.action) });
  }

  /** Entries in order: the latest `limit` (default 100), or with `after`, the first `limit` numbered above it. */
  list(filter: { limit?: number; after?: number } = {}): AuditEntry[] {
    return this.store.auditEntries(filter);
  }

  /**
   * Recompute every entry's hash in order. The first entry must be number 1 and chain to
   * GENESIS_HASH; each next one must be numbered one more and chain to the hash before it.
   * `entries` counts the entries read (up to the broken one, when there is one).
   */
  verify(): AuditVerdict {
    let previous: AuditEntry | null = null;
    const seen = new Map<string, number>(); // hash → seq, to tell a moved entry from a changed one
    let count = 0;
    for (let page = this.store.auditEntries({ after: 0, limit: MAX_LIST_LIMIT }); page.length > 0; ) {
      for (const entry of page) {
        count++;
        const broken = this.check(entry, previous, seen);
        if (broken) return { ok: false, seq: entry.seq, ...broken, entries: count };
        seen.set(entry.hash, entry.seq);
        previous = entry;
      }
      page = this.store.auditEntries({ after: previous!.seq, limit: MAX_LIST_LIMIT });
    }
    return { ok: true, entries: count };
  }

  /**
   * The number an entry whose hash fails had when it was written, if only its number was changed
   * (rows swapped or moved), else null. Tries each number up to the highest in use: this runs
   * once, for the first broken entry, and the log is not a place where numbers run into millions.
   */
  private numberHashedAs(entry: AuditEntry): number | null {
    const highest = Math.min(this.store.auditEntries({ limit: 1 })[0]?.seq ?? 0, MAX_RENUMBER_SEARCH);
    for (let seq = 1; seq <= highest; seq++) {
      if (seq !== entry.seq && auditHash(entry.prev_hash, { ...entry, seq }) === entry.hash) return seq;
    }
    return null;
  }

  private check(
    entry: AuditEntry,
    previous: AuditEntry | null,
    seen: ReadonlyMap<string, number>,
  ): { problem: AuditProblem; reason: string } | null {
    const expectedSeq = (previous?.seq ?? 0) + 1;
    if (entry.seq !== expectedSeq) {
      const missing =
        expectedSeq === entry.seq - 1 ? `entry ${expectedSeq} is` : `entries ${expectedSeq}-${entry.seq - 1} are`;
      return { problem: 'deleted', reason: `${missing} missing before it (deleted)` };
    }
    if (auditHash(entry.prev_hash, entry) !== entry.hash) {
      const was = this.numberHashedAs(entry);
      return was === null
        ? { problem: 'changed', reason: 'its content does not match its hash (changed)' }
        : { problem: 'out_of_order', reason: `it was entry ${was}, renumbered (moved out of order)` };
    }
    const expectedPrev = previous?.hash ?? GENESIS_HASH;
    if (entry.prev_hash === expectedPrev) return null;
    const follows = seen.get(entry.prev_hash);
    if (follows !== undefined) {
      return { problem: 'out_of_order', reason: `it chains to entry ${follows}, not to entry ${previous?.seq}` };
    }
    return {
      problem: 'changed',
      reason: previous
        ? `it does not chain to entry ${previous.seq} (that entry, or this one, was rewritten)`
        : 'it does not start the chain (the entries before it were deleted, or it was rewritten)',
    };
  }
}
