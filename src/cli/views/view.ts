/** How `run` shows a plan: the views receive engine events and the final result, nothing else. */

import { dirname, join } from 'node:path';
import { displayCommand } from '../../command/display.js';
import { defaultLogDir } from '../../config.js';
import { printable } from '../../sinks/control-chars.js';
import type { ExecutionEvent, ExecutionPlan, ExecutionResult, PlanExecutionResult } from '../../wire/types.js';
import { formatDuration, type Style } from '../style.js';

export interface RunView {
  onEvent(event: ExecutionEvent): void;
  /** A message from the CLI itself (e.g. "interrupted"). */
  notice(message: string): void;
  finish(result: PlanExecutionResult): void;
}

export interface CommandLabel {
  index: number;
  /** The step's `name`, else `metadata.tags.name`, else `<index>:<command>` shortened. */
  name: string;
  command: string;
}

const MAX_NAME = 28;

/** Labels are submitted text (tags, commands): control characters are shown escaped, never sent to the terminal. */
export function labelsOf(plan: ExecutionPlan): Map<string, CommandLabel> {
  return new Map(
    plan.commands.map((request, index) => {
      const command = printable(displayCommand(request.command));
      const short = command.length > MAX_NAME ? `${command.slice(0, MAX_NAME - 1)}…` : command;
      const name = request.name ?? request.metadata.tags.name;
      return [request.id, { index, name: name !== undefined ? printable(name) : `${index}:${short}`, command }];
    }),
  );
}

export const SYMBOLS = {
  completed: '✔',
  failed: '✘',
  timeout: '⏱',
  cancelled: '⊘',
  skipped: '↷',
  pending: '◌',
  running: '▶',
} as const;

export function statusColor(status: string): 'green' | 'red' | 'cyan' | 'yellow' {
  switch (status) {
    case 'completed':
      return 'green';
    case 'failed':
    case 'timeout':
      return 'red';
    case 'running':
      return 'cyan';
    default:
      return 'yellow';
  }
}

/** The closing summary every human-facing view prints. */
export function summaryLines(
  plan: ExecutionPlan,
  result: PlanExecutionResult,
  labels: Map<string, CommandLabel>,
  style: Style,
  /** The plan ran on this server (`run --approve-via`): its logs are there. */
  server?: string,
): string[] {
  const { stats } = result;
  const counts = (['completed', 'failed', 'timeout', 'cancelled', 'skipped'] as const)
    .filter((k) => stats[k] > 0)
    .map((k) => `${stats[k]} ${k}`)
    .join(', ');
  const title = plan.description ? `"${printable(plan.description)}"` : `plan ${plan.id}`;
  const lines = [
    style.paint(
      ['bold', statusColor(result.status)],
      `${SYMBOLS[result.status as keyof typeof SYMBOLS] ?? '•'} ${title} ${result.status}`,
    ) + ` — ${counts} of ${stats.total} in ${(result.total_duration_ms / 1000).toFixed(1)}s`,
  ];
  for (const r of result.results) {
    if (r.status === 'completed') continue;
    const label = labels.get(r.id);
    // An error may quote the command (a program that could not start): shown through `printable`.
    lines.push(
      `  ${style.paint(statusColor(r.status), `${SYMBOLS[r.status as keyof typeof SYMBOLS] ?? '•'} [${label?.name ?? r.id}]`)} ${printable(r.error ?? r.status)}`,
    );
    const lastErr = r.stderr.trimEnd().split('\n').slice(-3).filter(Boolean);
    for (const l of lastErr) lines.push(style.paint('dim', `      ${l}`));
    if (r.status !== 'skipped' && r.status !== 'cancelled') lines.push(style.paint('dim', `      log: ${r.log_path}`));
  }
  lines.push(style.paint('dim', whereLines(result, server)));
  return lines;
}

/**
 * The log directory of this process's run (`run` sets it), for the `logs` hint: one that is
 * not the default is named in it (`--log-dir DIR`), or the hint would look in the wrong place.
 * Null (the default): the hint names none. Remote runs name the server instead (`server`).
 */
let logDirHint: string | null = null;

export function setLogDirHint(dir: string | null): void {
  logDirHint = dir;
}

/** A word for a POSIX shell: as it is when it needs no quoting, else in single quotes. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * The plan's id and where its logs are: a short prefix is enough for `logs` and `status`.
 * The plan's log sits next to its commands' (one log directory per engine). `server`: the
 * plan ran on that server (`run --approve-via`), whose dashboard shows its logs.
 */
export function whereLines(result: PlanExecutionResult, server?: string): string {
  if (server !== undefined)
    return `plan ${result.plan_id}; its logs are on the server: ${server}/#/executions/${encodeURIComponent(result.plan_id)}`;
  const logged = result.results.find((r) => r.log_path);
  const where = logged ? ` (${join(dirname(logged.log_path), `${result.plan_id}.log`)})` : '';
  const dir =
    logDirHint !== null && logDirHint !== defaultLogDir() ? ` --log-dir ${shellWord(printable(logDirHint))}` : '';
  const logs = `plan ${result.plan_id}; its logs: cloudops-exec logs${dir} ${result.plan_id.slice(0, 8)}${where}`;
  if (result.status === 'completed') return logs;
  return `${logs}\nresume it (steps that completed are not run again): cloudops-exec retry${dir} ${result.plan_id.slice(0, 8)}`;
}

/** Which steps a resume carries over and which it runs, by label. */
export function resumeLine(plan: ExecutionPlan, from: string): string {
  const labels = labelsOf(plan);
  const carried = new Set(plan.resumed_from?.carried ?? []);
  const list = (keep: boolean) =>
    plan.commands.flatMap((c, i) => (carried.has(i) === keep ? [labels.get(c.id)?.name ?? `#${i}`] : [])).join(', ');
  return `Resuming plan ${printable(from)} as ${printable(plan.id)}: carried over (completed there, not run again): ${list(true) || 'none'}; runs: ${list(false)}`;
}

/** How a completed step is reported: how long it ran, or, carried over by a resume, where it ran. */
export function completedText(result: ExecutionResult): string {
  if (result.carried_from !== null)
    return `${SYMBOLS.completed} carried over from ${result.carried_from.slice(0, 8)} (completed there in ${formatDuration(result.duration_ms)}; not run again)`;
  return `${SYMBOLS.completed} completed in ${formatDuration(result.duration_ms)}`;
}
