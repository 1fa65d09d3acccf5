/**
 * What actually gets spawned for each command type: a program and an argv, never a shell
 * string unless the command is a `shell` command.
 */
import { constants as fsConstants, existsSync, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidationError } from '../errors.js';
import type { Command, ExecutionRequest } from '../wire/types.js';
import type { ProcessSpec } from './process.js';

export interface Invocation {
  file: string;
  args: string[];
  /** Variables the command type itself sets (e.g. AWS_REGION for an SDK call). */
  env?: Record<string, string>;
}

/**
 * The compiled SDK runner next to this module (dist/runner/sdk-child.js). When this module
 * runs from TypeScript sources (tests), the sibling is a .ts file no child `node` can run,
 * so the build output is used.
 */
export function sdkChildPath(): string {
  const sibling = fileURLToPath(new URL('./sdk-child.js', import.meta.url));
  return existsSync(sibling) ? sibling : fileURLToPath(new URL('../../dist/runner/sdk-child.js', import.meta.url));
}

export type ExecutorType = 'cli' | 'sdk' | 'auto';

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

/** Where a script's path points, relative paths taken from the request's working dir. */
export function scriptPathOf(path: string, workingDir: string | null): string {
  return isAbsolute(path) || !workingDir ? path : resolve(workingDir, path);
}

const SHEBANG_LIMIT = 1024;

/** What a non-regular file is, for the error: `/dev/zero` is "a character device". */
export function fileKind(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  if (info.isDirectory()) return 'a directory';
  if (info.isFile()) return 'a regular file';
  return 'an unknown kind of file';
}

function notFound(path: string, err: unknown): ValidationError {
  const code = (err as NodeJS.ErrnoException).code;
  const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'ENOTDIR' ? 'a parent is not a directory' : String(code ?? err);
  return ValidationError.of('ScriptNotFound', 'command.path', `${path} (${why})`);
}

function notRegular(path: string, info: Stats): ValidationError {
  return ValidationError.of('ScriptNotFound', 'command.path', `${path} is not a regular file (${fileKind(info)})`);
}

/**
 * The interpreter named by a script's `#!` line, split into program and arguments
 * (`#!/usr/bin/env python3 -u` -> ['/usr/bin/env', 'python3', '-u']); null without one.
 * Throws ScriptNotFound when the path is not a readable regular file.
 *
 * The path is the client's: opening a FIFO blocks until someone writes to it, and each
 * blocked open holds one of libuv's four I/O threads (four such requests stalled every
 * command, log read and validation). So the type is checked before opening; the open is
 * non-blocking, so a file swapped for a FIFO after the check cannot block either; and the
 * opened file is checked again. Reading is bounded (SHEBANG_LIMIT bytes, one read).
 */
export async function readShebang(path: string): Promise<string[] | null> {
  const before = await stat(path).catch((err: unknown) => {
    throw notFound(path, err);
  });
  if (!before.isFile()) throw notRegular(path, before);
  let handle;
  try {
    // O_NOCTTY: a terminal swapped in must not become our controlling terminal.
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch (err) {
    throw notFound(path, err);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw notRegular(path, info);
    const buf = Buffer.alloc(SHEBANG_LIMIT);
    const { bytesRead } = await handle.read(buf, 0, SHEBANG_LIMIT, 0);
    const head = buf.subarray(0, bytesRead).toString('utf8');
    if (!head.startsWith('#!')) return null;
    const line = head.slice(2).split('\n', 1)[0]!.replace(/\r$/, '').trim();
    const parts = line.split(/\s+/).filter(Boolean);
    return parts.length > 0 ? parts : null;
  } finally {
    await handle.close();
  }
}

/**
 * What to spawn for `invocation` on behalf of `request`: the inherited environment, then
 * what the command type sets, then the request's own variables (the request wins).
 */
export function processSpecOf(invocation: Invocation, request: Pick<ExecutionRequest, 'env' | 'working_dir'>): ProcessSpec {
  return {
    file: invocation.file,
    args: invocation.args,
    // Nothing added: let the child inherit the environment instead of copying it per spawn.
    env: invocation.env === undefined && Object.keys(request.env).length === 0 ? undefined : { ...process.env, ...invocation.env, ...request.env },
    cwd: request.working_dir ?? undefined,
  };
}

/** `DescribeInstances` -> `describe-instances`; `ListObjectsV2` -> `list-objects-v2`. */
export function cliOperationName(operation: string): string {
  return operation.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** `describe-instances` -> `DescribeInstances`. */
export function sdkOperationName(operation: string): string {
  return operation.split('-').map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('');
}

/**
 * The same AWS call for the other executor: an SDK call through the CLI (`--cli-input-json`
 * takes the API's own parameter names), or a CLI call through the SDK when its arguments
 * are nothing but `--cli-input-json` (other flags have no general translation).
 */
export function forExecutor(command: Command, executor: ExecutorType): Command {
  if (executor === 'cli' && command.type === 'sdk') {
    const args = Object.keys(command.parameters).length > 0 ? ['--cli-input-json', JSON.stringify(command.parameters)] : [];
    return { type: 'aws_cli', service: command.service, operation: cliOperationName(command.operation), args, profile: command.profile, region: command.region };
  }
  if (executor === 'sdk' && command.type === 'aws_cli') {
    const [flag, json, ...rest] = command.args;
    const convertible = command.args.length === 0 || (flag === '--cli-input-json' && json !== undefined && rest.length === 0);
    if (!convertible) {
      throw ValidationError.of('InvalidCommand', 'command.args', 'the sdk executor runs aws_cli commands only without args or with just --cli-input-json; use executor "cli" or "auto"');
    }
    let parameters: Record<string, unknown> = {};
    if (json !== undefined) {
      try {
        parameters = JSON.parse(json) as Record<string, unknown>;
      } catch {
        throw ValidationError.of('InvalidCommand', 'command.args', '--cli-input-json is not valid JSON');
      }
    }
    return { type: 'sdk', service: command.service, operation: sdkOperationName(command.operation), parameters, profile: command.profile, region: command.region };
  }
  return command;
}

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
      if (options.awsEndpointUrl && !command.args.includes('--endpoint-url')) args.push('--endpoint-url', options.awsEndpointUrl);
      return { file: options.awsCliPath, args };
    }
    case 'sdk':
      return {
        file: process.execPath,
        // The SDK's Node-version notices are not the command's output.
        args: ['--no-warnings', sdkChildPath(), JSON.stringify({ service: command.service, operation: command.operation, parameters: command.parameters })],
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

export function awsCliArgs(command: Extract<Command, { type: 'aws_cli' }>): string[] {
  const args = [command.service, command.operation, ...command.args];
  // The seed's own example repeats --region in args and the field; pass it once.
  const has = (flag: string) => command.args.some((a) => a === flag || a.startsWith(`${flag}=`));
  if (command.profile && !has('--profile')) args.push('--profile', command.profile);
  if (command.region && !has('--region')) args.push('--region', command.region);
  return args;
}

const SAFE_WORD = /^[\w@%+=:,./-]+$/;

/** POSIX-shell quoting, for display only (we never run this string). */
export function quoteArg(arg: string): string {
  if (arg.length > 0 && SAFE_WORD.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Human-readable form of a command, used in `started` events, progress and summaries. */
export function displayCommand(command: Command): string {
  switch (command.type) {
    case 'exec':
      return [command.program, ...command.args].map(quoteArg).join(' ');
    case 'shell':
      return command.command;
    case 'script':
      return command.interpreter ? `${command.interpreter} ${quoteArg(command.path)}` : quoteArg(command.path);
    case 'aws_cli':
      return ['aws', ...awsCliArgs(command)].map(quoteArg).join(' ');
    case 'sdk':
      return `sdk ${command.service}:${command.operation} ${JSON.stringify(command.parameters)}`;
  }
}
