/**
 * Resuming a plan run: a new run of the same plan, linked to the earlier one (its
 * `resumed_from`), that carries the steps which completed there over (their results and
 * outputs; nothing of them runs again) and runs the others. Two halves, so that what an approver
 * sees is what starts:
 * - `resumePlanOf` writes the new plan, naming the steps it carries over;
 * - `carriedResults` checks such a plan against the run it names, just before it starts, and
 *   gives the carried steps' results. A plan naming steps that did not complete there, or
 *   that are not the steps that ran, is refused.
 */
import { randomUUID } from 'node:crypto';
import { ExecutionError, type NotResumableReason, ValidationError } from '../errors.js';
import type { ExecutionRecord } from '../history/store.js';
import { didYouMean } from '../nearest-name.js';
import { redactData } from '../policy/redact-data.js';
import { REDACTED } from '../policy/redaction.js';
import { shapeOf } from '../scheduler/dag.js';
import { canonicalJson } from '../wire/canonical-json.js';
import { parsePlan } from '../wire/parse.js';
import { stepIndex, stepLabel, stepNames } from '../wire/step-names.js';
import type { ExecutionPlan, ExecutionRequest, ExecutionResult, ExecutionStatus } from '../wire/types.js';
import { resultOfRecord } from './history-replay.js';
import type { TrackedPlan } from './tracked.js';

/** A finished plan run, as a resume reads it: from this engine's memory, or from the history. */
export interface PastRun {
  plan: ExecutionPlan;
  status: ExecutionStatus;
  /** How each step ended, by index (null: no result of it is known). */
  results: (ExecutionResult | null)[];
  /** Read from the history. */
  fromHistory: boolean;
  /** Its recorded plan has secret values hidden (`***`: the history hid them when it recorded the run). */
  hidesSecrets: boolean;
  /** Per step: one of its rollback commands started, so its effect may be partly undone: never carried over. */
  undoStarted: boolean[];
  /** A rollback of the run is under way: nothing can be carried over from it until it ends. */
  rollingBack: boolean;
  /**
   * Per step: where an engine that died may have left it queued or running (`local`, or
   * `queue:NAME`), with nothing ending it since; null when nothing of it can be running.
   */
  leftAt: (string | null)[];
}

/** Where a resume starts: every step that did not complete (`failed`), or a step by name or index. */
export type ResumeFrom = 'failed' | string | number;

export interface ResumeOptions {
  /** Default `failed`: run the steps that did not complete. A step: it and every step after it, by dependency, run again. */
  from?: ResumeFrom;
  /** The new run's id (default: a new one). */
  id?: string;
  /**
   * The plan again, as first submitted (ids aside). Needed when the run is read from the
   * history and its recorded plan has secret values hidden; it must be the same plan.
   */
  plan?: ExecutionPlan;
}

const refuse = (id: string, reason: NotResumableReason, detail: string) =>
  ExecutionError.create('NotResumable', { id, reason, detail });

/** The queue where a dead engine left steps could not be reached to end them. */
export const leftoversUnreachable = (id: string, place: string, err: unknown) =>
  refuse(
    id,
    'step_maybe_running',
    `steps it left on ${place} may still be queued or running, and the queue could not be reached to end them (${err instanceof Error ? err.message : String(err)}); try again once it can`,
  );

export const resumedAlready = (id: string, by: string) =>
  refuse(id, 'resumed_already', `it was resumed already, as plan ${by}: resume that run instead`);

/** Only plan runs are resumed: a single command is simply run again. */
export const notAPlan = (id: string) =>
  refuse(id, 'not_a_plan', 'it is a single command, not a plan run: run the command again instead');

const active = (status: ExecutionStatus) => status === 'pending' || status === 'running';

/** The run tracked by this engine; `tracked` finds the rollback commands it started. */
export function pastRunOfTracked(
  state: TrackedPlan,
  tracked: (id: string) => { status: ExecutionStatus } | undefined,
): PastRun {
  if (!state.result) {
    throw refuse(state.id, 'not_finished', `it is ${state.status}; wait for it to finish or cancel it first`);
  }
  const undo = state.plan.commands.map((c) => c.rollback.map((r) => tracked(r.id)).filter((r) => r !== undefined));
  return {
    plan: state.plan,
    status: state.status,
    results: state.commands.map((c) => c.result),
    fromHistory: false,
    hidesSecrets: false,
    undoStarted: undo.map((list) => list.length > 0),
    rollingBack: undo.some((list) => list.some((r) => active(r.status))),
    // Its commands all ended here: none runs anywhere any more.
    leftAt: state.commands.map(() => null),
  };
}

/**
 * The run as the history recorded it: the plan's record and its steps' (and rollback steps')
 * records. `ended`: steps whose leftovers this engine has ended since (`endLeftovers`).
 */
export function pastRunOfRecords(
  record: ExecutionRecord,
  steps: readonly ExecutionRecord[],
  ended: ReadonlySet<string> = new Set(),
): PastRun {
  if (record.kind !== 'plan' || record.plan === null) throw notAPlan(record.id);
  if (active(record.status)) {
    throw refuse(record.id, 'not_finished', `it is ${record.status}; wait for it to finish or cancel it first`);
  }
  // A plan recorded by an older version lacks fields added since: read it as this one would.
  const plan = readRecordedPlan(record.plan);
  const byId = new Map(steps.map((s) => [s.id, s]));
  const records = plan.commands.map((command) => byId.get(command.id));
  const undo = plan.commands.map((c) => c.rollback.flatMap((r) => byId.get(r.id) ?? []));
  return {
    plan,
    status: record.status,
    results: records.map((step) => (step && !active(step.status) ? resultOfRecord(step) : null)),
    fromHistory: true,
    hidesSecrets: canonicalJson(plan).includes(REDACTED),
    undoStarted: undo.map((list) => list.length > 0),
    rollingBack: undo.some((list) => list.some((r) => active(r.status))),
    leftAt: records.map((step) => (step && !ended.has(step.id) ? leftBehindAt(step) : null)),
  };
}

function readRecordedPlan(plan: ExecutionPlan): ExecutionPlan {
  try {
    return parsePlan(plan, { allow_unknown_fields: true });
  } catch {
    return plan; // compared as recorded
  }
}

/**
 * Where a step may still be queued or running with nothing ending it, or null. On a queue, a
 * step an engine that died had submitted (interrupted), or whose outcome its engine never heard
 * (`queue_unavailable`): its job may still be queued or running on a worker. Here, a step an
 * engine that died had started before its process group was recorded (the next engine ended
 * the ones it knew of).
 */
function leftBehindAt(step: ExecutionRecord): string | null {
  const place = step.place ?? 'local';
  if (place !== 'local') return step.status === 'interrupted' || step.error_code === 'queue_unavailable' ? place : null;
  return step.status === 'interrupted' && step.started_at !== null && step.process_group === null ? place : null;
}

/**
 * The plan as compared between runs: everything but the ids (a plan file without ids gets new
 * ones) and the metadata (who submitted it, from which conversation: not what runs).
 */
function planFace(plan: ExecutionPlan): string {
  const withoutIds = (request: ExecutionRequest): unknown => ({
    ...request,
    id: null,
    metadata: null,
    rollback: request.rollback.map((step) => ({ ...step, id: null, metadata: null })),
  });
  return canonicalJson({
    ...plan,
    id: null,
    metadata: null,
    resumed_from: null,
    commands: plan.commands.map(withoutIds),
  });
}

/** As the history recorded it: secret values hidden the same way (when it hid them). */
const asRecorded = <T>(value: T, plan: ExecutionPlan, past: PastRun): T =>
  redactData(value, { redact_secrets: past.hidesSecrets }, [plan]);

/** The plan of `run` as it compares with the run it resumes (recorded the same way). */
const faceAsRecorded = (plan: ExecutionPlan, past: PastRun) =>
  planFace(past.fromHistory ? asRecorded(plan, plan, past) : plan);

/** The plan a resume runs again: the recorded one, or the one given again (checked to be the same). */
function basePlan(past: PastRun, given: ExecutionPlan | undefined): ExecutionPlan {
  const hidden = past.hidesSecrets && canonicalJson(past.plan).includes(REDACTED);
  if (!given) {
    if (hidden) {
      throw refuse(
        past.plan.id,
        'secrets_hidden',
        'its recorded plan has secret values hidden; give the plan again (the same plan file, with the same parameters)',
      );
    }
    return past.plan;
  }
  if (faceAsRecorded(given, past) !== planFace(past.plan)) {
    throw refuse(past.plan.id, 'plan_differs', 'the plan given is not the one that ran (ids and metadata aside)');
  }
  return given;
}

/** Each step and the steps after it by dependency (all later ones in a serial plan; its dependents in a graph). */
function withDependents(plan: ExecutionPlan, from: number): Set<number> {
  const { deps } = shapeOf(plan.strategy, plan);
  const out = new Set([from]);
  // Dependencies point to lower or higher indices: repeat until nothing is added.
  let grew = true;
  while (grew) {
    grew = false;
    deps.forEach((list, node) => {
      if (!out.has(node) && list.some((d) => out.has(d))) {
        out.add(node);
        grew = true;
      }
    });
  }
  return out;
}

/** The index `from` names; a name that is not a step's gets the nearest one. */
function fromIndex(plan: ExecutionPlan, from: string | number): number {
  const index = stepIndex(plan, from);
  if (index !== null) return index;
  const count = plan.commands.length;
  const reason =
    typeof from === 'number' || /^\d+$/.test(from)
      ? `step index ${from} is out of range (the plan has ${count} steps: 0..${count - 1})`
      : `no step is named "${from}"${didYouMean(from, stepNames(plan))}`;
  throw ValidationError.of('InvalidField', 'from', reason);
}

/** A carried step's recorded outputs must be whole: a hidden secret would be passed on as `***`. */
function assertOutputsWhole(past: PastRun, index: number): void {
  const outputs = past.results[index]?.outputs ?? {};
  if (!past.fromHistory || !Object.values(outputs).some((v) => v.includes(REDACTED))) return;
  const label = stepLabel(past.plan, index);
  throw refuse(
    past.plan.id,
    'output_hidden',
    `step ${label}'s recorded outputs have a secret value hidden in them; resume from it to run it again (from ${label})`,
  );
}

/**
 * The plan that resumes `past`: the same plan under new ids, carrying over every step that
 * completed there and is not to run again.
 */
export function resumePlanOf(past: PastRun, options: ResumeOptions = {}): ExecutionPlan {
  assertNoRollback(past);
  const base = basePlan(past, options.plan);
  const from = options.from ?? 'failed';
  const rerun = new Set(base.commands.flatMap((_, i) => (carriable(past, i) ? [] : [i])));
  if (from === 'failed') {
    if (rerun.size === 0) {
      throw refuse(
        past.plan.id,
        'nothing_to_run',
        'every step completed; name a step to run it and the steps after it again',
      );
    }
  } else {
    for (const index of withDependents(base, fromIndex(base, from))) rerun.add(index);
  }
  const carried = base.commands.flatMap((_, i) => (rerun.has(i) ? [] : [i]));
  for (const index of carried) assertOutputsWhole(past, index);
  const fresh = (request: ExecutionRequest): ExecutionRequest => ({
    ...request,
    id: randomUUID(),
    rollback: request.rollback.map((step) => ({ ...step, id: randomUUID() })),
  });
  return {
    ...base,
    id: options.id ?? randomUUID(),
    commands: base.commands.map(fresh),
    resumed_from: { plan_id: past.plan.id, carried },
  };
}

/** Completed there, and not (even partly) undone by a rollback since. */
function carriable(past: PastRun, index: number): boolean {
  return past.results[index]?.status === 'completed' && !past.undoStarted[index];
}

function assertNoRollback(past: PastRun): void {
  if (past.rollingBack)
    throw refuse(past.plan.id, 'rollback_running', 'its rollback is under way; wait for it to end, then resume');
}

/** A step to run again must not still be queued or running where an engine that died left it. */
function assertNotLeft(past: PastRun, index: number): void {
  const place = past.leftAt[index];
  if (place === null || place === undefined) return;
  const label = stepLabel(past.plan, index);
  throw refuse(
    past.plan.id,
    'step_maybe_running',
    place === 'local'
      ? `step ${label} was started by an engine that died before its process was recorded: it may still be running on this machine, and running it again could run it twice`
      : `step ${label} may still be queued or running on ${place}, where the engine that submitted it died: resume with an engine on that queue (it takes the job out, or has its worker stop it, first)`,
  );
}

/**
 * The results of the steps `plan` carries over from `past` (by index), each marked with the
 * execution that ran it. Refused unless `plan` is the plan that ran (ids and metadata aside:
 * the same steps, strategy and parameter values), each carried step completed there and was
 * not undone since, and no step that will run may still be running from that run.
 */
export function carriedResults(plan: ExecutionPlan, past: PastRun): Map<number, ExecutionResult> {
  assertNoRollback(past);
  if (faceAsRecorded(plan, past) !== planFace(past.plan)) {
    throw refuse(
      past.plan.id,
      'plan_differs',
      'the plan is not the one that ran (ids and metadata aside, steps, strategy and parameter values must be the same)',
    );
  }
  const carried = new Map<number, ExecutionResult>();
  const indices = new Set(plan.resumed_from?.carried ?? []);
  for (const index of indices) {
    const result = past.results[index];
    const label = index < plan.commands.length ? stepLabel(plan, index) : `#${index}`;
    if (index >= past.plan.commands.length) {
      throw refuse(
        past.plan.id,
        'step_not_completed',
        `step ${label} is not a step of that run (it has ${past.plan.commands.length})`,
      );
    }
    if (result?.status !== 'completed') {
      throw refuse(
        past.plan.id,
        'step_not_completed',
        `step ${label} ${result ? `ended ${result.status}` : 'did not run'} there: it cannot be carried over`,
      );
    }
    if (past.undoStarted[index]) {
      throw refuse(past.plan.id, 'step_undone', `step ${label}'s rollback ran there: it cannot be carried over`);
    }
    assertOutputsWhole(past, index);
    carried.set(index, { ...result, carried_from: result.carried_from ?? result.id });
  }
  plan.commands.forEach((_, index) => {
    if (!indices.has(index)) assertNotLeft(past, index);
  });
  return carried;
}
