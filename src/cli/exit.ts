/** Exit codes and error reporting shared by every subcommand. */
import { ExecutionError, ValidationError } from '../errors.js';
import { printable } from '../sinks/control-chars.js';
import type { ExecutionResult } from '../wire/types.js';
import { PlanFileError } from './plan-file-error.js';

/** Messages quote input (plan keys, ids, commands): each line shown through `printable`. */
function lines(text: string): string[] {
  return text.split('\n').map(printable);
}

export const EXIT = {
  OK: 0,
  /** A command (or plan step) failed, timed out or was cancelled. */
  FAILED: 1,
  /** Bad input: unreadable or invalid plan, bad option, unknown id. */
  BAD_INPUT: 2,
  /** `exec`/`sh`: the command timed out (as `timeout(1)` reports it). */
  TIMEOUT: 124,
  /** `exec`/`sh`: the program could not be started (as shells report it). */
  CANNOT_RUN: 127,
  INTERRUPTED: 130,
} as const;

/** Raised by subcommands to end with a message and an exit code. */
export class CliExit extends Error {
  constructor(
    readonly exitCode: number,
    message = '',
  ) {
    super(message);
  }
}

/** Print what went wrong on stderr and return the exit code it deserves. */
export function reportError(err: unknown, stderr: NodeJS.WritableStream = process.stderr): number {
  if (err instanceof CliExit) {
    if (err.message) stderr.write(`cloudops-exec: ${lines(err.message).join('\n')}\n`);
    return err.exitCode;
  }
  if (err instanceof PlanFileError) {
    stderr.write(
      `cloudops-exec: invalid plan\n${lines(err.message)
        .map((l) => `  ${l}`)
        .join('\n')}\n`,
    );
    return EXIT.BAD_INPUT;
  }
  if (err instanceof ValidationError) {
    stderr.write(
      `cloudops-exec: ${err.issues.length > 1 ? `${err.issues.length} problems:\n  ` : ''}${err.issues.map((i) => printable(`${i.field ? `${i.field}: ` : ''}${i.reason} [${i.code}]`)).join('\n  ')}\n`,
    );
    return EXIT.BAD_INPUT;
  }
  if (err instanceof ExecutionError && err.code === 'DuplicateId') {
    // A plan file with fixed ids that ran before: its earlier logs and history are kept, never overwritten.
    stderr.write(
      `cloudops-exec: ${lines(err.message).join('\n')} [DuplicateId]\n` +
        '  to run a plan file with fixed ids again, give it fresh ones: cloudops-exec run --new-ids PLAN\n',
    );
    return EXIT.FAILED;
  }
  // Nothing ran: an unknown id, or a run that cannot be resumed as asked (the reason says why).
  if (err instanceof ExecutionError && (err.code === 'NotFound' || err.code === 'NotResumable')) {
    stderr.write(`cloudops-exec: ${lines(err.message).join('\n')}\n`);
    return EXIT.BAD_INPUT;
  }
  stderr.write(`cloudops-exec: ${lines(err instanceof Error ? err.message : String(err)).join('\n')}\n`);
  return EXIT.FAILED;
}

/** `exec` / `sh` exit with the command's own code where there is one. */
export function exitCodeOf(result: ExecutionResult): number {
  switch (result.status) {
    case 'completed':
      return EXIT.OK;
    case 'timeout':
      return EXIT.TIMEOUT;
    case 'cancelled':
      return EXIT.INTERRUPTED;
    default:
      if (result.exit_code > 0) return Math.min(result.exit_code, 255);
      if (result.signal) return 128 + (signalNumber(result.signal) ?? 1);
      return result.error_code === 'spawn_failed' ? EXIT.CANNOT_RUN : EXIT.FAILED;
  }
}

function signalNumber(name: string): number | undefined {
  const signals: Record<string, number> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGABRT: 6,
    SIGKILL: 9,
    SIGSEGV: 11,
    SIGPIPE: 13,
    SIGTERM: 15,
  };
  return signals[name];
}
