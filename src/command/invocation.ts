/**
 * What actually gets spawned for each command type: a program and an argv, never a shell
 * string unless the command is a `shell` command.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../errors.js';
import type { Command } from '../wire/types.js';
import { awsCliArgs, type ExecutorType, forExecutor } from './aws.js';
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
  /** AWS endpoint override (an emulator); null for AWS itself. */
  awsEndpointUrl?: string | null;
  /** The request's working dir: relative script paths are read from there, as the interpreter will. */
  workingDir: string | null;
}

/** What to spawn for a command: program and argv (a shell only for `shell` commands), and the variables its type sets. */
export async function resolveInvocation(original: Command, options: InvocationOptions): Promise<Invocation> {
  const command = forExecutor(original, options.executor ?? 'auto');
  switch (command.type) {
    case 'exec':
      return { file: command.program, args: [...command.args] };
    case 'shell':
      return { file: command.shell, args: ['-c', command.command] };
    case 'aws_cli': {
      const args = awsCliArgs(command);
      // aws-cli 2.9 (Debian's) predates AWS_ENDPOINT_URL, so the flag it is.
      if (options.awsEndpointUrl && !command.args.includes('--endpoint-url'))
        args.push('--endpoint-url', options.awsEndpointUrl);
      return { file: options.awsCliPath, args };
    }
    case 'sdk':
      return {
        file: process.execPath,
        // The SDK's Node-version notices are not the command's output.
        args: [
          '--no-warnings',
          sdkChildPath(),
          JSON.stringify({ service: command.service, operation: command.operation, parameters: command.parameters }),
        ],
        env: {
          ...(command.region ? { AWS_REGION: command.region } : {}),
          ...(command.profile ? { AWS_PROFILE: command.profile } : {}),
          ...(options.awsEndpointUrl ? { AWS_ENDPOINT_URL: options.awsEndpointUrl } : {}),
        },
      };
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
