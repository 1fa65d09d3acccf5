/** What an attempt's outcome means for the command: its status and, unless it succeeded, why. */
import { resultError } from '../errors.js';
import type { AttemptOutcome } from '../executor/contract.js';
import type { Judgement } from './command-finish.js';

export function judge(outcome: AttemptOutcome, timeoutMs: number): Judgement {
  const signal = outcome.signal;
  const exitCode = outcome.exitCode ?? -1;
  const failed = (failure: Judgement['failure'], status: Judgement['status'] = 'failed'): Judgement => ({
    status,
    exitCode,
    signal,
    failure,
  });
  switch (outcome.end) {
    case 'spawn_failed':
      return {
        status: 'failed',
        exitCode: -1,
        signal: null,
        failure: resultError('spawn_failed', { detail: outcome.detail ?? undefined }),
      };
    case 'timeout':
      return failed(resultError('timeout', { timeoutMs }), 'timeout');
    case 'cancelled':
      return failed(resultError('cancelled', { detail: outcome.detail ?? undefined }), 'cancelled');
    case 'queue_unavailable':
      return failed(resultError('queue_unavailable', { detail: outcome.detail ?? undefined }));
    case 'worker_lost':
      return failed(resultError('worker_lost', { detail: outcome.detail ?? undefined }));
    case 'exited':
      if (outcome.exitCode === 0) return { status: 'completed', exitCode: 0, signal: null, failure: null };
      if (outcome.exitCode === null)
        return { status: 'failed', exitCode: -1, signal, failure: resultError('signal', { signal }) };
      return { status: 'failed', exitCode, signal: null, failure: resultError('exit', { exitCode }) };
  }
}
