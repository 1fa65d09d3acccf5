/** What every route works with: the engine, its history, the approval queue, and open streams. */
import type { ExecutionEngine } from '../engine/engine.js';
import type { HistoryStore } from '../history/store.js';
import type { ApprovalQueue } from '../policy/approval-queue.js';

export interface ServerContext {
  engine: ExecutionEngine;
  readonly history: HistoryStore;
  approvals: ApprovalQueue;
  /** Ends a long-lived response (SSE, WebSocket) when the server closes; returns the unregister function. */
  onClose(close: () => void): () => void;
}
