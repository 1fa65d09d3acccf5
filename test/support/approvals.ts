/**
 * Deciding approvals over HTTP the way the server's rules want it: as a principal other than
 * the submitter (tests submit with the bootstrap admin's token), on the plan digest the
 * approval shows at that moment.
 */
import { addPrincipal, type TestServer } from './server.js';

/** Approver tokens by history store (a log dir), so a server restarted on the same store reuses them. */
const tokens = new Map<string, Map<string, string>>();

/** A client signed in as the approver `name` (added to the server's store on first use). */
export function approverApi(ts: Pick<TestServer, 'engine' | 'as'>, name = 'alice'): TestServer['api'] {
  const store = String(ts.engine.config.log_dir);
  const known = tokens.get(store) ?? new Map<string, string>();
  tokens.set(store, known);
  let token = known.get(name);
  if (token === undefined) {
    token = addPrincipal(ts, name, 'approver');
    known.set(name, token);
  }
  return ts.as(token);
}

export interface DecideOptions {
  /** The approver deciding; default `alice`. */
  as?: string;
  /**
   * An edit needs approvers other than its author. With `confirmEdit` the helper then has
   * `<as>-confirm` (and `<as>-confirm2`) approve the edit until it starts, as the rules
   * require, and returns that answer; without it, the edit's own answer (still pending).
   */
  confirmEdit?: boolean;
  notes?: string;
  accept_risk?: string;
}

/** POST a decision on approval `id` as an approver, with the digest the approval carries now. */
export async function decideAs(
  ts: Pick<TestServer, 'engine' | 'as'>,
  id: string,
  decision: unknown,
  options: DecideOptions = {},
): ReturnType<TestServer['api']> {
  const { as = 'alice', confirmEdit = false, ...rest } = options;
  const api = approverApi(ts, as);
  const shown = await api('GET', `/api/approvals/${id}`);
  let answer = await api('POST', `/api/approvals/${id}/decision`, {
    decision,
    plan_sha256: shown.body.plan_sha256,
    ...rest,
  });
  const edited = (decision as { type?: string } | null)?.type === 'modify_and_approve';
  for (const confirmer of [`${as}-confirm`, `${as}-confirm2`]) {
    if (!edited || !confirmEdit || answer.status !== 200 || answer.body.state !== 'pending') break;
    const other = approverApi(ts, confirmer);
    const { accept_risk } = rest;
    answer = await other('POST', `/api/approvals/${id}/decision`, {
      decision: { type: 'approve' },
      plan_sha256: answer.body.plan_sha256,
      ...(accept_risk ? { accept_risk } : {}),
    });
  }
  return answer;
}
