/**
 * Dependency graphs over plan command indices: checking them (range, names, self-loops,
 * cycles) and turning each strategy into one graph form the scheduler runs. Dependencies may
 * name steps; they are resolved to indices here, so the scheduler only sees indices.
 */
import type { ValidationIssue } from '../errors.js';
import { didYouMean } from '../nearest-name.js';
import { type NamedSteps, stepIndex, stepNames } from '../wire/step-names.js';
import type { ExecutionStrategy } from '../wire/types.js';

/** `deps[i]` = indices that must finish before `i` starts. */
export type Dependencies = number[][];

/** A `dependency_graph` strategy's map as written: step -> steps it depends on, each a command index or a step name. */
export type DependencyMap = Readonly<Record<string, readonly (number | string)[]>>;

/** The plan's steps, or just how many there are (a plan without names). */
type Steps = number | NamedSteps;

function stepsOf(steps: Steps): NamedSteps {
  return typeof steps === 'number' ? { commands: Array.from({ length: steps }, () => ({ name: null })) } : steps;
}

/**
 * Resolves references to the plan's steps, by index or by name. Names are looked up in a map
 * made once: a scan of the steps per reference made checking and running a plan of named steps
 * quadratic in its size. A name is never only digits (the schema refuses one), so a name found
 * in the map is not an index; anything else (an index, an unknown name) goes to `stepIndex`.
 */
function resolverOf(steps: NamedSteps): (ref: string | number) => number | null {
  const byName = new Map<string, number>();
  steps.commands.forEach((command, index) => {
    if (command.name && !byName.has(command.name)) byName.set(command.name, index);
  });
  return (ref) => (typeof ref === 'string' ? byName.get(ref) : undefined) ?? stepIndex(steps, ref);
}

/** How an error names step `index`: its name when it has one, else the index. */
function shown(steps: NamedSteps, index: number): string {
  return steps.commands[index]?.name ?? String(index);
}

/** Problems in a `dependency_graph` strategy over the plan's steps; empty when it is sound. */
export function checkDependencies(plan: Steps, dependencies: DependencyMap): ValidationIssue[] {
  const steps = stepsOf(plan);
  const count = steps.commands.length;
  const names = stepNames(steps);
  const resolve = resolverOf(steps);
  const issues: ValidationIssue[] = [];
  const field = (key: string) => `strategy.dependencies.${key}`;
  const range = `plan has ${count} commands: 0..${count - 1}`;
  /** Why `ref` names no step, as the end of a sentence. */
  const unknown = (ref: string | number) =>
    typeof ref === 'number' || /^\d+$/.test(ref)
      ? `index ${ref}, which is out of range (${range})`
      : `"${ref}", which no step is named${didYouMean(ref, names)}`;
  /** The key each step's dependencies were listed under: one step, one key (not its index and its name). */
  const keyOf = new Map<number, string>();
  for (const [key, deps] of Object.entries(dependencies)) {
    const node = resolve(key);
    const earlier = node === null ? undefined : keyOf.get(node);
    if (earlier !== undefined) {
      issues.push({
        code: 'InvalidPlan',
        field: field(key),
        reason: `command ${key} is the same step as "${earlier}": list its dependencies under one key`,
      });
    } else if (node !== null) keyOf.set(node, key);
    if (node === null) {
      issues.push({
        code: 'InvalidPlan',
        field: field(key),
        reason: /^\d+$/.test(key)
          ? `command index ${key} is out of range (${range})`
          : `no step is named "${key}"${didYouMean(key, names)}`,
      });
    }
    const who = node === null ? key : shown(steps, node);
    for (const ref of deps) {
      const dep = resolve(ref);
      if (dep === null) {
        issues.push({ code: 'InvalidPlan', field: field(key), reason: `command ${who} depends on ${unknown(ref)}` });
      } else if (dep === node) {
        issues.push({ code: 'InvalidPlan', field: field(key), reason: `command ${who} depends on itself` });
      }
    }
  }
  if (issues.length > 0) return issues;
  const cycle = findCycle(toDependencies(steps, dependencies));
  if (cycle) {
    const path = [...cycle, cycle[0]!].map((index) => shown(steps, index));
    issues.push({
      code: 'InvalidPlan',
      field: 'strategy.dependencies',
      reason: `dependency cycle between commands ${path.join(' -> ')}`,
    });
  }
  return issues;
}

/**
 * The graph as indices: each key and value resolved by name or index (checkDependencies has
 * refused any that names no step; such an entry is left out here).
 */
export function toDependencies(plan: Steps, dependencies: DependencyMap): Dependencies {
  const steps = stepsOf(plan);
  const deps: Dependencies = Array.from({ length: steps.commands.length }, () => []);
  const resolve = resolverOf(steps);
  for (const [key, list] of Object.entries(dependencies)) {
    const node = resolve(key);
    if (node === null) continue;
    const resolved = list.map(resolve).filter((dep): dep is number => dep !== null);
    deps[node] = [...new Set(resolved)];
  }
  return deps;
}

/** One cycle (as the list of indices on it, each depending on the next) or null. Iterative DFS. */
export function findCycle(deps: Dependencies): number[] | null {
  const WHITE = 0,
    GREY = 1,
    BLACK = 2;
  const color = new Uint8Array(deps.length);
  const parent = new Int32Array(deps.length).fill(-1);
  for (let root = 0; root < deps.length; root++) {
    if (color[root] !== WHITE) continue;
    const stack: Array<[node: number, next: number]> = [[root, 0]];
    color[root] = GREY;
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const [node, next] = top;
      const list = deps[node]!;
      if (next >= list.length) {
        color[node] = BLACK;
        stack.pop();
        continue;
      }
      top[1] = next + 1;
      const dep = list[next]!;
      if (color[dep] === GREY) {
        // Walk back from `node` to `dep` along the DFS path, then list it in dependency order.
        const back: number[] = [];
        for (let n = node; n !== dep; n = parent[n]!) back.push(n);
        return [dep, ...back.reverse()];
      }
      if (color[dep] === WHITE) {
        color[dep] = GREY;
        parent[dep] = node;
        stack.push([dep, 0]);
      }
    }
  }
  return null;
}

export interface GraphShape {
  deps: Dependencies;
  /** Whether a node whose dependency did not complete is skipped (else it just waits for it to end). */
  requireSuccess: boolean;
  /** Plan-level concurrency limit (Infinity for none). */
  limit: number;
  /**
   * Error budget: once this many nodes have failed (ended `failed` or `timeout`; a cancelled,
   * skipped or completed node does not count), no new node starts. 0 acts as 1: a budget is
   * spent by a failure. Absent: no budget.
   */
  maxFailures?: number;
}

/** `max_failures` as a count of steps: a percentage is of `count`, rounded down; null when there is no budget. */
export function failureBudget(maxFailures: number | string | null, count: number): number | null {
  if (maxFailures === null) return null;
  if (typeof maxFailures === 'number') return maxFailures;
  return Math.floor((count * Number(maxFailures.slice(0, -1))) / 100);
}

/** The `maxFailures` field of a shape, present only when there is a budget. */
function budgetOf(maxFailures: number | string | null, count: number): Pick<GraphShape, 'maxFailures'> {
  const budget = failureBudget(maxFailures, count);
  return budget === null ? {} : { maxFailures: budget };
}

/** Every strategy is a graph: serial is a chain, parallel has no edges (`plan`: its steps, or how many). */
export function shapeOf(strategy: ExecutionStrategy, plan: Steps): GraphShape {
  const count = typeof plan === 'number' ? plan : plan.commands.length;
  switch (strategy.type) {
    case 'serial':
      return {
        deps: Array.from({ length: count }, (_, i) => (i === 0 ? [] : [i - 1])),
        requireSuccess: strategy.stop_on_error,
        limit: 1,
      };
    case 'parallel':
      return {
        deps: Array.from({ length: count }, () => []),
        requireSuccess: false,
        limit: strategy.max_concurrency ?? Number.POSITIVE_INFINITY,
        ...budgetOf(strategy.max_failures, count),
      };
    case 'dependency_graph':
      return {
        deps: toDependencies(plan, strategy.dependencies),
        requireSuccess: true,
        limit: Number.POSITIVE_INFINITY,
        ...budgetOf(strategy.max_failures, count),
      };
  }
}
