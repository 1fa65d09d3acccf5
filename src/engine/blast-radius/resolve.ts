/**
 * Runs the look-ups of a plan's blast radius: for each command an operation table covers, the
 * read-only calls its entry names, through the same AWS CLI, endpoint, profile, region and
 * clean environment as the dry run. Every call's argv is put to the risk classifier first and
 * refused unless it is read-only; each has a timeout, and a command has a cap on its calls.
 * What cannot be looked up says why (`unresolved` warnings, `resolution_note`).
 */
import { awsEndpointFor, isEndpointVariable, valueReadFrom } from '../../command/aws.js';
import { type Invocation, resolveInvocation } from '../../command/invocation.js';
import type { ExecutionConfig } from '../../config.js';
import { assessAwsArgv } from '../../policy/aws-risk.js';
import type { BlastRadius, DryRunWarning, ResolutionState, ResourceChange } from '../../policy/blast-radius.js';
import type { Command, ExecutionRequest } from '../../wire/types.js';
import { dryRunEnvironment, runDryRunInvocation } from '../dry-run-env.js';
import { type AwsCall, awsCallOf } from './args.js';
import type { Doc, Found, LookupArgv, OperationEntry } from './table.js';
import { OPERATION_TABLES } from './tables.js';
import { type CallPlace, changeWarnings, planWarnings } from './warnings.js';

export interface BlastRadiusStep {
  /** The request with parameters substituted; step outputs still as references. */
  request: ExecutionRequest;
  /** Labels of the steps whose outputs it uses. */
  needs: readonly string[];
  /** Carried over from an earlier plan run: not run again, nothing to look up. */
  carried: boolean;
}

/** Commands whose look-ups run at once (each command's own calls run one after another). */
const CONCURRENT_COMMANDS = 4;
/** Largest answer read from one call. */
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;
const REFERENCE = /\$\{\{\s*steps\.([^.\s}]+)\./;

/**
 * Why an id cannot be put in a look-up's argv as it is: the CLI would take it for an option
 * (`--endpoint-url=...` would send the call elsewhere) or read a local file or URL in its place.
 */
function unsafeId(id: string): string | null {
  const bucket = id.startsWith('s3://') ? id.slice(5).split('/')[0]! : '';
  const key = id.startsWith('s3://') ? id.replace(/^s3:\/\/[^/]*\/?/, '') : id;
  if (id.startsWith('-') || bucket.startsWith('-') || key.startsWith('-'))
    return `${id} reads as an option, so it is not looked up`;
  if (valueReadFrom(id) !== null || valueReadFrom(key) !== null)
    return `${id} would be read from a file or URL by the AWS CLI, so it is not looked up`;
  return null;
}

/** The blast radius of every command of a plan (never rejects: a failure is an `unresolved` result). */
export async function resolvePlanBlastRadius(
  steps: readonly BlastRadiusStep[],
  config: ExecutionConfig,
  tables: readonly OperationEntry[] = OPERATION_TABLES,
): Promise<BlastRadius[]> {
  const calls = steps.map((s) => awsCallOf(s.request.command, config.aws_cli_path, s.request.working_dir));
  const planDeadline = Date.now() + config.blast_radius.plan_deadline_ms;
  const shared = new Map<string, Promise<Answer>>();
  const results = await mapLimit(steps, CONCURRENT_COMMANDS, async (step, i) => {
    try {
      return await resolveStep(step, calls[i]!, config, tables, planDeadline, shared);
    } catch (err) {
      const why = `the look-up failed: ${err instanceof Error ? err.message : String(err)}`;
      return unresolved(why, new Date().toISOString());
    }
  });
  const places = planWarnings(steps.map((s, i) => placeOf(s.request, calls[i]!, config)));
  return results.map((r, i) => ({ ...r, warnings: [...r.warnings, ...places[i]!] }));
}

/** One command's blast radius (see the module comment). */
export async function resolveStep(
  step: BlastRadiusStep,
  call: AwsCall | null,
  config: ExecutionConfig,
  tables: readonly OperationEntry[] = OPERATION_TABLES,
  planDeadline: number = Number.POSITIVE_INFINITY,
  shared: Map<string, Promise<Answer>> = new Map(),
): Promise<BlastRadius> {
  if (step.carried) return notApplicable('carried over from an earlier run of the plan: not run again');
  if (call === null) return notApplicable(null);
  let entry: OperationEntry | undefined;
  let ids: string[] | null = null;
  for (const e of tables) {
    if (e.service !== call.service || !e.operations.includes(call.operation)) continue;
    ids = e.targets(call.args);
    if (ids !== null) {
      entry = e;
      break;
    }
  }
  if (!entry || ids === null) {
    const readOnly = assessAwsArgv([call.service, call.operation]).risk_level === 'read_only';
    return notApplicable(readOnly ? null : `no look-up for aws ${call.service} ${call.operation} yet`);
  }
  if (call.unreadable !== null) return unresolved(`what it changes cannot be read ahead: ${call.unreadable}`, null);
  if (ids.length === 0) return unresolved(`the command names no ${entry.resource_type} this look-up can read`, null);
  const endpoint = lookupEndpoint(step.request, call, config);
  if ('elsewhere' in endpoint)
    return unresolved(`it names its own endpoint (${endpoint.elsewhere}): not looked up before approval`, null);

  const startedAt = new Date().toISOString();
  const { command_deadline_ms, plan_deadline_ms } = config.blast_radius;
  const commandDeadline = Date.now() + command_deadline_ms;
  const ctx: CallContext = {
    call,
    step,
    config,
    endpoint: endpoint.url,
    left: config.blast_radius.max_calls_per_command,
    deadline: Math.min(commandDeadline, planDeadline),
    deadlineWhy:
      commandDeadline <= planDeadline
        ? `the look-ups of this command ran past their ${command_deadline_ms} ms limit`
        : `the look-ups of the plan ran past their ${plan_deadline_ms} ms limit`,
    stopped: null,
    answers: new Map(),
    shared,
  };
  const results = new Map<string, Found | { failed: string }>();
  const known: string[] = [];
  // What else goes in the look-ups' argv (a sync's source) must be as safe as the ids.
  const others = entry.alsoReads?.(call.args) ?? [];
  const otherFrom = others.map((o) => REFERENCE.exec(o)?.[1]).find((x) => x !== undefined);
  const otherUnsafe =
    otherFrom !== undefined
      ? `it reads ${others.join(', ')}, named by an output of step ${otherFrom}, known only once it ran`
      : (others.map(unsafeId).find((u) => u !== null) ?? null);
  for (const id of ids) {
    const from = REFERENCE.exec(id)?.[1];
    const unsafe = unsafeId(id) ?? otherUnsafe;
    if (from !== undefined) results.set(id, { failed: `named by an output of step ${from}, known only once it ran` });
    else if (unsafe !== null) results.set(id, { failed: unsafe });
    else known.push(id);
  }
  if (known.length > 0) await lookUp(entry, known, ctx, results);

  const changes: ResourceChange[] = [];
  const warnings: DryRunWarning[] = [];
  const reasons = new Set<string>();
  const own = entry.fromArgs?.(call.args) ?? {};
  const service = entry.service === 's3api' ? 's3' : entry.service;
  for (const id of ids) {
    const r = results.get(id)!;
    const base = { action: entry.action, service, resource_type: entry.resource_type, resource_id: id };
    if ('failed' in r) {
      reasons.add(r.failed);
      changes.push({ ...base, exists: null, summary: `${id}: not looked up (${r.failed})`, details: { ...own } });
      warnings.push({ code: 'unresolved', message: `${entry.resource_type} ${id}: ${r.failed}`, resource_id: id });
    } else if (!r.exists) {
      changes.push({ ...base, exists: false, summary: `${id} does not exist`, details: { ...own } });
    } else {
      changes.push({ ...base, exists: true, summary: `${id} ${r.summary}`.trim(), details: { ...own, ...r.details } });
    }
  }
  const failed = changes.filter((c) => c.exists === null).length;
  const resolution: ResolutionState = failed === 0 ? 'resolved' : failed === changes.length ? 'unresolved' : 'partial';
  const ran = ctx.left < config.blast_radius.max_calls_per_command;
  return {
    changes,
    warnings: [...changeWarnings(changes, config.blast_radius), ...warnings],
    resolution,
    resolution_note: reasons.size > 0 ? [...reasons].join('; ') : null,
    resolved_at: ran ? startedAt : null,
  };
}

interface CallContext {
  call: AwsCall;
  step: BlastRadiusStep;
  config: ExecutionConfig;
  /** The engine's own endpoint (null: AWS's): the only place look-ups go. */
  endpoint: string | null;
  /** Calls this command may still make. */
  left: number;
  /** When this command's look-ups must be done (epoch ms: its own limit or the plan's), and why. */
  deadline: number;
  deadlineWhy: string;
  /** Set once a call timed out or the deadline passed: no more calls, this is why. */
  stopped: string | null;
  /** Answers by argv: a call several resources share (their bucket's versioning) is made once. */
  answers: Map<string, Promise<Answer>>;
  /** Answers of the whole plan, by invocation and environment: commands share identical calls. */
  shared: Map<string, Promise<Answer>>;
}

/** Endpoint variables are the engine's to set: a request's never steer a look-up. */
const withoutEndpoints = (env: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(env).filter(([name]) => !isEndpointVariable(name)));

const sameUrl = (a: string | null, b: string | null) => (a ?? '').replace(/\/+$/, '') === (b ?? '').replace(/\/+$/, '');

/**
 * Where the look-ups go: the engine's own endpoint (`aws_endpoint_url`, else its environment's
 * `AWS_ENDPOINT_URL`, else AWS). A command that goes elsewhere (its own `--endpoint-url`, or an
 * `AWS_ENDPOINT_URL` in the request's env) is not looked up: the calls would carry the engine's
 * credentials to a place the requester picked, before anyone approved.
 */
export function lookupEndpoint(
  request: ExecutionRequest,
  call: AwsCall,
  config: ExecutionConfig,
): { url: string | null } | { elsewhere: string } {
  const own = awsEndpointFor('', { endpointUrl: config.aws_endpoint_url, requestEnv: {} });
  const goes = call.endpoint ?? awsEndpointFor('', { endpointUrl: config.aws_endpoint_url, requestEnv: request.env });
  return goes === null || sameUrl(goes, own) ? { url: own } : { elsewhere: goes! };
}

export type Answer = { ok: true; answer: Doc } | { ok: false; why: string; text: string };

async function lookUp(
  entry: OperationEntry,
  ids: string[],
  ctx: CallContext,
  results: Map<string, Found | { failed: string }>,
): Promise<void> {
  const { lookup } = entry;
  const args = ctx.call.args;
  if (lookup.kind === 'list') {
    const answer = await runLookup(lookup.argv(ids), ctx);
    if (!answer.ok) {
      for (const id of ids) results.set(id, { failed: answer.why });
      return;
    }
    const items = new Map<string, Doc>(lookup.items(answer.answer).map((item: Doc) => [lookup.id(item), item]));
    for (const id of ids) {
      const item = items.get(id);
      if (item === undefined) {
        results.set(id, { exists: false, details: {}, summary: '' });
        continue;
      }
      const more: Record<string, Doc> = {};
      let failed: string | null = null;
      for (const [name, argv] of Object.entries(lookup.more ?? {})) {
        const a = await runLookup(argv(id), ctx);
        if (a.ok) more[name] = a.answer;
        else failed = a.why;
      }
      results.set(id, failed ? { failed } : { exists: true, ...lookup.found(item, more, args) });
    }
    return;
  }
  for (const id of ids) {
    const answers: Record<string, Doc> = {};
    let outcome: Found | { failed: string } | null = null;
    for (const [i, [name, argv]] of Object.entries(lookup.calls).entries()) {
      const words = argv(id, args);
      if (words.length === 0) {
        answers[name] = null;
        continue;
      }
      const a = await runLookup(words, ctx);
      if (a.ok) {
        answers[name] = a.answer;
      } else if (a.why === NO_CREDENTIALS) {
        // Checked first: an auth error (InvalidClientTokenId) says nothing of the resource.
        outcome = { failed: a.why };
        break;
      } else if (i === 0 && lookup.notFound.test(a.text)) {
        outcome = { exists: false, details: {}, summary: '' };
        break;
      } else if (lookup.absent?.test(a.text)) {
        answers[name] = null;
      } else {
        outcome = { failed: a.why };
        break;
      }
    }
    results.set(id, outcome ?? { exists: true, ...lookup.found(answers, id, args) });
  }
}

/**
 * One read-only call (made once per command; a repeat gets the same answer): the AWS CLI with the command's region, profile and endpoint, in the dry
 * run's clean environment. Refused unless the risk classifier rates its argv read-only.
 */
function runLookup(words: LookupArgv, ctx: CallContext): Promise<Answer> {
  const key = words.join('\0');
  let answer = ctx.answers.get(key);
  if (answer === undefined) {
    answer = runLookupOnce(words, ctx);
    ctx.answers.set(key, answer);
  }
  return answer;
}

async function runLookupOnce(words: LookupArgv, ctx: CallContext): Promise<Answer> {
  const { call, step, config } = ctx;
  const [service, operation, ...rest] = words;
  const command: Command = {
    type: 'aws_cli',
    service: service!,
    operation: operation!,
    args: [...rest, '--output', 'json'],
    profile: call.profile,
    region: call.region,
  };
  const invocation = await resolveInvocation(command, {
    awsCliPath: config.aws_cli_path,
    executor: 'cli',
    awsEndpointUrl: ctx.endpoint,
    awsProfile: config.aws_profile,
    awsRegion: config.aws_region,
    requestEnv: withoutEndpoints(step.request.env),
    workingDir: step.request.working_dir,
  });
  const risk = assessAwsArgv(invocation.args);
  const elsewhere = rest.find((w) => valueReadFrom(w) !== null || /^-.*=/.test(w));
  if (elsewhere !== undefined)
    return {
      ok: false,
      why: `look-up aws ${service} ${operation} refused: ${elsewhere} is not taken as written`,
      text: '',
    };
  if (risk.risk_level !== 'read_only' || !risk.verified) {
    const why = `look-up aws ${service} ${operation} refused: it is not read-only (${risk.reasons.join('; ') || risk.risk_level})`;
    return { ok: false, why, text: '' };
  }
  if (ctx.left <= 0)
    return {
      ok: false,
      why: `the cap of ${config.blast_radius.max_calls_per_command} look-up calls was reached`,
      text: '',
    };
  if (ctx.stopped === null && Date.now() >= ctx.deadline) ctx.stopped = ctx.deadlineWhy;
  if (ctx.stopped !== null) return { ok: false, why: ctx.stopped, text: '' };
  // The same call as another command of the plan made (same argv, same environment): its answer.
  // (The working dir is not part of it: no look-up names a local path.)
  const key = JSON.stringify([invocation.file, invocation.args, dryRunEnvironment(step.request, invocation)]);
  const earlier = ctx.shared.get(key);
  if (earlier !== undefined) return earlier;
  ctx.left--;
  const answer = execute(invocation, ctx, `${service} ${operation}`);
  ctx.shared.set(key, answer);
  return answer;
}

/** Run a look-up's AWS CLI process and read its answer. */
async function execute(invocation: Invocation, ctx: CallContext, name: string): Promise<Answer> {
  const { step, config } = ctx;
  const timeoutMs = Math.max(1, Math.min(config.blast_radius.call_timeout_ms, ctx.deadline - Date.now()));
  const { outcome, stdout, stderr } = await runDryRunInvocation(invocation, step.request, config, {
    timeoutMs,
    maxBytes: MAX_ANSWER_BYTES,
  });
  const [service, operation] = name.split(' ') as [string, string];
  if (outcome.reason === 'timeout') {
    ctx.stopped =
      timeoutMs < config.blast_radius.call_timeout_ms
        ? ctx.deadlineWhy
        : `aws ${service} ${operation} timed out after ${timeoutMs} ms, so no more look-ups were made for this command`;
    return { ok: false, why: ctx.stopped, text: stderr };
  }
  if (outcome.reason === 'spawn_failed')
    return {
      ok: false,
      why: `the AWS CLI could not be started: ${outcome.spawnError?.message ?? 'unknown error'}`,
      text: '',
    };
  if (outcome.reason !== 'exited' || outcome.exitCode !== 0)
    return { ok: false, why: failure(service, operation, stderr), text: stderr };
  if (stdout === null)
    return { ok: false, why: `the answer of aws ${service} ${operation} is too large to read`, text: '' };
  try {
    return { ok: true, answer: stdout.trim() === '' ? {} : JSON.parse(stdout) };
  } catch {
    return { ok: false, why: `the answer of aws ${service} ${operation} is not JSON`, text: stdout.slice(0, 500) };
  }
}

const NO_CREDENTIALS = 'no usable AWS credentials';

/** Why a call failed, in a person's words. */
function failure(service: string, operation: string, stderr: string): string {
  if (
    /Unable to locate credentials|NoCredentialProviders|InvalidClientTokenId|InvalidAccessKeyId|SignatureDoesNotMatch|ExpiredToken|AuthFailure|UnrecognizedClientException|config profile \(.*\) could not be found/i.test(
      stderr,
    )
  )
    return NO_CREDENTIALS;
  const line = stderr.split('\n').find((l) => l.trim() !== '') ?? '';
  const match = /An error occurred \(([^)]+)\) when calling the \S+ operation: (.*)$/.exec(line);
  const reason = (match ? `${match[1]}: ${match[2]}` : line).trim().slice(0, 300);
  if (/AccessDenied|UnauthorizedOperation|not authorized/i.test(stderr))
    return `access denied to aws ${service} ${operation}: ${reason}`;
  return `aws ${service} ${operation} failed: ${reason || 'no reason given'}`;
}

function notApplicable(note: string | null): BlastRadius {
  return { changes: [], warnings: [], resolution: 'not_applicable', resolution_note: note, resolved_at: null };
}

function unresolved(why: string, at: string | null): BlastRadius {
  return {
    changes: [],
    warnings: [{ code: 'unresolved', message: why, resource_id: null }],
    resolution: 'unresolved',
    resolution_note: why,
    resolved_at: at,
  };
}

/** Region and identity of an AWS command (as the look-ups and the real run see them); null for other commands. */
function placeOf(request: ExecutionRequest, call: AwsCall | null, config: ExecutionConfig): CallPlace | null {
  if (call === null) return null;
  const env = request.env;
  const region =
    call.region ??
    env.AWS_REGION ??
    env.AWS_DEFAULT_REGION ??
    config.aws_region ??
    process.env.AWS_REGION ??
    process.env.AWS_DEFAULT_REGION ??
    'the default region';
  const profile = call.profile ?? env.AWS_PROFILE ?? config.aws_profile ?? null;
  const account = profile
    ? `profile ${profile}`
    : env.AWS_ACCESS_KEY_ID
      ? `access key ...${env.AWS_ACCESS_KEY_ID.slice(-4)}`
      : 'the default credentials';
  return { region, account };
}

/** `fn` over `items`, at most `limit` at once, results in order. */
async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}
