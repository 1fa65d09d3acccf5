/**
 * Options shared by the subcommands that start an engine (engine-config.ts maps them onto
 * ExecutionConfig). Loaded at every start: it loads no schema, so `--help` stays cheap.
 */
import type { Command } from 'commander';

export interface EngineOptions {
  logDir?: string;
  maxConcurrent?: string;
  timeout?: string;
  killGrace?: string;
  awsCli?: string;
  redis?: string;
  queue?: string;
  /** AWS defaults for the run's aws commands. */
  endpointUrl?: string;
  profile?: string;
  region?: string;
  /** `--allow-unknown-fields` (run, plan, validate, serve). */
  allowUnknownFields?: boolean;
}

export function addEngineOptions(cmd: Command): Command {
  return cmd
    .option('--max-concurrent <n>', 'executions running at once (more wait as pending)')
    .option('--timeout <ms>', 'default timeout per command in milliseconds')
    .option('--kill-grace <ms>', 'grace between SIGTERM and SIGKILL when cancelling')
    .option('--aws-cli <path>', 'AWS CLI binary for aws_cli commands')
    .option(
      '--redis <url>',
      'queue commands in Redis for `cloudops-exec worker` processes instead of running them here (also: $CLOUDOPS_REDIS_URL)',
    )
    .option('--queue <name>', 'queue name shared with the workers', 'cloudops-exec')
    .option(
      '--endpoint-url <url>',
      'send every AWS call (CLI and SDK) to this endpoint, e.g. an emulator (default: $AWS_ENDPOINT_URL of the command, then of this shell; service-specific variables are not read)',
    )
    .option('--profile <name>', 'AWS profile for aws commands that name none')
    .option('--region <name>', 'AWS region for aws commands that name none');
}

/** Help text of `--allow-unknown-fields`. */
export const ALLOW_UNKNOWN_FIELDS_HELP =
  'accept (and ignore) plan fields this version does not know, e.g. from a newer version (default: an unknown field is an error naming the nearest known one)';

/** `exec` and `sh`: one command, its environment, and how to print it. */
export function addSingleOptions(cmd: Command): Command {
  return (
    addEngineOptions(cmd)
      .option('--cwd <dir>', 'working directory')
      // One value per flag, repeatable: a variadic option would swallow the program after it.
      .option(
        '--env <NAME=VALUE>',
        'an extra environment variable (repeat for more: --env A=1 --env B=2)',
        (value: string, previous: string[] = []) => [...previous, value],
      )
      .option('--json', 'print the event stream as NDJSON')
  );
}
