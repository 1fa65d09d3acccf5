/**
 * The local executor: resolves what to spawn for a command and runs it here, as a contained
 * process tree (runner/process). Used by the engine directly, and by a queue worker for the
 * attempts it takes from the queue.
 */

import type { ExecutorType } from '../command/aws.js';
import { resolveInvocation } from '../command/invocation.js';
import { describeIssue, ValidationError } from '../errors.js';
import type { ContainmentSetting } from '../runner/process.js';
import { runProcess } from '../runner/process.js';
import { processSpecOf } from '../runner/process-spec.js';
import { stopSpawnServer } from '../runner/spawn-server.js';
import type { AttemptObserver, AttemptOutcome, AttemptSpec, CommandExecutor } from './contract.js';

/** The part of the engine's configuration that decides how commands are spawned here. */
export interface LocalExecutorConfig {
  aws_cli_path: string;
  default_executor: ExecutorType;
  kill_grace_ms: number;
  process_containment: ContainmentSetting;
  max_line_bytes: number;
}

export class LocalExecutor implements CommandExecutor {
  constructor(private readonly config: LocalExecutorConfig) {}

  async run(attempt: AttemptSpec, observer: AttemptObserver): Promise<AttemptOutcome> {
    const { config } = this;
    const { request } = attempt;
    const cancelled = (): AttemptOutcome => {
      const now = new Date();
      return { end: 'cancelled', exitCode: null, signal: null, detail: null, ran: false, startedAt: now, endedAt: now };
    };
    // Cancelled before it could start (a cancel right after submission): nothing is spawned.
    if (attempt.signal.aborted) return cancelled();
    observer.started();
    let invocation;
    try {
      invocation = await resolveInvocation(request.command, {
        awsCliPath: config.aws_cli_path,
        executor: config.default_executor,
        // The run's settings, never this machine's own: a queue worker sends AWS calls where the
        // submitting engine would (an endpoint variable in the request's env applies too).
        awsEndpointUrl: attempt.aws.endpoint_url,
        awsProfile: attempt.aws.profile,
        awsRegion: attempt.aws.region,
        processEnv: attempt.aws.endpoint_env,
        requestEnv: request.env,
        workingDir: request.working_dir,
      });
    } catch (err) {
      // A script without a #! line, an SDK call the CLI cannot express, ...: it cannot start.
      const now = new Date();
      const detail = err instanceof ValidationError ? describeIssue(err.issues[0]!) : (err as Error).message;
      return { end: 'spawn_failed', exitCode: null, signal: null, detail, ran: false, startedAt: now, endedAt: now };
    }
    if (attempt.signal.aborted) return cancelled();
    const outcome = await runProcess(processSpecOf(invocation, request), {
      timeoutMs: attempt.timeoutMs,
      killGraceMs: config.kill_grace_ms,
      containment: config.process_containment,
      maxLineBytes: config.max_line_bytes,
      keepTogether: attempt.keepTogether,
      signal: attempt.signal,
      onOutput: (chunk) => observer.output(chunk),
      onSpawn: (pid) => observer.spawned(pid, [invocation.file, ...invocation.args].join(' ')),
    });
    return {
      end: outcome.reason,
      exitCode: outcome.exitCode,
      signal: outcome.signal,
      detail: outcome.spawnError ? outcome.spawnError.message : null,
      ran: outcome.reason !== 'spawn_failed',
      startedAt: outcome.startedAt,
      endedAt: outcome.endedAt,
    };
  }

  async close(): Promise<void> {
    // Every process ends with its attempt. The spawn server (shared by the engines of this
    // process) exits once idle; another engine's next command starts a new one.
    stopSpawnServer();
  }
}
