/** `run PLAN`: execute a plan file with live progress. */
import { createEngine } from '../../create-engine.js';
import { ValidationError } from '../../errors.js';
import { EXIT } from '../exit.js';
import { cancelOnInterrupt } from '../interrupt.js';
import { type EngineOptions, engineConfig } from '../options.js';
import { locateIssues, parsePlanSource, readPlanSource } from '../plan-file.js';
import { colorEnabled, makeStyle } from '../style.js';
import { JsonView } from '../views/json-view.js';
import { PlainView } from '../views/plain-view.js';
import { TtyView } from '../views/tty-view.js';
import type { RunView } from '../views/view.js';

export interface RunOptions extends EngineOptions {
  json?: boolean;
  color?: boolean;
}

export async function runCommand(file: string, options: RunOptions): Promise<number> {
  const config = engineConfig(options);
  const source = await readPlanSource(file);
  const plan = parsePlanSource(source, config);
  const engine = createEngine(config);
  const out = process.stdout;
  const style = makeStyle(colorEnabled(out, options.color));
  // A terminal that reports no size (some CI ptys) cannot hold a redrawn task list.
  const liveTerminal = out.isTTY && (out.rows ?? 0) > 0 && (out.columns ?? 0) > 0;
  const view: RunView = options.json
    ? new JsonView(out)
    : liveTerminal
      ? new TtyView(plan, out, style)
      : new PlainView(plan, out, style);
  engine.subscribe((event) => view.onEvent(event));

  let planId: string;
  try {
    planId = await engine.executePlan(plan);
  } catch (err) {
    if (err instanceof ValidationError) throw locateIssues(source, err);
    throw err;
  }
  const interrupt = cancelOnInterrupt(engine, (message) =>
    options.json ? process.stderr.write(`${message}\n`) : view.notice(message),
  );
  try {
    const result = await engine.waitPlan(planId);
    view.finish(result);
    if (interrupt.triggered) return EXIT.INTERRUPTED;
    return result.status === 'completed' ? EXIT.OK : EXIT.FAILED;
  } finally {
    interrupt.dispose();
    await engine.shutdown();
  }
}
