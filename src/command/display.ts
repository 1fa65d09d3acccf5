/** How a command is shown to people (events, logs, summaries, approvals): never run. */
import type { Command } from '../wire/types.js';
import { type AwsSettings, awsCliArgs, awsCliArgsFor, awsEndpointFor } from './aws.js';

const SAFE_WORD = /^[\w@%+=:,./-]+$/;

/** POSIX-shell quoting, for display only (we never run this string). */
export function quoteArg(arg: string): string {
  if (arg.length > 0 && SAFE_WORD.test(arg)) return arg;
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/**
 * Human-readable form of a command, used in `started` events, progress and summaries. With the
 * run's AWS settings (see awsEndpointFor), an AWS command shows what it is run with: the
 * default profile and region it gets, and the endpoint when it is not AWS's
 * (`aws s3api list-buckets --endpoint-url http://127.0.0.1:5000`).
 */
export function displayCommand(command: Command, aws?: AwsSettings): string {
  switch (command.type) {
    case 'exec':
      return [command.program, ...command.args].map(quoteArg).join(' ');
    case 'shell':
      return command.command;
    case 'script':
      return command.interpreter ? `${command.interpreter} ${quoteArg(command.path)}` : quoteArg(command.path);
    case 'aws_cli':
      return ['aws', ...(aws ? awsCliArgsFor(command, aws) : awsCliArgs(command))].map(quoteArg).join(' ');
    case 'sdk': {
      const endpoint = aws ? awsEndpointFor(command.service, aws) : null;
      const shown = `sdk ${command.service}:${command.operation} ${JSON.stringify(command.parameters)}`;
      return endpoint ? `${shown} --endpoint-url ${quoteArg(endpoint)}` : shown;
    }
  }
}
