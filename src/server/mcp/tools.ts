/**
 * The tools an assistant gets over MCP: look, dry-run, propose, follow, stop its own work.
 * Each is a thin adapter over what the HTTP routes do (submission, views, ownership, the
 * approval queue), with the role rules of access.ts. None approves, rejects or edits an
 * approval, and no argument names an approver: what needs people waits for them.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { dryRunVerdict } from '../../engine/dry-run.js';
import { ExecutionError, ValidationError } from '../../errors.js';
import type { ExecutionRecord } from '../../history/store.js';
import { didYouMean } from '../../nearest-name.js';
import type { QueuedApproval } from '../../policy/approval.js';
import { DRY_RUN_WARNING_CODES } from '../../policy/blast-radius.js';
import { redactData } from '../../policy/redact-data.js';
import { readLogWindow } from '../../sinks/log-window.js';
import { TERMINAL_STATUSES } from '../../vocabulary.js';
import { parsePlan, parseRequest, parseWith } from '../../wire/parse.js';
import type { ExecutionPlan, ExecutionRequest, ExecutionResult } from '../../wire/types.js';
import { type Access, allows, forbiddenAccess, type RequestPrincipal, rolesWith } from '../access.js';
import type { ServerContext } from '../context.js';
import { historyFilterOf } from '../history-filter.js';
import { checkHttpInput } from '../input-guard.js';
import { assertMayStop } from '../ownership.js';
import { isPlan, submit } from '../submit.js';
import { detailOf, executionView } from '../views.js';
import {
  AssessInput,
  CancelInput,
  GetApprovalInput,
  GetExecutionInput,
  ReadLogInput,
  SearchHistoryInput,
  SubmitInput,
} from './tool-inputs.js';

/** Who calls, from where, and where the dashboard is (for links a person can open). */
export interface ToolCaller {
  principal: RequestPrincipal;
  /** The client's address, for the audit trail. */
  source: string;
  /** `http://host:port` as the client reached the server. */
  baseUrl: string;
  /** Aborted when the client cancels the call or the session ends. */
  signal: AbortSignal;
}

export interface ToolSpec {
  name: string;
  title: string;
  /** Written for a model: what it does, when to use it, what comes back. */
  description: string;
  access: Access;
  /** Published as the tool's JSON Schema. */
  input: z.ZodObject;
  /** MCP tool annotations (hints for clients). */
  readOnly: boolean;
  destructive: boolean;
  run(ctx: ServerContext, args: unknown, caller: ToolCaller): Promise<unknown>;
}

/** Output kept per stream in a result summary; the log has everything (read_log). */
const OUTPUT_TAIL_CHARS = 2_000;

/**
 * The tool's top-level arguments, strictly (a misspelt one is named with the nearest known),
 * with `plan` / `request` left for `workOf`: their errors then name the same fields the HTTP
 * API names (`commands[0].timeout_ms`), not `plan.commands[0]...`.
 */
function argsOf<S extends z.ZodObject>(schema: S, args: unknown): z.output<S> {
  const shape: Record<string, z.ZodType> = { ...schema.shape };
  for (const key of ['plan', 'request']) if (key in shape) shape[key] = z.unknown().optional();
  return parseWith(z.strictObject(shape), args ?? {}) as z.output<S>;
}

/** The plan or request of the arguments, validated as the HTTP API validates a submission. */
function workOf(ctx: ServerContext, args: { plan?: unknown; request?: unknown }): ExecutionPlan | ExecutionRequest {
  const given = ['plan', 'request'].filter((key) => (args as Record<string, unknown>)[key] !== undefined);
  if (given.length !== 1) {
    throw ValidationError.of(
      'MissingField',
      given.length === 0 ? 'plan' : 'request',
      given.length === 0
        ? 'give `plan` (several commands) or `request` (one command)'
        : 'give `plan` or `request`, not both',
    );
  }
  const config = ctx.engine.config;
  return args.plan !== undefined
    ? checkHttpInput(parsePlan(args.plan, config), ctx.input)
    : checkHttpInput(parseRequest(args.request, config), ctx.input);
}

/** A request is assessed as the engine assesses it: a plan of one under its own id. */
function assessed(work: ExecutionPlan | ExecutionRequest): ExecutionPlan {
  return isPlan(work) ? work : parsePlan({ id: work.id, commands: [work] });
}

function requireAccess(principal: RequestPrincipal, access: Access, tool: string): void {
  if (!allows(principal.role, access)) throw forbiddenAccess(principal, access, `MCP tool ${tool}`);
}

const dashboardLink = (caller: ToolCaller, path: string) => `${caller.baseUrl}/#/${path}`;

const tail = (text: string) => (text.length > OUTPUT_TAIL_CHARS ? text.slice(-OUTPUT_TAIL_CHARS) : text);

function resultSummary(result: ExecutionResult) {
  return {
    status: result.status,
    exit_code: result.exit_code,
    duration_ms: result.duration_ms,
    error: result.error,
    error_code: result.error_code,
    attempts: result.attempts,
    stdout_tail: tail(result.stdout),
    stderr_tail: tail(result.stderr),
    output_cut: result.stdout.length > OUTPUT_TAIL_CHARS || result.stderr.length > OUTPUT_TAIL_CHARS,
  };
}

/** Who approved so far, what is still needed, and how it ended: what an assistant tells the person. */
export function approvalSummary(ctx: ServerContext, approval: QueuedApproval, caller: ToolCaller) {
  const view = ctx.approvals.view(approval);
  const decision = approval.decision;
  // The approval holds the plan as submitted: its secrets are hidden here, where its text is quoted.
  const summary = {
    approval_id: approval.id,
    state: approval.state,
    risk_level: approval.request.risk_level,
    verified: approval.request.verified,
    description: approval.request.description,
    submitted_by: approval.submitted_by,
    submitted_at: approval.submitted_at,
    required: approval.required,
    approved_by: ctx.approvals.countedVotes(approval).map((v) => ({ principal: v.principal, at: v.at, note: v.note })),
    still_needed: view.still_needed,
    expires_at: approval.expires_at,
    expired: approval.state === 'expired',
    decision:
      decision === null
        ? null
        : {
            type: decision.decision.type,
            by: decision.approved_by,
            at: decision.approved_at,
            reason: decision.decision.type === 'reject' ? decision.decision.reason : null,
            notes: decision.notes,
          },
    edited_by: approval.edit?.by ?? null,
    execution_id: approval.execution_id,
    approval_url: dashboardLink(caller, `approvals/${encodeURIComponent(approval.id)}`),
  };
  return redactData(summary, ctx.engine.config, [approval.plan, approval.edit?.plan ?? null]);
}

/** The approval with this id, or null (an execution id, or nothing). */
function approvalOrNull(ctx: ServerContext, id: string): QueuedApproval | null {
  try {
    return ctx.approvals.get(id);
  } catch (err) {
    if (err instanceof ExecutionError && err.code === 'NotFound') return null;
    throw err;
  }
}

/** Resolves when `id` (tracked by this engine) finishes, `ms` pass, or `signal` aborts; never rejects. */
async function untilFinished(ctx: ServerContext, record: ExecutionRecord, ms: number, signal: AbortSignal) {
  const timer = new AbortController();
  const stop = () => timer.abort();
  signal.addEventListener('abort', stop, { once: true });
  try {
    const done = (record.kind === 'plan' ? ctx.engine.waitPlan(record.id) : ctx.engine.wait(record.id)).then(
      () => undefined,
      () => undefined, // not tracked by this engine (a run that died with an earlier server): nothing to wait for
    );
    await Promise.race([done, sleep(ms, undefined, { signal: timer.signal }).catch(() => undefined)]);
  } finally {
    signal.removeEventListener('abort', stop);
    timer.abort();
  }
}

/** Resolves when approval `id` is no longer pending, `ms` pass, or `signal` aborts. */
async function untilDecided(ctx: ServerContext, id: string, ms: number, signal: AbortSignal) {
  const timer = new AbortController();
  const stop = () => timer.abort();
  signal.addEventListener('abort', stop, { once: true });
  let off = () => {};
  try {
    const decided = new Promise<void>((resolve) => {
      off = ctx.approvals.onChange((a) => {
        if (a.id === id && a.state !== 'pending') resolve();
      });
    });
    await Promise.race([decided, sleep(ms, undefined, { signal: timer.signal }).catch(() => undefined)]);
  } finally {
    off();
    signal.removeEventListener('abort', stop);
    timer.abort();
  }
}

/** What get_execution answers: the execution, its commands in plan order, a short result. */
async function executionSummary(ctx: ServerContext, id: string, caller: ToolCaller) {
  const detail = await detailOf(ctx.engine, ctx.history, ctx.audit, id);
  const base = {
    execution: detail.execution,
    finished: TERMINAL_STATUSES.has(detail.execution.status),
    cancelled_by: detail.cancelled_by,
    execution_url: dashboardLink(caller, `executions/${encodeURIComponent(id)}`),
  };
  if ('commands' in detail) {
    return {
      ...base,
      commands: detail.commands.map((c, index) => ({
        index,
        id: c.id,
        command: c.command,
        status: c.status,
        risk_level: c.risk_level,
        exit_code: c.exit_code,
        error_code: c.error_code,
        duration_ms: c.duration_ms,
      })),
      result:
        detail.result === null
          ? null
          : {
              status: detail.result.status,
              stats: detail.result.stats,
              total_duration_ms: detail.result.total_duration_ms,
              error: detail.result.error,
              error_code: detail.result.error_code,
            },
      approval: detail.approval,
      log: 'read_log with this id gives the schedule log and every command log',
    };
  }
  return {
    ...base,
    result: detail.result === null ? null : resultSummary(detail.result),
    log: 'read_log with this id gives the whole output, line by line',
  };
}

export const TOOLS: readonly ToolSpec[] = [
  {
    name: 'assess_plan',
    title: 'Assess a plan (no side effects)',
    description:
      'Validate a plan (or a single request) and say what running it would mean, without running anything: its risk per command and overall (read_only, modify, destructive) with the reasons, whether the server would need people to approve it and how many, and the dry-run results (AWS EC2 calls are sent with AWS dry-run, so AWS says whether they would succeed; everything else is described). For each command, `changes` lists the AWS resources it would change as read-only look-ups found them (action, resource type and id, whether it exists, a one-line summary with its Name and tags, the details), `warnings` what to point out to the person (code ' +
      DRY_RUN_WARNING_CODES.map((code) => `\`${code}\``).join(', ') +
      '; with a message and the resource), and `resolution` how far the look-up went (`resolved`, `partial`, `unresolved` with `resolution_note` saying why, or `not_applicable`), `changes_resolved_at` when. Use it before submit_plan to check a plan and to tell the person what it will do. Returns `valid: true` and the assessment, or a tool error naming the first bad field (same codes and field names as the HTTP API).',
    access: 'submit',
    input: AssessInput,
    readOnly: true,
    destructive: false,
    async run(ctx, raw) {
      const work = workOf(ctx, argsOf(AssessInput, raw));
      const plan = assessed(work);
      const dry = await ctx.engine.dryRun(plan);
      const level = dry.risk_level;
      const needsApproval = ctx.engine.config.approval !== null && ctx.engine.workflow.requiresApproval(plan);
      return {
        valid: true,
        plan_id: plan.id,
        risk_level: level,
        verified: dry.verified,
        commands: dry.commands.map((c, index) => ({
          index,
          id: c.id,
          command: c.command,
          risk_level: c.risk_level,
          verified: c.verified,
          risk_reasons: c.risk_reasons,
          dry_run: { method: c.method, would_succeed: c.would_succeed, verdict: dryRunVerdict(c) },
          changes: c.changes,
          warnings: c.warnings,
          resolution: c.resolution,
          resolution_note: c.resolution_note,
          changes_resolved_at: c.resolved_at,
        })),
        approval: {
          required: needsApproval,
          approvals_needed: needsApproval ? ctx.approvals.gate.required[level] : 0,
          who_can_approve: needsApproval
            ? `principals with role ${rolesWith('decide').join(' or ')}, other than the one submitting`
            : null,
        },
        would_fail: dry.commands.some((c) => c.would_succeed === false),
        without_verdict: dry.commands.filter((c) => c.method === 'aws_dry_run' && c.would_succeed === null).length,
        nothing_ran: true,
      };
    },
  },
  {
    name: 'submit_plan',
    title: 'Submit a plan to run (or to wait for approval)',
    description:
      "Submit a plan (or a single request) to run on the server, with the conversation it comes from and the person's request in their words. If the server's approval policy lets it through (read-only work, typically), it starts at once: the answer has `status: pending` and the execution `id`; follow it with get_execution and read_log. If it needs people to approve it (modify or destructive work), nothing runs yet: the answer has `status: awaiting_approval`, the `approval_id`, how many approvals it needs and an `approval_url` to give the person, who approves or rejects it in the dashboard; follow it with get_approval or get_execution (with wait_ms). You cannot approve your own work.",
    access: 'submit',
    input: SubmitInput,
    readOnly: false,
    destructive: true,
    async run(ctx, raw, caller) {
      const args = argsOf(SubmitInput, raw);
      const work = workOf(ctx, args);
      // On the plan (or the single request): a plan's commands take its conversation and prompt in
      // the history, where they are hidden with the secrets of the whole plan.
      const subject = {
        ...work,
        metadata: { ...work.metadata, conversation_id: args.conversation_id, user_prompt: args.user_prompt },
      };
      const { accepted, audit } = await submit(ctx, subject, caller.principal.name);
      ctx.audit.recordDone({
        principal: caller.principal.name,
        action: 'submit',
        object: accepted.id,
        source: caller.source,
        detail: { ...audit, via: 'mcp', conversation_id: args.conversation_id },
      });
      if (accepted.approval_id === null) {
        return {
          status: accepted.status,
          id: accepted.id,
          kind: isPlan(subject) ? 'plan' : 'command',
          execution_url: dashboardLink(caller, `executions/${encodeURIComponent(accepted.id)}`),
          next: 'It runs now. Call get_execution with this id (wait_ms up to 60000 to wait for the end), and read_log for its output.',
        };
      }
      const approval = approvalSummary(ctx, ctx.approvals.get(accepted.approval_id), caller);
      return {
        status: accepted.status,
        ...approval,
        next: `Nothing has run. It needs ${approval.still_needed} approval${approval.still_needed === 1 ? '' : 's'} from people other than you: give the person the approval_url. Then call get_approval, or get_execution with wait_ms, to learn the decision; once approved it runs under the id ${approval.approval_id}.`,
      };
    },
  },
  {
    name: 'get_execution',
    title: 'Status and result of an execution',
    description:
      'The status, result and per-command summary of an execution (a command or a plan) by id; also accepts an approval id from submit_plan (while it waits, the approval is returned instead; once approved, the execution it started). With wait_ms (at most 60000) it waits for the execution to finish, or for the approval to be decided, and answers as soon as that happens: call it again if `finished` is still false. Output is summarised (the last 2,000 characters per stream); read_log gives the full log.',
    access: 'read',
    input: GetExecutionInput,
    readOnly: true,
    destructive: false,
    async run(ctx, raw, caller) {
      const args = argsOf(GetExecutionInput, raw);
      let id = args.id;
      if (!ctx.history.get(id)) {
        const approval = approvalOrNull(ctx, id);
        if (approval === null) throw ExecutionError.notFound(id);
        if (approval.state === 'pending' && args.wait_ms > 0) await untilDecided(ctx, id, args.wait_ms, caller.signal);
        const now = ctx.approvals.get(id);
        if (now.execution_id === null)
          return { finished: now.state !== 'pending', approval: approvalSummary(ctx, now, caller) };
        id = now.execution_id;
      }
      const record = ctx.history.get(id);
      if (record && !TERMINAL_STATUSES.has(record.status) && args.wait_ms > 0)
        await untilFinished(ctx, record, args.wait_ms, caller.signal);
      return executionSummary(ctx, id, caller);
    },
  },
  {
    name: 'read_log',
    title: "Read an execution's log",
    description:
      "Lines of an execution's log: every output line with its timestamp and stream (a plan: its schedule log, then each command's). By default the last 100 lines; `tail_lines` for another count, or `from_line`/`to_line` for a range. Never more than `max_bytes` (default 16 KiB, at most 64 KiB) of text: `truncated` says when that cut what was asked, `more_before`/`more_after` whether the log has more. Secrets are shown as ***.",
    access: 'read',
    input: ReadLogInput,
    readOnly: true,
    destructive: false,
    async run(ctx, raw) {
      const args = argsOf(ReadLogInput, raw);
      const record = ctx.history.get(args.id);
      if (!record) throw ExecutionError.notFound(args.id);
      if (args.to_line !== undefined && args.from_line === undefined)
        throw ValidationError.of('MissingField', 'from_line', 'to_line needs from_line');
      if (args.from_line !== undefined && args.to_line !== undefined && args.to_line < args.from_line)
        throw ValidationError.of('InvalidField', 'to_line', 'must not be before from_line');
      const paths = [ctx.engine.getLogPath(record.id)];
      if (record.kind === 'plan') {
        const order = new Map(record.plan?.commands.map((c, i) => [c.id, i]));
        const steps = ctx.history.list({ plan_id: record.id, limit: 10_000 });
        steps.sort((a, b) => (order.get(a.id) ?? Infinity) - (order.get(b.id) ?? Infinity));
        paths.push(...steps.map((s) => ctx.engine.getLogPath(s.id)));
      }
      const window = await readLogWindow(paths, {
        tail_lines: args.from_line === undefined ? (args.tail_lines ?? 100) : undefined,
        from_line: args.from_line,
        to_line: args.to_line,
        max_bytes: args.max_bytes,
      });
      return { id: record.id, status: record.status, ...window };
    },
  },
  {
    name: 'search_history',
    title: 'Search the execution history',
    description:
      'Find past and running executions: full-text search (`q`: words in commands, descriptions, user prompts and output, best match first) and/or filters (status, risk_level, error_code, conversation_id, kind, top_level, from/to dates), newest first without `q`. Use conversation_id to list everything done for one conversation. Returns one row per execution (id, status, command, risk, exit code, times) and `total` (all matches of the filters, without `q`).',
    access: 'read',
    input: SearchHistoryInput,
    readOnly: true,
    destructive: false,
    async run(ctx, raw) {
      const args = argsOf(SearchHistoryInput, raw);
      const filter = historyFilterOf(args);
      const config = ctx.engine.config;
      if (args.q !== undefined) {
        const found = ctx.history.search(args.q, { ...filter, limit: args.limit, offset: args.offset });
        // Ranked matches are not counted (the ranking stops early); `returned` says how many came.
        return { executions: found.map((r) => executionView(r, config)), total: null, returned: found.length };
      }
      const rows = ctx.history.list({ ...filter, limit: args.limit, offset: args.offset });
      return {
        executions: rows.map((r) => executionView(r, config)),
        total: ctx.history.count(filter),
        returned: rows.length,
      };
    },
  },
  {
    name: 'cancel_execution',
    title: 'Cancel an execution',
    description:
      'Stop a pending or running execution (a command or a plan): every process it started is ended, its whole process tree. You may stop only work you submitted (approvers and admins may stop any). Answers `status: cancelling`; get_execution tells when it has ended. It does not withdraw an approval that is still waiting: people decide those.',
    access: 'cancel',
    input: CancelInput,
    readOnly: false,
    destructive: true,
    async run(ctx, raw, caller) {
      const args = argsOf(CancelInput, raw);
      if (!ctx.history.get(args.id) && approvalOrNull(ctx, args.id)?.state === 'pending') {
        throw ExecutionError.create('Forbidden', {
          who: `${caller.principal.name} (role ${caller.principal.role})`,
          what: `cancel ${args.id}`,
          needs:
            'it is an approval waiting for people, not an execution: nothing of it runs unless they approve it, and only they may reject it',
        });
      }
      await assertMayStop(ctx, caller.principal, args.id);
      await ctx.engine.cancel(args.id);
      ctx.audit.recordDone({
        principal: caller.principal.name,
        action: 'cancel',
        object: args.id,
        source: caller.source,
        detail: { via: 'mcp' },
      });
      return { id: args.id, status: 'cancelling' as const };
    },
  },
  {
    name: 'get_approval',
    title: 'State of an approval',
    description:
      'The state of an approval submit_plan asked for: pending (who approved so far, how many approvals are still needed, when it expires), approved (and the execution it started), rejected (by whom, and the reason), or expired. Read-only: approving and rejecting are for people, in the dashboard.',
    access: 'read',
    input: GetApprovalInput,
    readOnly: true,
    destructive: false,
    async run(ctx, raw, caller) {
      const args = argsOf(GetApprovalInput, raw);
      return approvalSummary(ctx, ctx.approvals.get(args.id), caller);
    },
  },
];

const TOOL_NAMES = TOOLS.map((t) => t.name);

/** Run tool `name` for `caller`: its role is checked first, then its arguments. */
export async function callTool(ctx: ServerContext, name: string, args: unknown, caller: ToolCaller): Promise<unknown> {
  const tool = TOOLS.find((t) => t.name === name);
  if (!tool) {
    throw ValidationError.of(
      'InvalidField',
      'name',
      `no tool "${name}"${didYouMean(name, TOOL_NAMES)}; the tools are ${TOOL_NAMES.join(', ')}`,
    );
  }
  requireAccess(caller.principal, tool.access, tool.name);
  return tool.run(ctx, args, caller);
}
