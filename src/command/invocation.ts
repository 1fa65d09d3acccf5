/**
 * What actually gets spawned for each command type: a program and an argv, never a shell
 * string unless the command is a `shell` command.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../errors.js';
import type { Command } from '../wire/types.js';
import {
  type AwsSettings,
  awsCliArgsFor,
  awsEndpointFor,
  type ExecutorType,
  forExecutor,
  IGNORE_CONFIGURED_ENDPOINTS,
  isAwsCliProgram,
  withAwsDefaults,
  withEndpointFlag,
} from './aws.js';
import { readShebang, scriptPathOf } from './script.js';

export interface Invocation {
  file: string;
  args: string[];
  /** Variables the command type itself sets (e.g. AWS_REGION for an SDK call). */
  env?: Record<string, string>;
}

/**
 * The compiled SDK runner (dist/runner/sdk-child.js). When this module runs from TypeScript
 * sources (tests), the runner beside the sources is a .ts file no child `node` can run, so
 * the build output is used.
 */
export function sdkChildPath(): string {
  const built = fileURLToPath(new URL('../runner/sdk-child.js', import.meta.url));
  return existsSync(built) ? built : fileURLToPath(new URL('../../dist/runner/sdk-child.js', import.meta.url));
}

export interface InvocationOptions {
  /** Path or name of the AWS CLI binary. */
  awsCliPath: string;
  /** Which executor runs AWS commands: each by its own type (`auto`), or all through one. */
  executor?: ExecutorType;
  /** The configured AWS endpoint (an emulator); null to resolve it from the environment (see awsEndpointFor). */
  awsEndpointUrl?: string | null;
  /** Profile and region for AWS commands that name none. */
  awsProfile?: string | null;
  awsRegion?: string | null;
  /** The request's env: where an endpoint variable, profile or region is looked for first. */
  requestEnv?: Readonly<Record<string, string>>;
  /** The engine's environment (default: this process's). */
  processEnv?: Readonly<Record<string, string | undefined>>;
  /** The request's working dir: relative script paths are read from there, as the interpreter will. */
  workingDir: string | null;
}

/** The AWS settings of invocation options. */
export function awsSettingsOf(options: Omit<InvocationOptions, 'awsCliPath' | 'workingDir'>): AwsSettings {
  return {
    endpointUrl: options.awsEndpointUrl ?? null,
    profile: options.awsProfile ?? null,
    region: options.awsRegion ?? null,
    ...(options.requestEnv ? { requestEnv: options.requestEnv } : {}),
    ...(options.processEnv ? { processEnv: options.processEnv } : {}),
  };
}

/** What to spawn for a command: program and argv (a shell only for `shell` commands), and the variables its type sets. */
export async function resolveInvocation(original: Command, options: InvocationOptions): Promise<Invocation> {
  const command = forExecutor(original, options.executor ?? 'auto');
  switch (command.type) {
    case 'exec': {
      // `exec aws ...` goes where the run's aws_cli steps go. (A shell string that calls `aws`
      // cannot be rewritten: it is run as written.)
      if (!isAwsCliProgram(command.program, options.awsCliPath))
        return { file: command.program, args: [...command.args] };
      const endpoint = awsEndpointFor('', awsSettingsOf(options));
      return {
        file: command.program,
        args: withEndpointFlag(command.args, endpoint),
        env: { ...IGNORE_CONFIGURED_ENDPOINTS },
      };
    }
    case 'shell':
      return { file: command.shell, args: ['-c', command.command] };
    case 'aws_cli':
      return {
        file: options.awsCliPath,
        args: awsCliArgsFor(command, awsSettingsOf(options)),
        // No endpoint_url from the AWS config file, no AWS_ENDPOINT_URL[_<SERVICE>]: the flag only.
        env: { ...IGNORE_CONFIGURED_ENDPOINTS },
      };
    case 'sdk': {
      const settings = awsSettingsOf(options);
      const { profile, region } = withAwsDefaults(command, settings);
      const endpoint = awsEndpointFor(command.service, settings);
      return {
        file: process.execPath,
        // The SDK's Node-version notices are not the command's output. The endpoint, profile and
        // region are in the call itself too: the child uses them over any variable or config file
        // entry (a request's AWS_ENDPOINT_URL_S3 or a profile's endpoint_url must not send one
        // step elsewhere).
        args: [
          '--no-warnings',
          sdkChildPath(),
          JSON.stringify({
            service: command.service,
            operation: command.operation,
            parameters: command.parameters,
            endpoint,
            profile,
            region,
          }),
        ],
        env: {
          ...(region ? { AWS_REGION: region } : {}),
          ...(profile ? { AWS_PROFILE: profile } : {}),
          ...(endpoint ? { AWS_ENDPOINT_URL: endpoint } : {}),
          ...IGNORE_CONFIGURED_ENDPOINTS,
        },
      };
    }
    case 'script': {
      const interpreter = command.interpreter
        ? command.interpreter.trim().split(/\s+/)
        : await readShebang(scriptPathOf(command.path, options.workingDir));
      if (!interpreter) {
        throw ValidationError.of(
          'InvalidCommand',
          'command.interpreter',
          `script ${command.path} has no #! line; set "interpreter" (e.g. "bash" or "python3")`,
        );
      }
      const [file, ...args] = interpreter as [string, ...string[]];
      return { file, args: [...args, command.path] };
    }
  }
}
