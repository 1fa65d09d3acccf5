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
  /** Read from the history, where secret values are hidden (`***`). */
  fromHistory: boolean;
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

/** Only plan runs are resumed: a single command is simply run again. */
export const notAPlan = (id: string) =>
  refuse(id, 'not_a_plan', 'it is a single command, not a plan run: run the command again instead');

/** The run tracked by this engine. */
export function pastRunOfTracked(state: TrackedPlan): PastRun {
  if (!state.result) {
    throw refuse(state.id, 'not_finished', `it is ${state.status}; wait for it to finish or cancel it first`);
  }
  return {
    plan: state.plan,
    status: state.status,
    results: state.commands.map((c) => c.result),
    fromHistory: false,
  };
}

/** The run as the history recorded it: the plan's record and its steps' records. */
export function pastRunOfRecords(record: ExecutionRecord, steps: readonly ExecutionRecord[]): PastRun {
  if (record.kind !== 'plan' || record.plan === null) throw notAPlan(record.id);
  if (record.status === 'pending' || record.status === 'running') {
    throw refuse(record.id, 'not_finished', `it is ${record.status}; wait for it to finish or cancel it first`);
  }
  const byId = new Map(steps.map((s) => [s.id, s]));
  const results = record.plan.commands.map((command) => {
    const step = byId.get(command.id);
    return step && step.status !== 'pending' && step.status !== 'running' ? resultOfRecord(step) : null;
  });
  return { plan: record.plan, status: record.status, results, fromHistory: true };
}

/** A step as compared between runs: what it runs and produces, not its id or run-time fields. */
function stepFace(request: ExecutionRequest): string {
  const { name, command, outputs, env, working_dir } = request;
  return canonicalJson({ name, command, outputs, env, working_dir });
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

/** As the history would record it: secret values hidden the same way. */
const asRecorded = <T>(value: T, plan: ExecutionPlan): T => redactData(value, { redact_secrets: true }, [plan]);

/** The plan a resume runs again: the recorded one, or the one given again (checked to be the same). */
function basePlan(past: PastRun, given: ExecutionPlan | undefined): ExecutionPlan {
  const hidden = past.fromHistory && canonicalJson(past.plan).includes(REDACTED);
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
  const face = past.fromHistory ? planFace(asRecorded(given, given)) : planFace(given);
  if (face !== planFace(past.plan)) {
    throw refuse(past.plan.id, 'plan_differs', 'the plan given is not the one that ran (ids aside)');
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
  const base = basePlan(past, options.plan);
  const statuses = base.commands.map((_, i) => past.results[i]?.status ?? 'pending');
  const from = options.from ?? 'failed';
  const rerun = new Set(statuses.flatMap((status, i) => (status === 'completed' ? [] : [i])));
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

/**
 * The results of the steps `plan` carries over from `past` (by index), each marked with the
 * execution that ran it; refused when a step did not complete there or is not the step that ran.
 */
export function carriedResults(plan: ExecutionPlan, past: PastRun): Map<number, ExecutionResult> {
  const carried = new Map<number, ExecutionResult>();
  for (const index of plan.resumed_from?.carried ?? []) {
    const step = plan.commands[index];
    const ran = past.plan.commands[index];
    const result = past.results[index];
    const label = step ? stepLabel(plan, index) : `#${index}`;
    if (!step || !ran) {
      throw refuse(
        past.plan.id,
        'step_differs',
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
    const face = past.fromHistory ? stepFace(asRecorded(step, plan)) : stepFace(step);
    if (face !== stepFace(ran)) {
      throw refuse(
        past.plan.id,
        'step_differs',
        `step ${label} is not the step that ran there: it cannot be carried over`,
      );
    }
    assertOutputsWhole(past, index);
    carried.set(index, { ...result, carried_from: result.carried_from ?? result.id });
  }
  return carried;
}
