/** How a command is shown to people (events, logs, summaries, approvals): never run. */
import type { Command } from '../wire/types.js';
import { awsCliArgs } from './aws.js';

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
