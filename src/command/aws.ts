/**
 * AWS commands in the command model: the CLI's argv, operation names in both spellings, and
 * the same call for the other executor (CLI <-> SDK).
 */
import { basename } from 'node:path';
import { ValidationError } from '../errors.js';
import type { ExecutorType } from '../vocabulary.js';
import type { Command } from '../wire/types.js';

export type { ExecutorType } from '../vocabulary.js';

/**
 * Where the AWS CLI takes a parameter value from instead of as written: `file://` and `fileb://`
 * name a local file whose content it sends; `http://`/`https://` one it may fetch (its paramfile
 * prefixes). Null: taken as written. The one reading of these prefixes (dry run, look-ups).
 */
export function valueReadFrom(value: string): 'file' | 'url' | null {
  const match = /^\s*(file|fileb|https?):\/\//i.exec(value);
  if (!match) return null;
  return match[1]!.toLowerCase().startsWith('file') ? 'file' : 'url';
}

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
  const has = (flag: string) => hasFlag(command.args, flag);
  if (command.profile && !has('--profile')) args.push('--profile', command.profile);
  if (command.region && !has('--region')) args.push('--region', command.region);
  return args;
}

/**
 * Where and as whom the AWS commands of a run go, before each command's own settings:
 * the engine's configured endpoint, profile and region, and the environments an endpoint
 * variable may come from.
 */
export interface AwsSettings {
  /** The configured endpoint (`aws_endpoint_url`); wins over any variable. */
  endpointUrl?: string | null;
  /** Profile and region for AWS commands that name none (`aws_profile`, `aws_region`). */
  profile?: string | null;
  region?: string | null;
  /** The request's own variables: read before the process's. */
  requestEnv?: Readonly<Record<string, string>>;
  /** The engine's environment (default: this process's). */
  processEnv?: Readonly<Record<string, string | undefined>>;
}

/**
 * A run's AWS settings as they travel with each attempt (to this machine's executor, or in a
 * queued job to a worker on another machine): the configured endpoint, profile and region, and
 * the endpoint variable of the submitting engine's environment. A worker resolves the endpoint
 * from these, never from its own environment, so every AWS call of a run goes where the
 * submitting engine would send it.
 */
export interface AwsRunSettings {
  endpoint_url: string | null;
  profile: string | null;
  region: string | null;
  /** `AWS_ENDPOINT_URL` from the submitting engine's environment (the only endpoint variable read). */
  endpoint_env: Record<string, string>;
}

/** The settings an engine configured so gives its attempts (`processEnv`: its environment). */
export function awsRunSettings(
  config: { aws_endpoint_url: string | null; aws_profile?: string | null; aws_region?: string | null },
  processEnv: Readonly<Record<string, string | undefined>> = process.env,
): AwsRunSettings {
  const endpoint = processEnv[ENDPOINT_VARIABLE];
  return {
    endpoint_url: config.aws_endpoint_url,
    profile: config.aws_profile ?? null,
    region: config.aws_region ?? null,
    endpoint_env: endpoint ? { [ENDPOINT_VARIABLE]: endpoint } : {},
  };
}

/** The one endpoint variable the engine reads. */
export const ENDPOINT_VARIABLE = 'AWS_ENDPOINT_URL';

/**
 * What every AWS CLI and SDK process of a run gets, so neither reads an endpoint of its own:
 * no `endpoint_url` from the AWS config file, no `AWS_ENDPOINT_URL[_<SERVICE>]` (the JS SDK
 * and newer AWS CLIs read them, Debian's AWS CLI 2.9 does not). The run's endpoint is passed
 * explicitly instead (`--endpoint-url`, or the SDK call's `endpoint`).
 */
export const IGNORE_CONFIGURED_ENDPOINTS: Readonly<Record<string, string>> = {
  AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true',
};

/** `AWS_ENDPOINT_URL` and every `AWS_ENDPOINT_URL_<SERVICE>`: names no AWS process of a run may see. */
export function isEndpointVariable(name: string): boolean {
  return name === ENDPOINT_VARIABLE || name.startsWith(`${ENDPOINT_VARIABLE}_`);
}

/**
 * The one endpoint every AWS call of a run goes to, or null for AWS itself: the configured
 * endpoint; else `AWS_ENDPOINT_URL` from the request's env; else from the engine's environment.
 * Service-specific variables (`AWS_ENDPOINT_URL_S3`, ...) are not read: their names differ
 * between tools (`ROUTE_53` vs `ROUTE53`), and one would split a run by service. Both executors
 * are given the result explicitly (the AWS CLI 2.9 ignores the variable, the SDK reads it), so
 * a CLI step and an SDK step of one plan never go to different places. (`_service` is kept for
 * callers; every service gets the same endpoint.)
 */
export function awsEndpointFor(_service: string, settings: AwsSettings): string | null {
  if (settings.endpointUrl) return settings.endpointUrl;
  for (const env of [settings.requestEnv ?? {}, settings.processEnv ?? process.env]) {
    const value = env[ENDPOINT_VARIABLE];
    if (value) return value;
  }
  return null;
}

/**
 * Whether an `exec` program is the AWS CLI (the configured `aws_cli_path`, or any program named
 * `aws`): such a step gets the run's endpoint like an `aws_cli` step.
 */
export function isAwsCliProgram(program: string, awsCliPath: string): boolean {
  return program === awsCliPath || basename(program) === 'aws';
}

/** An AWS CLI argv (after the program) with the run's endpoint, unless it names one already. */
export function withEndpointFlag(args: readonly string[], endpoint: string | null): string[] {
  // aws-cli 2.9 (Debian's) predates AWS_ENDPOINT_URL, so the flag it is.
  return endpoint && !hasFlag(args, '--endpoint-url') ? [...args, '--endpoint-url', endpoint] : [...args];
}

/**
 * The command with the run's default profile and region where it names none. A command's own
 * field, or AWS_PROFILE / AWS_REGION / AWS_DEFAULT_REGION in its request's env, wins.
 */
export function withAwsDefaults<C extends Command>(command: C, settings: AwsSettings): C {
  if (command.type !== 'aws_cli' && command.type !== 'sdk') return command;
  const env = settings.requestEnv ?? {};
  const profile = command.profile ?? (env.AWS_PROFILE ? null : (settings.profile ?? null));
  const region = command.region ?? (env.AWS_REGION || env.AWS_DEFAULT_REGION ? null : (settings.region ?? null));
  if (profile === command.profile && region === command.region) return command;
  return { ...command, profile, region };
}

function hasFlag(args: readonly string[], flag: string): boolean {
  return args.some((a) => a === flag || a.startsWith(`${flag}=`));
}

/**
 * The AWS CLI's full argv for a command under the run's settings: its own args, the default
 * profile and region, and `--endpoint-url` unless the args name one already.
 */
export function awsCliArgsFor(command: Extract<Command, { type: 'aws_cli' }>, settings: AwsSettings): string[] {
  const args = awsCliArgs(withAwsDefaults(command, settings));
  const endpoint = awsEndpointFor(command.service, settings);
  return withEndpointFlag(args, endpoint);
}
