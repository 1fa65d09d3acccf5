/**
 * AWS commands in the command model: the CLI's argv, operation names in both spellings, and
 * the same call for the other executor (CLI <-> SDK).
 */
import { ValidationError } from '../errors.js';
import type { ExecutorType } from '../vocabulary.js';
import type { Command } from '../wire/types.js';

export type { ExecutorType } from '../vocabulary.js';

/** `DescribeInstances` -> `describe-instances`; `ListObjectsV2` -> `list-objects-v2`. */
export function cliOperationName(operation: string): string {
  return operation.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** `describe-instances` -> `DescribeInstances`. */
export function sdkOperationName(operation: string): string {
  return operation
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/**
 * The same AWS call for the other executor: an SDK call through the CLI (`--cli-input-json`
 * takes the API's own parameter names), or a CLI call through the SDK when its arguments
 * are nothing but `--cli-input-json` (other flags have no general translation).
 */
export function forExecutor(command: Command, executor: ExecutorType): Command {
  if (executor === 'cli' && command.type === 'sdk') {
    const args =
      Object.keys(command.parameters).length > 0 ? ['--cli-input-json', JSON.stringify(command.parameters)] : [];
    return {
      type: 'aws_cli',
      service: command.service,
      operation: cliOperationName(command.operation),
      args,
      profile: command.profile,
      region: command.region,
    };
  }
  if (executor === 'sdk' && command.type === 'aws_cli') {
    const [flag, json, ...rest] = command.args;
    const convertible =
      command.args.length === 0 || (flag === '--cli-input-json' && json !== undefined && rest.length === 0);
    if (!convertible) {
      throw ValidationError.of(
        'InvalidCommand',
        'command.args',
        'the sdk executor runs aws_cli commands only without args or with just --cli-input-json; use executor "cli" or "auto"',
      );
    }
    let parameters: Record<string, unknown> = {};
    if (json !== undefined) {
      try {
        parameters = JSON.parse(json) as Record<string, unknown>;
      } catch {
        throw ValidationError.of('InvalidCommand', 'command.args', '--cli-input-json is not valid JSON');
      }
    }
    return {
      type: 'sdk',
      service: command.service,
      operation: sdkOperationName(command.operation),
      parameters,
      profile: command.profile,
      region: command.region,
    };
  }
  return command;
}

export function awsCliArgs(command: Extract<Command, { type: 'aws_cli' }>): string[] {
  const args = [command.service, command.operation, ...command.args];
  // Plans often repeat --region in args and in the field; pass it once.
  const has = (flag: string) => command.args.some((a) => a === flag || a.startsWith(`${flag}=`));
  if (command.profile && !has('--profile')) args.push('--profile', command.profile);
  if (command.region && !has('--region')) args.push('--region', command.region);
  return args;
}
