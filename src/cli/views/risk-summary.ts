/**
 * What a plan is rated before it runs: overall and per command, as the engine's approval
 * policy assesses it (`ApprovalWorkflow.createApprovalRequest`; the CLI never rates anything
 * itself), with the AWS operation each AWS command calls, and the reasons for unverified or
 * risky work. `plan`/`run --dry-run` add each command's dry-run verdict and what it would
 * change (the resources its dry run looked up, and the warnings about them).
 */
import { type DryRunCommandResult, dryRunVerdict } from '../../engine/dry-run.js';
import type { ApprovalRequest } from '../../policy/approval.js';
import type { BlastRadius, DryRunWarning, DryRunWarningCode } from '../../policy/blast-radius.js';
import { printable } from '../../sinks/control-chars.js';
import type { RiskLevel } from '../../vocabulary.js';
import type { Command, ExecutionPlan } from '../../wire/types.js';
import type { Style } from '../style.js';

/** The short id people type: the first 8 characters of the plan id. */
export function shortId(planId: string): string {
  return planId.slice(0, 8);
}

/** `s3api create-bucket` for an aws_cli command, `ec2:DescribeInstances` for an SDK one; null otherwise. */
export function awsOperationOf(command: Command): string | null {
  if (command.type === 'aws_cli') return `${command.service} ${command.operation}`;
  if (command.type === 'sdk') return `${command.service}:${command.operation}`;
  return null;
}

function riskColor(level: RiskLevel): 'green' | 'yellow' | 'red' {
  return level === 'destructive' ? 'red' : level === 'modify' ? 'yellow' : 'green';
}

function counts(request: ApprovalRequest): string {
  const by = new Map<RiskLevel, number>();
  for (const c of request.commands) by.set(c.risk_level, (by.get(c.risk_level) ?? 0) + 1);
  const parts = (['destructive', 'modify', 'read_only'] as const)
    .filter((level) => by.has(level))
    .map((level) => `${by.get(level)} ${level}`);
  const n = request.commands.length;
  return `${n} command${n === 1 ? '' : 's'}${parts.length > 0 ? `: ${parts.join(', ')}` : ''}`;
}

/**
 * The risk block shown before a run (and by `plan`): one header line, then each command with
 * its level, AWS operation, and reasons; `dryRuns` (by command id) adds a verdict line each.
 */
export function riskSummary(
  plan: ExecutionPlan,
  request: ApprovalRequest,
  style: Style,
  verdicts?: ReadonlyMap<string, Verdict>,
): string {
  const title = plan.description
    ? `${style.paint('bold', `Plan ${printable(shortId(plan.id))}`)} "${printable(plan.description)}"`
    : style.paint('bold', `Plan ${printable(plan.id)}`);
  const unverified = request.verified ? '' : ' (not verified: see the reasons below)';
  let out = `${title}\n`;
  out += `  risk ${style.paint(['bold', riskColor(request.risk_level)], request.risk_level)}${unverified} — ${counts(request)}\n`;
  const carried = new Set(plan.resumed_from?.carried ?? []);
  request.commands.forEach((c, i) => {
    const request = plan.commands[i];
    const operation = request ? awsOperationOf(request.command) : null;
    const name = request ? (request.name ?? request.metadata.tags.name) : undefined;
    const label =
      (name !== undefined ? ` (${printable(name)})` : '') +
      (carried.has(i) ? style.paint('dim', ' · carried over: completed before, not run again') : '');
    out += `  ${`#${i}`.padStart(4)} ${style.paint(riskColor(c.risk_level), c.risk_level.padEnd(11))} ${printable(c.command)}${label}\n`;
    const facts: string[] = [];
    if (operation) facts.push(`AWS operation ${printable(operation)}`);
    if (!c.verified) facts.push('not verified');
    if (facts.length > 0) out += `       ${style.paint('dim', facts.join(' · '))}\n`;
    // Why: for work that could not be verified, and for anything that changes something.
    if (!c.verified || c.risk_level !== 'read_only')
      for (const reason of c.risk_reasons) out += `       ${style.paint('dim', '·')} ${printable(reason)}\n`;
    const verdict = verdicts?.get(c.id);
    if (verdict) out += `       ${style.paint('dim', 'dry run')} ${verdictText(verdict, style)}\n`;
    if (verdict?.blast) out += blastRadiusText(verdict.blast, style);
  });
  return out;
}

/**
 * A dry-run verdict: the engine's wording of it (`dryRunVerdict`) and AWS's answer, when it gave
 * one; with what the command would change, when its dry run looked that up.
 */
export interface Verdict {
  text: string;
  would_succeed: boolean | null;
  blast?: BlastRadius;
}

/** The verdicts of a local dry run, by command id. */
export function verdictsOf(commands: readonly DryRunCommandResult[]): Map<string, Verdict> {
  return new Map(
    commands.map((c) => [
      c.id,
      {
        text: dryRunVerdict(c),
        would_succeed: c.would_succeed,
        blast: {
          changes: c.changes,
          warnings: c.warnings,
          resolution: c.resolution,
          resolution_note: c.resolution_note,
          resolved_at: c.resolved_at,
        },
      },
    ]),
  );
}

/** Warnings that change what an approver decides, and how they are labelled; the others by their code. */
const ALARMS: Partial<Record<DryRunWarningCode, string>> = {
  production_resource: 'production',
  resource_not_found: 'not found',
};

const warningLabel = (code: DryRunWarningCode) => ALARMS[code] ?? code.replaceAll('_', ' ');

/** The warnings shown of a look-up: not the one repeating its note (why nothing could be looked up). */
export function shownWarnings(blast: Pick<BlastRadius, 'warnings' | 'resolution_note'>): DryRunWarning[] {
  const note = blast.resolution_note || null;
  return blast.warnings.filter((w) => !(w.code === 'unresolved' && w.resource_id === null && w.message === note));
}

/** `3 min ago`: how long ago `iso` was, as a person reads it. */
export function agoText(iso: string, now: number = Date.now()): string {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return `at ${iso}`;
  const sec = Math.max(0, (now - t) / 1000);
  if (sec < 10) return 'just now';
  if (sec < 60) return `${Math.floor(sec)} s ago`;
  if (sec < 3600) return `${Math.floor(sec / 60)} min ago`;
  if (sec < 86_400) return `${Math.floor(sec / 3600)} h ago`;
  return `${Math.floor(sec / 86_400)} d ago`;
}

/**
 * What a command would change, under its verdict: one line per resource (`terminate instance
 * i-0abc (web-1) running t3.micro, env=prod`), then the warnings (production and missing resources
 * in red: a resource not found is one of them), why the look-up stopped short or did not run
 * (`not looked up: no look-up for aws lambda delete-function yet`), and its age. Every value is
 * made printable: names and tags are whatever a resource's owner wrote. Empty when there was
 * nothing to look up: a non-AWS command or a read-only call (the dry run gives no note for those).
 */
export function blastRadiusText(blast: BlastRadius, style: Style, indent = '       ', now = Date.now()): string {
  const { changes, resolution } = blast;
  const note = blast.resolution_note || null;
  const warnings = shownWarnings(blast);
  const noteLine =
    resolution !== 'resolved' && (note !== null || resolution !== 'not_applicable')
      ? `${indent}${style.paint('yellow', resolution === 'partial' ? 'looked up in part:' : 'not looked up:')} ${printable(note ?? 'no reason given')}\n`
      : '';
  if (changes.length === 0 && warnings.length === 0 && resolution === 'not_applicable') return noteLine;
  const age = blast.resolved_at ? ` · looked up ${agoText(blast.resolved_at, now)}` : '';
  const head =
    changes.length > 0
      ? `will change (${changes.length})`
      : resolution === 'unresolved'
        ? 'will change: not known'
        : 'will change: nothing found';
  let out = `${indent}${style.paint('dim', `${head}${age}`)}\n`;
  for (const r of changes) {
    const id = printable(r.resource_id);
    const summary = printable(r.summary);
    // The summary usually starts with the id; else the id goes first.
    const what = summary.startsWith(id) ? summary : summary ? `${id}: ${summary}` : id;
    out += `${indent}  ${style.paint('bold', printable(r.action))} ${printable(r.resource_type)} ${what}\n`;
  }
  for (const w of warnings) {
    const label = `! ${warningLabel(w.code)}:`;
    out += `${indent}${style.paint(ALARMS[w.code] ? ['bold', 'red'] : 'yellow', label)} ${printable(w.message)}\n`;
  }
  return out + noteLine;
}

/** A verdict as a person reads it: would succeed, would fail (with AWS's reason), or what would run. */
function verdictText(verdict: Verdict, style: Style): string {
  const text = printable(verdict.text);
  if (verdict.would_succeed === true) return style.paint('green', text);
  if (verdict.would_succeed === false) return style.paint('red', text);
  return text;
}
