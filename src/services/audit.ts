/**
 * The audit trail: who did what, to which object, when and from where, append-only in the
 * history store. Each entry carries the hash of the one before it, so a row changed, deleted or
 * moved with SQLite directly is found by `verify`, which names the first entry that does not hold.
 */
import { type AuditEntry, type AuditInput, auditHash, GENESIS_HASH } from '../history/audit-log.js';
import { type HistoryStore, MAX_LIST_LIMIT } from '../history/store.js';
import { type AuditAction, AuditActionSchema } from '../vocabulary.js';

export type { AuditEntry, AuditInput } from '../history/audit-log.js';

/** What is wrong with the first broken entry: its content, a gap before it, or its place in the chain. */
export type AuditProblem = 'changed' | 'deleted' | 'out_of_order';

/** How far back `verify` looks for the number a moved entry had (hashes tried, once). */
const MAX_RENUMBER_SEARCH = 1_000_000;

/**
 * Where the chain ends: the last entry's number and hash. An operator records it elsewhere; a
 * chain rewritten from scratch (every hash recomputed) no longer ends there.
 */
export interface AuditAnchor {
  seq: number;
  hash: string;
}

export type AuditVerdict =
  | { ok: true; entries: number; last: AuditAnchor | null }
  | { ok: false; seq: number; problem: AuditProblem; reason: string; entries: number };

/** A hash prefix shorter than this is not taken as an anchor (too easy to match by chance). */
export const MIN_ANCHOR_HASH_PREFIX = 12;

export class AuditTrail {
  private warned = false;

  constructor(private readonly store: HistoryStore) {}

  /** Append an entry (numbered, timed and chained by the store, in one transaction). */
  record(entry: AuditInput): AuditEntry {
    return this.store.appendAudit({ ...entry, action: AuditActionSchema.parse(entry.action) });
  }

  /**
   * Record an action already done: a failure to record costs the entry, not the answer (the
   * action happened; an error would make the client retry it). Warned about, once per trail,
   * so a store that stopped taking writes does not print a warning on every request.
   */
  recordDone(entry: AuditInput): AuditEntry | null {
    try {
      return this.record(entry);
    } catch (err) {
      if (!this.warned) {
        this.warned = true;
        process.emitWarning(
          `cloudops-execution-engine: audit entry "${entry.action}" for ${entry.object ?? '-'} not recorded ` +
            `(later failures are not reported again): ${(err as Error).message}`,
          { code: 'CLOUDOPS_AUDIT' },
        );
      }
      return null;
    }
  }

  /** Who last did `action` to `object` (for example who cancelled a run), or null. */
  lastOf(object: string, action: AuditAction): AuditEntry | null {
    return this.store.lastAuditOf(object, action);
  }

  /** Entries in order: the latest `limit` (default 100), or with `after`, the first `limit` numbered above it. */
  list(filter: { limit?: number; after?: number } = {}): AuditEntry[] {
    return this.store.auditEntries(filter);
  }

  /**
   * Recompute every entry's hash in order. The first entry must be number 1 and chain to
   * GENESIS_HASH; each next one must be numbered one more and chain to the hash before it.
   * The highest number must be the last one SQLite gave (else the last entries, or all, were
   * deleted), and with `expectLast` (an anchor printed by an earlier verify), the chain must still
   * hold that entry with that hash (or one starting with it): entries appended since are fine, a
   * chain rewritten or cut short is not. `entries` counts the entries read (up to the broken one, when there is one).
   */
  verify(expectLast?: AuditAnchor): AuditVerdict {
    let previous: AuditEntry | null = null;
    const seen = new Map<string, number>(); // hash → seq, to tell a moved entry from a changed one
    let count = 0;
    let anchored: AuditAnchor | null = null; // the entry numbered expectLast.seq, as found in the chain
    for (let page = this.store.auditEntries({ after: 0, limit: MAX_LIST_LIMIT }); page.length > 0; ) {
      for (const entry of page) {
        count++;
        const broken = this.check(entry, previous, seen);
        if (broken) return { ok: false, seq: entry.seq, ...broken, entries: count };
        seen.set(entry.hash, entry.seq);
        if (entry.seq === expectLast?.seq) anchored = { seq: entry.seq, hash: entry.hash };
        previous = entry;
      }
      page = this.store.auditEntries({ after: previous!.seq, limit: MAX_LIST_LIMIT });
    }
    const highest = previous?.seq ?? 0;
    const given = this.store.auditSequence();
    if (given > highest) {
      const missing = given === highest + 1 ? `entry ${given} is` : `entries ${highest + 1}-${given} are`;
      return {
        ok: false,
        seq: given,
        problem: 'deleted',
        reason: `${missing} missing at the end (deleted; numbers up to ${given} were given)`,
        entries: count,
      };
    }
    const last = previous ? { seq: previous.seq, hash: previous.hash } : null;
    if (expectLast) {
      const mismatch = anchorMismatch(anchored, last, expectLast);
      if (mismatch) return { ok: false, seq: expectLast.seq, ...mismatch, entries: count };
    }
    return { ok: true, entries: count, last };
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

/** Why the anchored entry is not in the chain as recorded, or null when it is. */
function anchorMismatch(
  found: AuditAnchor | null,
  last: AuditAnchor | null,
  expected: AuditAnchor,
): { problem: AuditProblem; reason: string } | null {
  if (found === null) {
    const end = last === null ? 'the trail is empty' : `the chain ends at entry ${last.seq}`;
    return { problem: 'deleted', reason: `${end}, but it reached entry ${expected.seq} before (deleted)` };
  }
  if (found.hash.startsWith(expected.hash.toLowerCase())) return null;
  return {
    problem: 'changed',
    reason: `entry ${found.seq} has hash ${found.hash}, not ${expected.hash} as recorded (the chain was rewritten)`,
  };
}
