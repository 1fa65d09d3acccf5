/**
 * Approvals from a terminal: `approvals`, `approval show`, `approve`, `reject`, talking to a
 * running server over HTTP as the principal whose token is in CLOUDOPS_EXEC_TOKEN. The server
 * decides everything (who may approve, how many must, whether it expired); this is its client.
 *
 * Exit codes: 0 done; 1 the server refused (its code and message are printed); 2 bad input
 * (an option, an unknown approval) or no server to talk to.
 */
import { createInterface } from 'node:readline';
import { didYouMean } from '../../nearest-name.js';
import { blastRadiusOf } from '../../policy/approval.js';
import { DEFAULT_PORT } from '../../server/default-port.js';
import type { ApprovalView } from '../../services/approval-queue.js';
import { printable } from '../../sinks/control-chars.js';
import { APPROVAL_STATES, type ApprovalState } from '../../vocabulary.js';
import { resolveApprovalId } from '../approval-ids.js';
import { CliExit, EXIT } from '../exit.js';
import { SERVER_ENV } from '../server-env.js';
import { colorEnabled, makeStyle, type Style } from '../style.js';
import { blastRadiusText } from '../views/risk-summary.js';

export { SERVER_ENV };

const TOKEN_ENV = 'CLOUDOPS_EXEC_TOKEN';
const DEFAULT_SERVER = `http://127.0.0.1:${DEFAULT_PORT}`;

export interface ClientOptions {
  server?: string;
  json?: boolean;
  color?: boolean;
}

export interface ListOptions extends ClientOptions {
  state?: string;
}

export interface DecideOptions extends ClientOptions {
  note?: string;
  reason?: string;
  /** `approve`: the plan digest (or its first 16+ hex digits) the approver read in `approval show`. */
  sha256?: string;
}

/** A shorter digest prefix is not taken: an editor could search for an edit sharing it (16 hex digits: 2^64 tries). */
const MIN_DIGEST_PREFIX = 16;

/** Where the server is and the token to show it. */
export interface Client {
  base: URL;
  token: string;
}

export function clientOf(options: ClientOptions, env: NodeJS.ProcessEnv = process.env): Client {
  const given = options.server ?? env[SERVER_ENV] ?? DEFAULT_SERVER;
  let base: URL;
  try {
    base = new URL(given);
  } catch {
    throw new CliExit(EXIT.BAD_INPUT, `--server must be a URL such as ${DEFAULT_SERVER} (got "${given}")`);
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:')
    throw new CliExit(EXIT.BAD_INPUT, `--server must be an http:// or https:// URL (got "${given}")`);
  const token = env[TOKEN_ENV];
  if (!token)
    throw new CliExit(
      EXIT.BAD_INPUT,
      `set ${TOKEN_ENV} to your API token (\`cloudops-exec auth add NAME --role ROLE\` on the server's machine prints one)`,
    );
  return { base, token };
}

/** The server's error body: `{ error: { code, message } }`. */
interface ServerError {
  error?: { code?: unknown; message?: unknown };
}

/** Statuses that say the input was wrong (a bad field, an unknown approval) rather than that the server said no. */
const BAD_INPUT_STATUSES = new Set([400, 404]);

export async function call<T>(client: Client, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const url = new URL(path, client.base);
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${client.token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new CliExit(
      EXIT.BAD_INPUT,
      `cannot reach the server at ${client.base.origin} (${cause?.code ?? cause?.message ?? (err as Error).message}): is \`cloudops-exec serve\` running there? (--server or ${SERVER_ENV})`,
    );
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = null;
  }
  if (response.ok) return parsed as T;
  const error = (parsed as ServerError | null)?.error;
  const code = typeof error?.code === 'string' ? error.code : `HTTP ${response.status}`;
  const message = typeof error?.message === 'string' ? error.message : response.statusText;
  // Nothing ran either when a run cannot be resumed as asked: as locally, bad input.
  const exit = BAD_INPUT_STATUSES.has(response.status) || code === 'NotResumable' ? EXIT.BAD_INPUT : EXIT.FAILED;
  throw new CliExit(exit, `${exit === EXIT.FAILED ? 'refused: ' : ''}${message} [${code}]`);
}

const approvalPath = (id: string) => `/api/approvals/${encodeURIComponent(id)}`;
/** A unique prefix of an approval id, completed from the server's list (approval-ids.ts). */
const fullIdOf = (client: Client, id: string) =>
  resolveApprovalId(
    id,
    async () => (await call<{ approvals: Array<{ id: string }> }>(client, 'GET', '/api/approvals')).approvals,
  );

function approvalState(value: string | undefined): ApprovalState | undefined {
  if (value === undefined) return undefined;
  if (!(APPROVAL_STATES as readonly string[]).includes(value))
    throw new CliExit(
      EXIT.BAD_INPUT,
      `--state must be one of ${APPROVAL_STATES.join(', ')} (got "${value}")${didYouMean(value, APPROVAL_STATES)}`,
    );
  return value as ApprovalState;
}

/** `approvals [--state S]`: what waits (or was decided), newest first. */
export async function approvalsCommand(options: ListOptions): Promise<number> {
  const state = approvalState(options.state);
  const client = clientOf(options);
  const { approvals } = await call<{ approvals: ApprovalView[] }>(
    client,
    'GET',
    `/api/approvals${state ? `?state=${state}` : ''}`,
  );
  if (options.json) {
    process.stdout.write(`${JSON.stringify(approvals)}\n`);
    return EXIT.OK;
  }
  if (approvals.length === 0) {
    process.stdout.write(state ? `no ${state} approvals\n` : 'no approvals\n');
    return EXIT.OK;
  }
  const style = styleOf(options);
  const now = Date.now();
  for (const a of approvals) {
    const columns = [
      printable(a.id),
      style.paint(stateColor(a.state), printable(a.state).padEnd(8)),
      printable(a.request.risk_level).padEnd(11),
      `${a.votes.length}/${a.required}`.padEnd(5),
      `by ${printable(a.submitted_by ?? '-')}`.padEnd(18),
      (a.state === 'pending' ? timeLeft(a.expires_at, now) : '').padEnd(14),
      printable(a.request.description),
    ];
    process.stdout.write(`${columns.join(' ').trimEnd()}\n`);
  }
  return EXIT.OK;
}

/** `approval show ID`: everything an approver decides on. */
export async function approvalShowCommand(id: string, options: ClientOptions): Promise<number> {
  const client = clientOf(options);
  const approval = await call<ApprovalView>(client, 'GET', approvalPath(await fullIdOf(client, id)));
  if (options.json) {
    process.stdout.write(`${JSON.stringify(approval)}\n`);
    return EXIT.OK;
  }
  process.stdout.write(describe(approval, styleOf(options), Date.now()));
  return EXIT.OK;
}

/**
 * `approve ID --sha256 DIGEST`: approve the plan the approver read, not whatever it is now. The
 * digest (or a prefix) comes from `approval show`; a plan edited since no longer matches and is
 * not approved. Without it, on a terminal, the plan is shown and the approver confirms what
 * they see; a script (stdin not a terminal) must name the digest.
 */
export async function approveCommand(
  id: string,
  options: DecideOptions,
  stdin: NodeJS.ReadStream = process.stdin,
): Promise<number> {
  const expected = options.sha256 === undefined ? undefined : digestPrefix(options.sha256);
  if (expected === undefined && !stdin.isTTY)
    throw new CliExit(
      EXIT.BAD_INPUT,
      `--sha256 is required when stdin is not a terminal: pass the plan_sha256 \`cloudops-exec approval show ${id}\` printed (at least ${MIN_DIGEST_PREFIX} hex digits)`,
    );
  return decide(id, { type: 'approve' }, options, async (shown) => {
    if (expected !== undefined) {
      if (!shown.plan_sha256.startsWith(expected))
        throw new CliExit(
          EXIT.FAILED,
          `the plan changed since you looked: run approval show again (its plan_sha256 is now ${printable(shown.plan_sha256)})`,
        );
      return;
    }
    const answer = await askLine(stdin, `Approve this plan (plan_sha256 ${shown.plan_sha256.slice(0, 16)}…)? [y/N] `);
    if (!/^y(es)?$/i.test(answer.trim())) throw new CliExit(EXIT.FAILED, 'not approved (you did not confirm)');
  });
}

function digestPrefix(raw: string): string {
  const value = raw.trim().toLowerCase();
  if (!/^[0-9a-f]+$/.test(value) || value.length < MIN_DIGEST_PREFIX || value.length > 64)
    throw new CliExit(
      EXIT.BAD_INPUT,
      `--sha256 must be the plan_sha256 \`approval show\` printed, or its first ${MIN_DIGEST_PREFIX} hex digits or more (got "${printable(raw)}")`,
    );
  return value;
}

/** One line typed on the terminal (the prompt on stderr, so stdout stays the command's output). */
export function askLine(stdin: NodeJS.ReadStream, prompt: string): Promise<string> {
  const rl = createInterface({ input: stdin, output: process.stderr, terminal: false });
  process.stderr.write(prompt);
  return new Promise((resolve) => {
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(line);
    });
    rl.once('close', () => {
      if (!answered) resolve('');
    });
  });
}

/** `reject ID --reason`: one rejection rejects. */
export async function rejectCommand(id: string, options: DecideOptions): Promise<number> {
  const reason = options.reason?.trim();
  if (!reason) throw new CliExit(EXIT.BAD_INPUT, '--reason must say why (it is shown to the submitter)');
  return decide(id, { type: 'reject', reason }, options);
}

async function decide(
  id: string,
  decision: { type: 'approve' } | { type: 'reject'; reason: string },
  options: DecideOptions,
  confirm: (shown: ApprovalView) => Promise<void> = async () => {},
): Promise<number> {
  if (options.note !== undefined && options.note.trim() === '')
    throw new CliExit(EXIT.BAD_INPUT, '--note must not be empty');
  const client = clientOf(options);
  const shown = await call<ApprovalView>(client, 'GET', approvalPath(await fullIdOf(client, id)));
  const style = styleOf(options);
  // What is decided on is shown first (on stderr with --json, so stdout stays one JSON document).
  (options.json ? process.stderr : process.stdout).write(describe(shown, style, Date.now()));
  await confirm(shown);
  const decided = await call<ApprovalView>(client, 'POST', `${approvalPath(shown.id)}/decision`, {
    decision,
    plan_sha256: shown.plan_sha256,
    ...(options.note !== undefined ? { notes: options.note } : {}),
  });
  if (options.json) {
    process.stdout.write(`${JSON.stringify(decided)}\n`);
    return EXIT.OK;
  }
  process.stdout.write(`\n${outcome(decided)}\n`);
  return EXIT.OK;
}

/** One line on what the decision did. */
function outcome(a: ApprovalView): string {
  const id = printable(a.id);
  switch (a.state) {
    case 'approved':
      return `Approved ${id}: the plan started${a.execution_id ? ` as ${printable(a.execution_id)}` : ''}`;
    case 'rejected':
      return `Rejected ${id}`;
    case 'expired':
      return `Approval ${id} has expired`;
    case 'pending':
      return `Your approval of ${id} is recorded (${a.votes.length} of ${a.required}); it still needs ${a.still_needed} more approver${a.still_needed === 1 ? '' : 's'}`;
  }
}

/** The approval as an approver reads it: risk, digest, votes, time left, then each command with its dry run. */
function describe(a: ApprovalView, style: Style, now: number): string {
  const request = a.request;
  const field = (name: string, value: string) => `  ${style.paint('dim', name.padEnd(11))} ${value}\n`;
  let out = `${style.paint('bold', `Approval ${printable(a.id)}`)}  ${style.paint(stateColor(a.state), a.state)}\n`;
  out += field('plan', printable(request.description));
  out += field(
    'risk',
    `${printable(request.risk_level)}${request.verified ? '' : ' (not verified: see the reasons below)'}`,
  );
  out += field(
    'submitted',
    `${printable(a.submitted_at)} by ${printable(a.submitted_by ?? 'an unrecorded submitter')}`,
  );
  if (a.edit)
    out += field('edited', `by ${printable(a.edit.by)} at ${printable(a.edit.at)} (the plan below is the edit)`);
  out += field('digest', `plan_sha256 ${printable(a.plan_sha256)}`);
  const votes = a.votes;
  const voters = votes.map((v) => `${printable(v.principal)} at ${printable(v.at)}`).join(', ');
  out += field('approvals', `${votes.length} of ${a.required}${voters ? `: ${voters}` : ''}`);
  if (a.state === 'pending') {
    out += field('needs', `${a.still_needed} more approver${a.still_needed === 1 ? '' : 's'}`);
    out += field('expires', a.expires_at ? `${printable(a.expires_at)} (${timeLeft(a.expires_at, now)})` : 'never');
  }
  out += field('dry run', a.dry_run_at ? `ran at ${printable(a.dry_run_at)}` : 'none ran');
  if (a.decision) {
    const d = a.decision;
    const why = d.decision.type === 'reject' ? `: ${printable(d.decision.reason)}` : '';
    out += field(
      'decision',
      `${printable(d.decision.type)} by ${printable(d.approved_by)} at ${printable(d.approved_at)}${why}`,
    );
    if (d.notes) out += field('notes', printable(d.notes));
  }
  out += `\n  ${style.paint('bold', `Commands (${request.commands.length})`)}\n`;
  request.commands.forEach((c, i) => {
    out += `  ${String(i + 1).padStart(3)}. ${printable(c.command)}\n`;
    out += `       ${style.paint('dim', 'id')} ${printable(c.id)}  ${style.paint('dim', 'risk')} ${printable(c.risk_level)}${c.verified ? '' : ' (not verified)'}\n`;
    if (c.description !== c.command) out += `       ${printable(c.description)}\n`;
    for (const reason of c.risk_reasons) out += `       ${style.paint('dim', '·')} ${printable(reason)}\n`;
    out += `       ${style.paint('dim', 'dry run')} ${c.dry_run_result ? printable(c.dry_run_result) : 'not run'}\n`;
    out += blastRadiusText(blastRadiusOf(c), style, '       ', now);
  });
  return out;
}

/** `in 23h 5m`, `in 4m`, or `expired`. */
function timeLeft(expiresAt: string | null, now: number): string {
  if (expiresAt === null) return 'no expiry';
  const ms = Date.parse(expiresAt) - now;
  if (Number.isNaN(ms)) return '';
  if (ms <= 0) return 'expired';
  const minutes = Math.ceil(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  if (days > 0) return `in ${days}d ${hours}h`;
  return hours > 0 ? `in ${hours}h ${rest}m` : `in ${rest}m`;
}

function stateColor(state: ApprovalState): 'yellow' | 'green' | 'red' | 'gray' {
  switch (state) {
    case 'pending':
      return 'yellow';
    case 'approved':
      return 'green';
    case 'rejected':
      return 'red';
    case 'expired':
      return 'gray';
  }
}

function styleOf(options: ClientOptions): Style {
  return makeStyle(colorEnabled(process.stdout, options.color));
}
