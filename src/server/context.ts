/**
 * What every route works with: the engine, its history, the approval queue, the principals and
 * the audit trail, the input policy, and open streams.
 */
import type { ExecutionEngine } from '../engine/engine.js';
import type { HistoryStore } from '../history/store.js';
import type { ApprovalQueue } from '../services/approval-queue.js';
import type { AuditTrail } from '../services/audit.js';
import type { Principals } from '../services/principals.js';
import type { InputPolicy } from './input-guard.js';

export interface ServerContext {
  engine: ExecutionEngine;
  readonly history: HistoryStore;
  approvals: ApprovalQueue;
  /** Who may sign in, with which role (looked up on every request). */
  principals: Principals;
  /** Who did what: every submission, decision, cancel and sign-in is recorded here. */
  audit: AuditTrail;
  /** What requests sent over HTTP may not carry (see input-guard.ts). */
  input: InputPolicy;
  /** Ends a long-lived response (SSE, WebSocket) when the server closes; returns the unregister function. */
  onClose(close: () => void): () => void;
}
