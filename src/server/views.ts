/** What the API shows of an execution: its history record, with the live result the engine still holds. */
import type { z } from 'zod';
import type { ExecutionConfig } from '../config.js';
import type { ExecutionEngine } from '../engine/engine.js';
import { ExecutionError } from '../errors.js';
import type { ExecutionRecord, HistoryStore } from '../history/store.js';
import { redactData } from '../policy/redact-data.js';
import type { AuditTrail } from '../services/audit.js';
import type { CancelledBy, CommandDetail, ExecutionView, PlanDetail } from './api-schemas.js';

/**
 * One row of a listing. Records are stored redacted (history-sink); a record written by an
 * older version may not be, so its request or plan still serves as the source of what to hide.
 */
export function executionView(
  r: ExecutionRecord,
  config: Pick<ExecutionConfig, 'redact_secrets'>,
): z.output<typeof ExecutionView> {
  const view: z.output<typeof ExecutionView> = {
    id: r.id,
    kind: r.kind,
    plan_id: r.plan_id,
    name: r.name,
    outputs: r.outputs,
    status: r.status,
    risk_level: r.risk_level,
    command: r.command,
    description: r.description,
    submitted_at: r.submitted_at,
    started_at: r.started_at,
    completed_at: r.completed_at,
    duration_ms: r.duration_ms,
    exit_code: r.exit_code,
    error: r.error,
    error_code: r.error_code,
    conversation_id: r.conversation_id,
    user_prompt: r.user_prompt,
    source: r.source,
    tags: r.tags,
    carried_from: r.carried_from,
  };
  return redactData(view, config, [r.request, r.plan]);
}

/** The engine's answer, or null where it has none (still running, or no longer tracked). */
async function held<T>(read: () => Promise<T>): Promise<T | null> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof ExecutionError && (err.code === 'NotFound' || err.code === 'NotCompleted')) return null;
    throw err;
  }
}

/** Who asked to cancel this run, else its plan (a plan's cancel stops its commands): from the audit trail. */
function cancelledBy(audit: AuditTrail, record: ExecutionRecord): z.output<typeof CancelledBy> {
  for (const object of [record.id, record.plan_id]) {
    if (object === null) continue;
    const entry = audit.lastOf(object, 'cancel');
    if (entry) return { principal: entry.principal, at: entry.at, object };
  }
  return null;
}

export async function detailOf(
  engine: ExecutionEngine,
  history: HistoryStore,
  audit: AuditTrail,
  id: string,
): Promise<z.output<typeof CommandDetail> | z.output<typeof PlanDetail>> {
  const record = history.get(id);
  if (!record) throw ExecutionError.notFound(id);
  if (record.kind === 'command') {
    return {
      execution: executionView(record, engine.config),
      cancelled_by: cancelledBy(audit, record),
      request: record.request,
      result: await held(() => engine.getResult(id)),
    };
  }
  const steps = history.list({ plan_id: id, limit: 10_000 });
  const order = new Map(record.plan?.commands.map((c, i) => [c.id, i]));
  // Plan order first; rollback steps (not in the plan) after, in the order they ran.
  steps.sort(
    (a, b) =>
      (order.get(a.id) ?? Infinity) - (order.get(b.id) ?? Infinity) || a.submitted_at.localeCompare(b.submitted_at),
  );
  return {
    execution: executionView(record, engine.config),
    cancelled_by: cancelledBy(audit, record),
    plan: record.plan,
    commands: steps.map((step) => executionView(step, engine.config)),
    result: await held(() => engine.getPlanResult(id)),
    approval: record.approval ?? (await held(() => engine.getApproval(id))),
  };
}
