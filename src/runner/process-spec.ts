/** The process to spawn for a resolved invocation, with the environment it runs in. */
import type { Invocation } from '../command/invocation.js';
import type { ExecutionRequest } from '../wire/types.js';
import type { ProcessSpec } from './process.js';

/**
 * What to spawn for `invocation` on behalf of `request`: the inherited environment, then
 * what the command type sets, then the request's own variables (the request wins).
 */
export function processSpecOf(
  invocation: Invocation,
  request: Pick<ExecutionRequest, 'env' | 'working_dir'>,
): ProcessSpec {
  return {
    file: invocation.file,
    args: invocation.args,
    // Nothing added: let the child inherit the environment instead of copying it per spawn.
    env:
      invocation.env === undefined && Object.keys(request.env).length === 0
        ? undefined
        : { ...process.env, ...invocation.env, ...request.env },
    cwd: request.working_dir ?? undefined,
  };
}
