/** Whose work an execution is: who may stop or roll it back (HTTP routes and MCP tools alike). */
import { assertMayCancel, type RequestPrincipal } from './access.js';
import type { ServerContext } from './context.js';
import { SUBMITTED_BY_TAG } from './submit.js';

/**
 * Refuse a submitter stopping work it did not submit: the owner is who submitted it over HTTP
 * (a plan's command: its own tag, else its plan's). An unknown id is the engine's 404; work the
 * engine runs that the history has no record of has no owner to show, so a submitter may not stop it.
 */
export async function assertMayStop(ctx: ServerContext, principal: RequestPrincipal, id: string): Promise<void> {
  const record = ctx.history.get(id);
  if (!record) {
    await ctx.engine.getStatus(id); // NotFound (404) for an id the engine does not know either
    return assertMayCancel(principal, id, null);
  }
  let owner = record.tags[SUBMITTED_BY_TAG] ?? null;
  if (owner === null && record.plan_id !== null)
    owner = ctx.history.get(record.plan_id)?.tags[SUBMITTED_BY_TAG] ?? null;
  assertMayCancel(principal, id, owner);
}
