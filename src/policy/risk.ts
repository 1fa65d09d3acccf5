/**
 * Risk assessment: how much a command can change, and whether that could be established at
 * all. AWS operations are classified by their verb (`aws-risk.ts`); programs and their
 * arguments by what they are known to do (`program-risk.ts`); shell strings by parsing them
 * (`shell-risk.ts`). What cannot be read ahead — code computed at run time, interpreters
 * running code, scripts, unknown programs, an environment that changes what a program loads —
 * is `verified: false`, and the approval policy decides what that means (`unverified_risk`).
 * A declared level can raise the assessment, never lower it.
 */
import { defaultAwsCliPath } from '../runner/aws-cli-path.js';
import { shellWithVariables } from '../wire/references.js';
import type { Command } from '../wire/types.js';
import { assessAwsOperation } from './aws-risk.js';
import { loaderVariableReason } from './env-risk.js';
import { assessArgv } from './program-risk.js';
import { isSecretName, redactorFor, secretValues } from './redaction.js';
import { assessed, combine, type RiskAssessment, type RiskLevel, unverified } from './risk-vocabulary.js';
import { assessShellString } from './shell-risk.js';

export { awsOperationRisk, operationVerb } from './aws-risk.js';
export {
  assessed,
  combine,
  maxRisk,
  RISK_LEVELS,
  type RiskAssessment,
  type RiskLevel,
  riskAtLeast,
} from './risk-vocabulary.js';

export interface RiskContext {
  /** The AWS CLI the engine runs (`aws_cli_path`): only it makes an `exec` an AWS call. */
  awsCliPath?: string;
}

function argvContext(ctx: RiskContext) {
  const base = { awsCliPath: ctx.awsCliPath ?? defaultAwsCliPath(), depth: 0 };
  return {
    ...base,
    shell: (script: string, shellName: string, depth: number) =>
      assessShellString(script, shellName, { ...base, depth: depth + 1 }),
  };
}

/** What a command as written can do, before its environment and any declared level. */
export function assessCommand(command: Command, ctx: RiskContext = {}): RiskAssessment {
  switch (command.type) {
    case 'aws_cli':
      return assessAwsOperation(command.service, command.operation, command.args);
    case 'sdk':
      return assessAwsOperation(command.service, command.operation);
    case 'exec':
      return assessArgv([command.program, ...command.args], argvContext(ctx));
    case 'shell':
      // As it will run: a plan step's references become the variables their values are read from.
      return assessArgv([command.shell, '-c', shellWithVariables(command.command)], argvContext(ctx));
    case 'script':
      if (!command.interpreter)
        return unverified(`runs the script ${command.path}, whose contents cannot be assessed ahead`);
      return assessArgv([...command.interpreter.trim().split(/\s+/), command.path], argvContext(ctx));
  }
}

/** Risk level of a command as written (see `assessCommand`). */
export function assessCommandRisk(command: Command, ctx: RiskContext = {}): RiskLevel {
  return assessCommand(command, ctx).risk_level;
}

/**
 * What a request's environment does to its command: a variable that changes what a program
 * loads or runs (PATH, LD_PRELOAD, NODE_OPTIONS, …) makes the effect unknowable; a value that
 * holds a command substitution is code a shell may evaluate.
 */
export function assessEnvironment(env: Readonly<Record<string, string>>): RiskAssessment {
  const parts: RiskAssessment[] = [assessed('read_only')];
  for (const [name, value] of Object.entries(env)) {
    const reason = loaderVariableReason(name, value);
    if (reason) parts.push(unverified(`env ${reason}`));
    // Any command may hand it to a shell (`bash -c '(( X ))'` evaluates X's subscripts).
    else if (/\$\(|`/.test(value))
      parts.push(unverified(`env ${name} holds a command substitution a shell may evaluate`));
  }
  return combine(parts);
}

/** Secret values and the variable each came from, as redaction searches for them. */
export type SecretNames = ReadonlyMap<string, string>;

interface ShownRequest {
  command: Command;
  env?: Readonly<Record<string, string>>;
  working_dir?: string | null;
  description?: string | null;
  rollback?: readonly ShownRequest[];
}

/**
 * Every secret value in these requests' environments (rollback steps' included), with the
 * variable that holds it. Answers show the whole plan redacted with all of them (redact-data.ts),
 * so a value from one command's environment is `***` in every other command as well.
 */
export function planSecretNames(requests: readonly ShownRequest[]): SecretNames {
  const names = new Map<string, string>();
  const visit = (request: ShownRequest): void => {
    const env = request.env ?? {};
    for (const value of secretValues(env)) {
      const name = Object.keys(env).find((n) => env[n] === value && isSecretName(n));
      if (name !== undefined && !names.has(value)) names.set(value, name);
    }
    for (const step of request.rollback ?? []) visit(step);
  };
  for (const request of requests) visit(request);
  return names;
}

/**
 * What a reader of the request cannot see: the value of a secret-named variable is shown as
 * `***` wherever it appears, so a command, working dir, description or other variable that
 * holds it is partly hidden from the approver, who would approve a target it cannot read.
 * `secrets`: the values answers hide along with this request (default: its own environment's;
 * for a plan, every command's: planSecretNames).
 */
export function assessHiddenContent(request: ShownRequest, secrets?: SecretNames): RiskAssessment {
  const env = request.env ?? {};
  const known = secrets ?? planSecretNames([{ command: request.command, env }]);
  if (known.size === 0) return assessed('read_only');
  // Each field is redacted on its own (redact-data.ts), and a short or common value only where
  // it stands alone: a value is hidden when its redactor changes one of the shown strings.
  const shown: string[] = [];
  const collect = (value: unknown): void => {
    if (typeof value === 'string') shown.push(value);
    else if (Array.isArray(value)) for (const item of value) collect(item);
    else if (value !== null && typeof value === 'object') for (const item of Object.values(value)) collect(item);
  };
  collect([request.command, request.working_dir ?? null, request.description ?? null]);
  // Another variable holding the value (`F=<secret>` used as "$F") reads `***` too.
  for (const [name, value] of Object.entries(env)) if (!isSecretName(name)) shown.push(value);
  const names = new Set<string>();
  for (const [value, name] of known) {
    const redact = redactorFor([value]);
    if (shown.some((text) => redact(text) !== text)) names.add(name);
  }
  if (names.size === 0) return assessed('read_only');
  const list = [...names].join(', ');
  return unverified(
    `the value of the secret variable${names.size === 1 ? '' : 's'} ${list} appears in what approvers are shown of this command, as ***`,
  );
}
