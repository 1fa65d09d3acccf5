/**
 * `run PLAN`: execute a plan file with live progress. Before anything runs, the plan's risk is
 * shown (the engine's assessment); `modify` and `destructive` work asks for confirmation on a
 * terminal, and destructive work off a terminal needs `--yes`. `--dry-run` previews instead
 * (see plan-preview.ts); `--approve-via` hands the plan to a server's approvals (run-remote.ts).
 */
import type { Command } from 'commander';
import { logDirOf } from '../../config.js';
import { createEngine } from '../../create-engine.js';
import { ExecutionError, ValidationError } from '../../errors.js';
import { printable } from '../../sinks/control-chars.js';
import { validatePlan } from '../../validation/plan.js';
import type { RiskLevel } from '../../vocabulary.js';
import type { ExecutionPlan } from '../../wire/types.js';
import { engineConfig } from '../engine-config.js';
import { CliExit, EXIT } from '../exit.js';
import { cancelOnInterrupt } from '../interrupt.js';
import type { EngineOptions } from '../options.js';
import { locateIssues, type PlanSource, parsePlanSource, readPlanSource } from '../plan-file.js';
import { colorEnabled, makeStyle } from '../style.js';
import { JsonView } from '../views/json-view.js';
import { PlainView } from '../views/plain-view.js';
import { riskSummary, shortId } from '../views/risk-summary.js';
import { TtyView } from '../views/tty-view.js';
import { type RunView, setLogDirHint } from '../views/view.js';
import { watchForWorker } from '../worker-watch.js';
import { askLine } from './approvals.js';
import { previewPlan } from './plan-preview.js';
import { runViaServer } from './run-remote.js';

export interface RunOptions extends EngineOptions {
  json?: boolean;
  color?: boolean;
  /** Run modify and destructive work without asking (scripts). */
  yes?: boolean;
  /** Show what would happen (risk, dry-run verdicts) and run nothing. */
  dryRun?: boolean;
  /** Submit to a running server instead: its URL, or `true` for $CLOUDOPS_SERVER (else the default). */
  approveVia?: string | true;
  /** `--param NAME=VALUE`, repeatable: values for the plan's parameters (they replace the file's `params`). */
  param?: string[];
}

/** The plan with the `--param` values given: each `NAME=VALUE` sets `params.NAME` (typed by the engine's checks). */
export function withParams(plan: ExecutionPlan, given: readonly string[] = []): ExecutionPlan {
  if (given.length === 0) return plan;
  const params = { ...plan.params };
  for (const entry of given) {
    const eq = entry.indexOf('=');
    if (eq <= 0)
      throw new CliExit(EXIT.BAD_INPUT, `--param ${printable(entry)}: write NAME=VALUE (e.g. --param env_name=prod)`);
    params[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { ...plan, params };
}

/**
 * Options that set how this machine's engine runs the work. Work submitted with --approve-via
 * runs on the server, under the server's settings: none of them could be sent along.
 */
const ENGINE_ONLY = [
  ['endpointUrl', '--endpoint-url'],
  ['profile', '--profile'],
  ['region', '--region'],
  ['redis', '--redis'],
  ['queue', '--queue'],
  ['timeout', '--timeout'],
  ['maxConcurrent', '--max-concurrent'],
  ['killGrace', '--kill-grace'],
  ['awsCli', '--aws-cli'],
] as const;

/** With --approve-via the work runs on the server, under its settings: this machine's engine options are refused. */
export function assertNoEngineOptions(options: RunOptions, given: (key: string) => boolean): void {
  if (options.approveVia === undefined || options.dryRun) return;
  const refused = ENGINE_ONLY.filter(([key]) => given(key)).map(([, flag]) => flag);
  if (refused.length > 0)
    throw new CliExit(
      EXIT.BAD_INPUT,
      `${refused.join(', ')} cannot be used with --approve-via: the server's settings apply to work submitted with --approve-via (it runs there). Nothing was submitted.`,
    );
}

/**
 * `given`: whether an option was given on the command line (not a default); the `run`
 * command's `getOptionValueSource` when called from main.ts.
 */
export async function runCommand(
  file: string,
  options: RunOptions,
  given: (key: string) => boolean = (key) => (options as Record<string, unknown>)[key] !== undefined,
): Promise<number> {
  assertNoEngineOptions(options, given);
  const config = engineConfig(options);
  const source = await readPlanSource(file);
  // `--new-ids`: fresh ids (plan-file.ts); `--param`: parameter values.
  const plan = withParams(parsePlanSource(source, config, options), options.param);
  if (options.approveVia !== undefined && !options.dryRun) return runViaServer(plan, config, options);
  return runHere(createEngine(config), plan, source, { ...options, fromStdin: file === '-' });
}

/**
 * Run `plan` on this machine's `engine` (shut down at the end): its risk shown first, and the
 * question asked for modify and destructive work (see `confirm`); `--dry-run` previews instead.
 * `source` is where the plan was read from, to point at the lines of a bad field.
 */
export async function runHere(
  engine: ReturnType<typeof createEngine>,
  plan: ExecutionPlan,
  source: PlanSource,
  options: RunOptions & { fromStdin?: boolean },
): Promise<number> {
  if (options.dryRun) {
    try {
      return await previewPlan(engine, plan, source, options);
    } finally {
      await engine.shutdown();
    }
  }
  // With --json, stdout is the event stream: the risk and the question go to stderr.
  const info = options.json ? process.stderr : process.stdout;
  try {
    // The engine's own checks first: nobody is asked to confirm a plan that would be refused.
    await validatePlan(plan, engine.config);
    assertNewIds(engine, plan);
    const request = engine.workflow.createApprovalRequest(plan);
    info.write(riskSummary(plan, request, makeStyle(colorEnabled(info, options.color)), undefined));
    await confirm(plan, request.risk_level, { fromStdin: options.fromStdin === true, yes: options.yes === true, info });
  } catch (err) {
    await engine.shutdown();
    if (err instanceof ValidationError) throw locateIssues(source, err);
    throw err;
  }
  return execute(engine, plan, source, options);
}

/** `given` for `runCommand`: options set on the command line (or by an environment variable), not defaults. */
export function givenOn(cmd: Command): (key: string) => boolean {
  return (key) => {
    const source = cmd.getOptionValueSourceWithGlobals(key);
    return source !== undefined && source !== 'default' && source !== 'implied';
  };
}

/**
 * The engine refuses ids its history holds (`DuplicateId`, a plan file with fixed ids run
 * before): the same check, made before anyone is asked to confirm, so no confirmed run is refused.
 */
function assertNewIds(engine: ReturnType<typeof createEngine>, plan: ExecutionPlan): void {
  const history = engine.history;
  if (!history) return;
  const ids = [plan.id, ...plan.commands.flatMap((c) => [c.id, ...c.rollback.map((r) => r.id)])];
  for (const id of ids) if (history.get(id)) throw ExecutionError.create('DuplicateId', { id, reason: 'history' });
}

/** The answers that run work at `level`: the plan's short id, or yes (`y` too for modify). */
export function confirmed(answer: string, level: RiskLevel, planId: string): boolean {
  const typed = answer.trim();
  if (typed === shortId(planId) || typed === planId) return true;
  return level === 'destructive' ? /^yes$/i.test(typed) : /^y(es)?$/i.test(typed);
}

/**
 * Ask before modify and destructive work. On a terminal (stdin to answer, stderr to ask):
 * the prompt. Off a terminal: destructive work needs --yes (exit 2 without it); modify runs
 * (its risk was printed). A declined prompt runs nothing and exits 1. A terminal whose stderr
 * is redirected (`run plan 2>log`) cannot be asked there: it counts as off a terminal, and
 * says so on `info` (where the risk went), since the reason on stderr may go unseen.
 */
async function confirm(
  plan: ExecutionPlan,
  level: RiskLevel,
  how: { fromStdin: boolean; yes: boolean; info: NodeJS.WritableStream },
  stdin: NodeJS.ReadStream = process.stdin,
  stderr: NodeJS.WriteStream = process.stderr,
): Promise<void> {
  if (level === 'read_only' || how.yes) return;
  // A plan read from stdin used it up: nobody can answer there.
  const onTerminal = !how.fromStdin && stdin.isTTY === true && stderr.isTTY === true;
  if (!onTerminal) {
    const unseen = !how.fromStdin && stdin.isTTY === true && how.info !== stderr;
    if (level === 'destructive') {
      const why = unseen
        ? 'when its stderr is not a terminal (no question can be asked)'
        : 'when not run from a terminal';
      const message = `destructive work needs --yes ${why}: nothing ran (read the risk above; add --yes to run it, or --dry-run to preview it)`;
      if (unseen) how.info.write(`${message}\n`);
      throw new CliExit(EXIT.BAD_INPUT, message);
    }
    if (unseen)
      how.info.write(
        'Not asking: stderr is not a terminal, so no question can be shown. Modify work runs as off a terminal (its risk is above); destructive work would need --yes.\n',
      );
    return;
  }
  const id = printable(shortId(plan.id));
  const prompt =
    level === 'destructive'
      ? `This plan is destructive. Type ${id} (its short id) or yes to run it: `
      : `This plan modifies things. Run it? Type y, yes or ${id} [y/N]: `;
  const answer = await askLine(stdin, prompt);
  if (!confirmed(answer, level, plan.id)) {
    const typed = answer.trim();
    throw new CliExit(
      EXIT.FAILED,
      `not confirmed${typed ? ` (you typed "${printable(typed)}")` : ''}. Nothing ran.${level === 'destructive' ? ` Destructive work runs only on ${id} or yes in full.` : ''}`,
    );
  }
}

async function execute(
  engine: ReturnType<typeof createEngine>,
  plan: ExecutionPlan,
  source: Awaited<ReturnType<typeof readPlanSource>>,
  options: RunOptions,
): Promise<number> {
  const out = process.stdout;
  const style = makeStyle(colorEnabled(out, options.color));
  // A terminal that reports no size (some CI ptys) cannot hold a redrawn task list.
  const liveTerminal = out.isTTY && (out.rows ?? 0) > 0 && (out.columns ?? 0) > 0;
  setLogDirHint(logDirOf(engine.config));
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
    await engine.shutdown();
    if (err instanceof ValidationError) throw locateIssues(source, err);
    throw err;
  }
  const interrupt = cancelOnInterrupt(engine, (message) =>
    options.json ? process.stderr.write(`${message}\n`) : view.notice(message),
  );
  watchForWorker(engine, (message) => (options.json ? process.stderr.write(`${message}\n`) : view.notice(message)));
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
