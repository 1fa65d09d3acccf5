/**
 * The error a plan file that could not be loaded raises, apart from the parsers that raise it:
 * every command reports it (exit.ts), and loading YAML and the plan schemas for that would
 * make `cloudops-exec --version` pay for them.
 */
import type { ValidationIssue } from '../errors.js';

/** An issue with its place in the file, when it can be found. */
export interface LocatedIssue extends ValidationIssue {
  line: number | null;
  column: number | null;
}

/** A plan file that could not be loaded; `issues` point into the file. */
export class PlanFileError extends Error {
  constructor(
    readonly source: string,
    readonly issues: LocatedIssue[],
    override readonly cause?: unknown,
  ) {
    super(issues.map((i) => formatIssue(source, i)).join('\n'));
    this.name = 'PlanFileError';
  }
}

export function formatIssue(source: string, issue: LocatedIssue): string {
  const where = issue.line !== null ? `${source}:${issue.line}:${issue.column}` : source;
  const field = issue.field ? `${issue.field}: ` : '';
  return `${where}: ${field}${issue.reason} [${issue.code}]`;
}
