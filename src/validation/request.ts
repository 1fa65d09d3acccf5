/**
 * Checks that need the engine's config or the file system, after the schema has accepted
 * the shape: timeout bounds, working directory, script file and interpreter (the last
 * three on the machine that will run the command).
 */
import { stat } from 'node:fs/promises';
import { forExecutor } from '../command/aws.js';
import { fileKind, readShebang, scriptPathOf } from '../command/script.js';
import type { ExecutionConfig } from '../config.js';
import { ValidationError, type ValidationIssue } from '../errors.js';
import { retryPatternIssues } from '../policy/retry.js';
import { hasReferences } from '../wire/references.js';
import type { ExecutionRequest } from '../wire/types.js';
import { standaloneReferenceIssues } from './plan-references.js';

/** All problems with `request` under `config`; `prefix` locates it inside a plan (`commands[2].`). */
export async function requestIssues(
  request: ExecutionRequest,
  config: ExecutionConfig,
  prefix = '',
): Promise<ValidationIssue[]> {
  const issues: ValidationIssue[] = [];
  if (request.timeout_ms !== null && request.timeout_ms > config.max_timeout_ms) {
    issues.push({
      code: 'TimeoutTooLarge',
      field: `${prefix}timeout_ms`,
      reason: `${request.timeout_ms}ms > ${config.max_timeout_ms}ms`,
    });
  }
  // Queued work runs on a worker's machine: its files are checked there, not here.
  // Client paths are only stat()ed, or opened without blocking (readShebang): a FIFO or a
  // device must not hold one of libuv's I/O threads.
  const local = config.redis === null;
  // A directory named by a reference (`${{ ... }}`) is only known when the step starts.
  if (local && request.working_dir !== null && !hasReferences(request.working_dir)) {
    const dir = request.working_dir;
    const info = await stat(dir).catch((err: NodeJS.ErrnoException) => err);
    if (info instanceof Error) {
      issues.push({
        code: 'InvalidWorkingDir',
        field: `${prefix}working_dir`,
        reason: `${dir} (${info.code === 'ENOENT' ? 'does not exist' : info.code})`,
      });
    } else if (!info.isDirectory()) {
      issues.push({
        code: 'InvalidWorkingDir',
        field: `${prefix}working_dir`,
        reason: `${dir} (not a directory: ${fileKind(info)})`,
      });
    }
  }
  // The log is opened for writing when the command starts, and opening a FIFO for writing
  // waits for a reader: only a regular file (or none yet) will do.
  if (local && request.output_log_path !== null) {
    const path = request.output_log_path;
    const info = await stat(path).catch(() => null);
    if (info && !info.isFile()) {
      issues.push({
        code: 'InvalidField',
        field: `${prefix}output_log_path`,
        reason: `${path} is not a regular file (${fileKind(info)})`,
      });
    }
  }
  // Client regexes must compile in RE2 (checked off the event loop, so not in the schema).
  if (request.retry)
    issues.push(...(await retryPatternIssues(request.retry.retryable_errors, `${prefix}retry.retryable_errors`)));
  const command = request.command;
  try {
    forExecutor(command, config.default_executor);
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    issues.push(...err.issues.map((i) => ({ ...i, field: `${prefix}${i.field}` })));
  }
  if (local && command.type === 'script') {
    try {
      const shebang = await readShebang(scriptPathOf(command.path, request.working_dir));
      if (!shebang && !command.interpreter) {
        issues.push({
          code: 'InvalidCommand',
          field: `${prefix}command.interpreter`,
          reason: `script ${command.path} has no #! line; set "interpreter" (e.g. "bash" or "python3")`,
        });
      }
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      issues.push(...err.issues.map((i) => ({ ...i, field: `${prefix}${i.field}` })));
    }
  }
  return issues;
}

export async function validateRequest(request: ExecutionRequest, config: ExecutionConfig): Promise<void> {
  const issues = [...(await requestIssues(request, config)), ...standaloneReferenceIssues(request)];
  if (issues.length > 0) throw new ValidationError(issues);
}
