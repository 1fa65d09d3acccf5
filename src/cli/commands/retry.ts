/**
 * `retry PLAN_ID`: resume a plan run that did not complete (failed, cancelled, or interrupted
 * by an engine that died), as `run` runs a plan: a new run of the same plan in which the
 * steps that completed are carried over (not run again; their outputs still feed later steps)
 * and the others run. `--from STEP` runs that step and every step after it again. The run is
 * read from this machine's history (the log directory's); `--approve-via` asks a server to
 * resume one of its runs instead, under its approval rules.
 */
import { createEngine } from '../../create-engine.js';
import { ValidationError } from '../../errors.js';
import { printable } from '../../sinks/control-chars.js';
import { engineConfig } from '../engine-config.js';
import { CliExit, EXIT } from '../exit.js';
import { parsePlanSource, readPlanSource } from '../plan-file.js';
import { resumeLine } from '../views/view.js';
import { resolveId } from './logs.js';
import { assertNoEngineOptions, type RunOptions, runHere, withParams } from './run.js';
import { resumeViaServer } from './run-remote.js';

export interface RetryOptions extends RunOptions {
  /** A step (name or index): it and the steps after it run again. Default: the steps that did not complete. */
  from?: string;
  /** The plan file again, when the recorded plan has secret values hidden. */
  plan?: string;
}

export async function retryCommand(
  planId: string,
  options: RetryOptions,
  given: (key: string) => boolean = (key) => (options as Record<string, unknown>)[key] !== undefined,
): Promise<number> {
  assertNoEngineOptions(options, given);
  if (options.param !== undefined && options.plan === undefined)
    throw new CliExit(
      EXIT.BAD_INPUT,
      '--param goes with --plan: a resumed run has the parameter values of the run it resumes, and a plan given again must have the same ones. Nothing ran.',
    );
  if (options.approveVia !== undefined && !options.dryRun) {
    if (options.plan !== undefined)
      throw new CliExit(
        EXIT.BAD_INPUT,
        '--plan cannot be used with --approve-via: the server resumes its own record of the run. Nothing was submitted.',
      );
    return resumeViaServer(planId, options.from, options);
  }
  const id = await resolveId(planId, options);
  const config = engineConfig(options);
  const engine = createEngine(config);
  let plan: Awaited<ReturnType<typeof engine.prepareResume>>;
  try {
    const given =
      options.plan === undefined
        ? undefined
        : withParams(parsePlanSource(await readPlanSource(options.plan), config, options), options.param);
    plan = await engine.prepareResume(id, { from: options.from, plan: given });
  } catch (err) {
    await engine.shutdown();
    if (err instanceof ValidationError && err.field === 'from')
      throw new CliExit(EXIT.BAD_INPUT, `--from ${printable(options.from ?? '')}: ${err.reason}. Nothing ran.`);
    throw err;
  }
  (options.json ? process.stderr : process.stdout).write(`${resumeLine(plan, id)}\n`);
  return runHere(engine, plan, { name: `resume of ${id}`, text: JSON.stringify(plan, null, 2) }, options);
}
