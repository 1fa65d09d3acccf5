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
 * the endpoint variables of the submitting engine's environment. A worker resolves the endpoint
 * from these, never from its own environment, so every AWS call of a run goes where the
 * submitting engine would send it.
 */
export interface AwsRunSettings {
  endpoint_url: string | null;
  profile: string | null;
  region: string | null;
  /** `AWS_ENDPOINT_URL` and `AWS_ENDPOINT_URL_<SERVICE>` from the submitting engine's environment. */
  endpoint_env: Record<string, string>;
}

/** The settings an engine configured so gives its attempts (`processEnv`: its environment). */
export function awsRunSettings(
  config: { aws_endpoint_url: string | null; aws_profile?: string | null; aws_region?: string | null },
  processEnv: Readonly<Record<string, string | undefined>> = process.env,
): AwsRunSettings {
  const endpoint_env: Record<string, string> = {};
  for (const [name, value] of Object.entries(processEnv))
    if (value && (name === 'AWS_ENDPOINT_URL' || name.startsWith('AWS_ENDPOINT_URL_'))) endpoint_env[name] = value;
  return {
    endpoint_url: config.aws_endpoint_url,
    profile: config.aws_profile ?? null,
    region: config.aws_region ?? null,
    endpoint_env,
  };
}

/** Service ids whose `AWS_ENDPOINT_URL_<ID>` is not the service name in capitals. */
const ENDPOINT_SERVICE_IDS: Record<string, string> = {
  s3api: 'S3',
  secretsmanager: 'SECRETS_MANAGER',
  stepfunctions: 'SFN',
  logs: 'CLOUDWATCH_LOGS',
  events: 'EVENTBRIDGE',
  elbv2: 'ELASTIC_LOAD_BALANCING_V2',
  elb: 'ELASTIC_LOAD_BALANCING',
  resourcegroupstaggingapi: 'RESOURCE_GROUPS_TAGGING_API',
};

/** `AWS_ENDPOINT_URL_S3` for `s3` and `s3api`, `AWS_ENDPOINT_URL_EC2` for `ec2`, ... */
export function serviceEndpointVariable(service: string): string {
  const id = ENDPOINT_SERVICE_IDS[service.toLowerCase()] ?? service.toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  return `AWS_ENDPOINT_URL_${id}`;
}

/**
 * The one endpoint every AWS call of this service goes to, or null for AWS itself. In order:
 * the configured endpoint; else `AWS_ENDPOINT_URL_<SERVICE>`, then `AWS_ENDPOINT_URL`, from the
 * request's env; else the same two from the engine's environment. Both executors are given
 * the result explicitly (the AWS CLI 2.9 ignores these variables, the SDK reads them), so a
 * CLI step and an SDK step of one plan never go to different places.
 */
export function awsEndpointFor(service: string, settings: AwsSettings): string | null {
  if (settings.endpointUrl) return settings.endpointUrl;
  const names = [serviceEndpointVariable(service), 'AWS_ENDPOINT_URL'];
  for (const env of [settings.requestEnv ?? {}, settings.processEnv ?? process.env]) {
    for (const name of names) {
      const value = env[name];
      if (value) return value;
    }
  }
  return null;
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
  // aws-cli 2.9 (Debian's) predates AWS_ENDPOINT_URL, so the flag it is.
  if (endpoint && !hasFlag(command.args, '--endpoint-url')) args.push('--endpoint-url', endpoint);
  return args;
}
