/**
 * What the server refuses in every request it is sent, wherever requests appear: a single
 * request, a plan's commands, their rollback steps, an approver's edited plan. Over HTTP the
 * caller is not the operator, so two things a library caller may do are not accepted:
 * - a caller-chosen log path: the log is opened for writing and read back through GET /logs,
 *   so it would let any client overwrite a file and read one;
 * - an environment variable that changes what a program loads or runs (`PATH`, `LD_PRELOAD`,
 *   `NODE_OPTIONS`, `PYTHON*`, `BROWSER`, `AWS_CONFIG_FILE`, …; see policy/env-risk.ts): with
 *   one set, the command runs code its argv does not show, before any approval could judge
 *   it. The operator may allow names one by one (`allow_env`, `serve --allow-env NAME`).
 */
import { ValidationError, type ValidationIssue } from '../errors.js';
import { loaderVariableReason } from '../policy/env-risk.js';
import type { ExecutionPlan, ExecutionRequest } from '../wire/types.js';

export interface InputPolicy {
  /** Loader variables the operator allows, by exact name. */
  readonly allowEnv: ReadonlySet<string>;
}

type Checked = Pick<ExecutionRequest, 'output_log_path' | 'env'> & { rollback?: readonly Checked[] };

function issuesOf(request: Checked, at: string, policy: InputPolicy, issues: ValidationIssue[]): void {
  if (request.output_log_path !== null) {
    issues.push({
      code: 'InvalidField',
      field: `${at}output_log_path`,
      reason: "is not accepted over HTTP: logs are kept in the server's log_dir",
    });
  }
  for (const name of Object.keys(request.env).sort()) {
    if (policy.allowEnv.has(name)) continue;
    const why = loaderVariableReason(name, request.env[name]);
    if (why === null) continue;
    issues.push({
      code: 'InvalidField',
      field: `${at}env.${name}`,
      reason: `${why}, so what would run is not what the command shows; it is refused over HTTP. The operator can allow it: cloudops-exec serve --allow-env ${name} (ServerOptions.allow_env)`,
    });
  }
  (request.rollback ?? []).forEach((step, j) => issuesOf(step, `${at}rollback[${j}].`, policy, issues));
}

/** `subject` unchanged, or a ValidationError naming every refused field (`prefix` says where the subject sits in the body). */
export function checkHttpInput<T extends ExecutionPlan | ExecutionRequest>(
  subject: T,
  policy: InputPolicy,
  prefix = '',
): T {
  const issues: ValidationIssue[] = [];
  if ('commands' in subject)
    subject.commands.forEach((c, i) => issuesOf(c, `${prefix}commands[${i}].`, policy, issues));
  else issuesOf(subject, prefix, policy, issues);
  if (issues.length > 0) throw new ValidationError(issues);
  return subject;
}
