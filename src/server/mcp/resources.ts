/**
 * What an MCP client can read and subscribe to, besides calling tools: an execution, its log
 * (the last lines, capped as read_log caps them), and an approval. A client that subscribes to
 * one is told (`notifications/resources/updated`) when the execution finishes or the approval
 * changes (a vote, a decision), so it need not poll.
 */
import { ExecutionError } from '../../errors.js';
import { TERMINAL_STATUSES } from '../../vocabulary.js';
import type { ServerContext } from '../context.js';
import { DEFAULT_LOG_BYTES } from './tool-inputs.js';
import { callTool, type ToolCaller } from './tools.js';

const SCHEME = 'cloudops';

export const RESOURCE_TEMPLATES = [
  {
    uriTemplate: `${SCHEME}://executions/{id}`,
    name: 'execution',
    title: 'An execution',
    description:
      'Status, result summary and (for a plan) its commands, as get_execution returns them. Subscribe to be told when it finishes (at once if it has).',
    mimeType: 'application/json',
  },
  {
    uriTemplate: `${SCHEME}://executions/{id}/log`,
    name: 'execution-log',
    title: "An execution's log",
    description: `The last 200 lines of its log (at most ${DEFAULT_LOG_BYTES} bytes; read_log reads any range). Subscribe to be told when it finishes.`,
    mimeType: 'text/plain',
  },
  {
    uriTemplate: `${SCHEME}://approvals/{id}`,
    name: 'approval',
    title: 'An approval',
    description:
      'Who approved, how many approvals are still needed, the decision: as get_approval returns it. Subscribe to be told when it changes.',
    mimeType: 'application/json',
  },
] as const;

type Target = { kind: 'execution' | 'log' | 'approval'; id: string };

function targetOf(uri: string): Target {
  const m = /^cloudops:\/\/(executions|approvals)\/([^/]+)(\/log)?$/.exec(uri);
  if (!m || (m[1] === 'approvals' && m[3])) throw ExecutionError.create('NotFound', { id: uri, reason: 'resource' });
  const id = decodeURIComponent(m[2]!);
  return { kind: m[1] === 'approvals' ? 'approval' : m[3] ? 'log' : 'execution', id };
}

export async function readResource(ctx: ServerContext, uri: string, caller: ToolCaller) {
  const target = targetOf(uri);
  if (target.kind === 'log') {
    const window = (await callTool(ctx, 'read_log', { id: target.id, tail_lines: 200 }, caller)) as { text: string };
    return { contents: [{ uri, mimeType: 'text/plain', text: window.text }] };
  }
  const body =
    target.kind === 'approval'
      ? await callTool(ctx, 'get_approval', { id: target.id }, caller)
      : await callTool(ctx, 'get_execution', { id: target.id }, caller);
  return { contents: [{ uri, mimeType: 'application/json', text: JSON.stringify(body) }] };
}

/**
 * One session's subscriptions. `notify` is called with a subscribed URI when what it shows
 * changed in a way worth a read: an execution finished, an approval got a vote or a decision.
 */
export class Subscriptions {
  private readonly uris = new Set<string>();
  private readonly offApprovals: () => void;

  constructor(
    private readonly ctx: ServerContext,
    private readonly notify: (uri: string) => void,
  ) {
    this.offApprovals = ctx.approvals.onChange((approval) => {
      const uri = `${SCHEME}://approvals/${encodeURIComponent(approval.id)}`;
      if (this.uris.has(uri)) this.notify(uri);
    });
  }

  /** Subscribe to `uri` (checked to name something that exists: an unknown id is NotFound). */
  add(uri: string): void {
    const target = targetOf(uri);
    if (target.kind === 'approval') {
      this.ctx.approvals.get(target.id);
      this.uris.add(uri);
      return;
    }
    const record = this.ctx.history.get(target.id);
    if (!record) throw ExecutionError.notFound(target.id);
    const fresh = !this.uris.has(uri);
    this.uris.add(uri);
    if (!fresh) return;
    if (TERMINAL_STATUSES.has(record.status)) {
      // Already over: said at once, so a client that subscribed a moment too late still hears it.
      setImmediate(() => this.notify(uri));
      return;
    }
    // The engine's own promise of its end: no event parsing, no polling. Not tracked by this
    // engine (a run an earlier server left): it never ends here, so nothing is sent.
    const end = record.kind === 'plan' ? this.ctx.engine.waitPlan(target.id) : this.ctx.engine.wait(target.id);
    end.then(
      () => {
        if (this.uris.has(uri)) this.notify(uri);
      },
      () => undefined,
    );
  }

  remove(uri: string): void {
    this.uris.delete(uri);
  }

  close(): void {
    this.uris.clear();
    this.offApprovals();
  }
}
