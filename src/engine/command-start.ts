/**
 * A command taking its slot's turn: its log is open. It turns `running` (and `started` goes
 * out) when the executor says the attempt began: at once for a local spawn, when a worker
 * takes it up in queue mode (until then it is still waiting, `pending`).
 */
import { type ResultError, resultError, resultErrorOf } from '../errors.js';
import { redactorFor, secretBytes } from '../policy/redaction.js';
import { LogFile } from '../sinks/log-file.js';
import { RISK_LEVELS } from '../vocabulary.js';
import type { ExecutionRequest } from '../wire/types.js';
import type { CommandContext } from './command-context.js';
import { finishUnstarted } from './command-finish.js';
import { extractOutputs, prepareStep, shownRequest } from './step-outputs.js';
import type { TrackedCommand } from './tracked.js';

/** A started command: what every attempt and the end of it share. */
export interface CommandRun {
  readonly state: TrackedCommand;
  readonly log: LogFile;
  readonly timeoutMs: number;
  /**
   * Redacts the command's secrets from a message. Every message built from the command (a
   * program that cannot start is named in its error) passes here before the log, the events
   * or the result.
   */
  readonly redact: (text: string) => string;
  /** The secrets as bytes: a long-line cut must not split one (redaction runs per piece). */
  readonly keepTogether: readonly Buffer[];
}

/** Open `state`'s log; null if it ended instead (the log could not be opened). */
export async function startCommand(ctx: CommandContext, state: TrackedCommand): Promise<CommandRun | null> {
  const { config } = ctx;
  // References substituted (or the step fails, not started) before anything is shown or logged.
  const written = state.request;
  const unready = (await prepareStep(config, state)) ?? judgedAgain(ctx, state, written);
  if (unready) {
    finishUnstarted(ctx, state, 'failed', { ...unready, error: redactorFor(state.secrets)(unready.error) });
    return null;
  }
  const request = state.request;
  const timeoutMs = request.timeout_ms ?? config.default_timeout_ms;
  const redact = redactorFor(state.secrets);
  const startedAt = new Date().toISOString();
  let log: LogFile;
  try {
    log = await LogFile.open(state.logPath, {
      kind: 'command',
      execution_id: state.id,
      ...(state.planId ? { plan_id: state.planId } : {}),
      engine_pid: String(process.pid),
      command: state.display,
      working_dir: redact(request.working_dir ?? process.cwd()),
      timeout_ms: String(timeoutMs),
      started_at: startedAt,
    });
  } catch (err) {
    const failure = resultErrorOf(err);
    await extractOutputs(state, null);
    finishUnstarted(ctx, state, 'failed', { ...failure, error: redact(failure.error) });
    return null;
  }
  return { state, log, timeoutMs, redact, keepTogether: secretBytes(state.secrets) };
}

/** The executor began its first attempt: the command is running now. Later calls change nothing. */
export function markStarted(ctx: CommandContext, state: TrackedCommand): void {
  if (state.status !== 'pending') return;
  state.start();
  ctx.publish(state, {
    event_type: 'started',
    execution_id: state.id,
    command: state.display,
    name: state.request.name,
    timestamp: state.startedAt!.toISOString(),
  });
}

/**
 * A step whose references were resolved is judged again as it will run: values are single
 * arguments, but an argument can still be an option (`find DIR` with DIR `-delete`). Rated above
 * the level it was admitted (or approved) at, it does not start.
 */
function judgedAgain(ctx: CommandContext, state: TrackedCommand, written: ExecutionRequest): ResultError | null {
  if (state.request === written) return null;
  const judged = ctx.judge(shownRequest(state));
  if (judged === null || RISK_LEVELS.indexOf(judged.level) <= RISK_LEVELS.indexOf(state.risk)) return null;
  const why = judged.reasons.length > 0 ? `: ${judged.reasons.join('; ')}` : '';
  return resultError('risk_raised', {
    detail: `with its references resolved the command is rated ${judged.level}, above the ${state.risk} it was admitted at${why}`,
  });
}
