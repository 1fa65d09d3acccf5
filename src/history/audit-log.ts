/**
 * The audit log's entries and how each is chained to the one before it. The store writes them
 * (HistoryStore.appendAudit, which computes the hash inside its write transaction) and the audit
 * trail checks them (AuditTrail.verify): both hash with `auditHash`, so the two cannot drift apart.
 */
import { createHash } from 'node:crypto';
import type { AuditAction } from '../vocabulary.js';
import { canonicalJson } from '../wire/canonical-json.js';

/** The first entry's `prev_hash`: there is no entry before it. */
export const GENESIS_HASH = '0'.repeat(64);

/** What a caller records: who did what to which object, from where, with any facts worth keeping. */
export interface AuditInput {
  principal: string | null;
  action: AuditAction;
  object?: string | null;
  source?: string | null;
  detail?: Record<string, unknown>;
}

/** One entry as stored: numbered, timed, and chained to the entry before it. */
export interface AuditEntry {
  seq: number;
  at: string;
  principal: string | null;
  action: AuditAction;
  object: string | null;
  source: string | null;
  detail: Record<string, unknown>;
  /** The hash of the entry before it (GENESIS_HASH for the first). */
  prev_hash: string;
  /** sha256 hex of `prev_hash` followed by the canonical JSON of the entry's content (see auditHash). */
  hash: string;
}

/** The part of an entry its hash covers. */
export type AuditContent = Pick<AuditEntry, 'seq' | 'at' | 'principal' | 'action' | 'object' | 'source' | 'detail'>;

/** An entry's hash: sha256 hex of `prev_hash` + canonical JSON of {seq, at, principal, action, object, source, detail}. */
export function auditHash(prevHash: string, content: AuditContent): string {
  const { seq, at, principal, action, object, source, detail } = content;
  return createHash('sha256')
    .update(prevHash + canonicalJson({ seq, at, principal, action, object, source, detail }))
    .digest('hex');
}

/** A row of `audit_log` as SQLite returns it. */
export interface AuditRow {
  seq: number;
  at: string;
  principal: string | null;
  action: string;
  object: string | null;
  source: string | null;
  detail_json: string;
  prev_hash: string;
  hash: string;
}

/**
 * An entry from its row. A `detail_json` that is no longer a JSON object (someone edited the file)
 * is kept as `{ unreadable: <text> }`: its hash no longer matches, and verify says so.
 */
export function fromAuditRow(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    at: row.at,
    principal: row.principal,
    action: row.action as AuditAction,
    object: row.object,
    source: row.source,
    detail: parseDetail(row.detail_json),
    prev_hash: row.prev_hash,
    hash: row.hash,
  };
}

function parseDetail(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // Falls through: not JSON.
  }
  return { unreadable: text };
}
