/**
 * One attempt of a started command: the executor runs it (here or on a worker); its output
 * goes, redacted, to the log, the in-memory capture and the event bus; the outcome is judged.
 */

import { awsRunSettings } from '../command/aws.js';
import type { AttemptObserver, OutputChunk } from '../executor/contract.js';
import { lineRedactor } from '../policy/redaction.js';
import { OutputCapture } from '../sinks/output-capture.js';
import type { Attempt } from '../wire/types.js';
import type { CommandContext } from './command-context.js';
import type { Ending } from './command-finish.js';
import { type CommandRun, markStarted } from './command-start.js';
import { judge } from './judge.js';
import { resetOutputs } from './step-outputs.js';

/** How attempt `attempt` ended, with its output; `endedAt` is when its process ended. */
export interface AttemptEnding {
  ending: Ending;
  /** Whether its process exited on its own (only such a failure is retried). */
  exited: boolean;
  /** Whether a process ran at all (an attempt cancelled in the queue never did). */
  ran: boolean;
  startedAt: Date;
  endedAt: Date;
}

export async function runAttempt(
  ctx: CommandContext,
  run: CommandRun,
  attempt: number,
  previous: Attempt[],
): Promise<AttemptEnding> {
  const { config } = ctx;
  const { state, log, redact } = run;
  let stdout = new OutputCapture(config.max_output_bytes);
  let stderr = new OutputCapture(config.max_output_bytes);
  const redactLines = lineRedactor(state.secrets);
  const observer: AttemptObserver = {
    started: () => markStarted(ctx, state),
    output: (chunk: OutputChunk) => {
      (chunk.stream === 'stdout' ? stdout : stderr).append(chunk.data);
      const lines = redactLines ? redactLines(chunk.lines) : chunk.lines;
      if (config.stream_output && lines.count > 0 && ctx.wantsLines(state)) {
        for (const line of lines.texts())
          ctx.publish(state, { event_type: chunk.stream, execution_id: state.id, line, timestamp: chunk.timestamp });
      }
      state.linesLogged += lines.count;
      return log.append(chunk.stream, lines, chunk.timestamp);
    },
    spawned: (pid, what) => {
      state.spawned(pid);
      log.note(redact(`spawned pid ${pid}: ${what}`));
    },
    note: (text) => log.note(redact(text)),
    restarted: (reason) => {
      // The result describes the run that ends the attempt; the log keeps both.
      stdout = new OutputCapture(config.max_output_bytes);
      stderr = new OutputCapture(config.max_output_bytes);
      log.note(redact(reason));
      ctx.publish(state, {
        event_type: 'retrying',
        execution_id: state.id,
        // The executor runs this attempt once more, at once: counted against the retry policy's total,
        // or as one more run when there is none.
        attempt,
        max_attempts: Math.max((state.request.retry ?? config.retry)?.max_attempts ?? 1, attempt + 1),
        delay_ms: 0,
        reason,
        timestamp: new Date().toISOString(),
      });
    },
  };
  // Each attempt writes its own outputs: lines a failed one left are not read as this one's.
  if (attempt > 1) await resetOutputs(state);
  const outcome = await ctx.executor.run(
    {
      executionId: state.id,
      planId: state.planId,
      request: state.request,
      attempt,
      timeoutMs: run.timeoutMs,
      logPath: state.logPath,
      maxOutputBytes: config.max_output_bytes,
      signal: state.abort.signal,
      keepTogether: run.keepTogether,
      aws: awsRunSettings(config),
    },
    observer,
  );
  const judged = judge(outcome, run.timeoutMs);
  const failure = judged.failure && { ...judged.failure, error: redact(judged.failure.error) };
  // The log says why whenever the command did not end by itself, and whether its tree was stopped.
  const stopped = (outcome.end === 'timeout' || outcome.end === 'cancelled') && outcome.ran && outcome.detail === null;
  if (stopped) log.note(`${failure?.error}; process tree signalled`);
  else if (failure && outcome.end !== 'exited') log.note(failure.error);
  // An executor that streams whole lines reports the exact output apart; else the chunks were exact.
  const exact = outcome.output;
  return {
    ending: {
      ...judged,
      failure,
      stdout: redact(exact ? exact.stdout : stdout.text(state.logPath, run.keepTogether)),
      stderr: redact(exact ? exact.stderr : stderr.text(state.logPath, run.keepTogether)),
      truncated: exact ? [exact.stdout_truncated, exact.stderr_truncated] : [stdout.truncated, stderr.truncated],
      // A process that could not be spawned counts as tried; a job withdrawn from the queue does not.
      attempts: outcome.ran || outcome.end === 'spawn_failed' ? attempt : attempt - 1,
      previous,
    },
    exited: outcome.end === 'exited',
    ran: outcome.ran,
    startedAt: outcome.startedAt,
    endedAt: outcome.endedAt,
  };
}
