/**
 * Runs plan commands as a dependency graph: a node starts when all its dependencies have
 * finished, at most `limit` at a time, lowest index first among the ready ones. When
 * `requireSuccess` is set, a node whose dependency did not complete is skipped, and so,
 * transitively, is everything that depends on it. With an error budget (`maxFailures`),
 * once that many nodes have failed no new node starts: the ones not started are reported as
 * over budget, the running ones finish. After `signal` aborts, nodes not yet started are
 * reported as cancelled.
 */
import { FAILED_STATUSES } from '../vocabulary.js';
import type { ExecutionStatus } from '../wire/types.js';
import type { GraphShape } from './dag.js';

export interface GraphHooks {
  /** Run node `index`; resolves to its final status. */
  run(index: number): Promise<ExecutionStatus>;
  /** Node `index` will not run because node `cause` did not complete. */
  skip(index: number, cause: number, causeStatus: ExecutionStatus): void;
  /** Node `index` will not run because the plan was cancelled. */
  cancel(index: number): void;
  /** Node `index` will not run because `failures` nodes failed, spending the error budget. */
  overBudget(index: number, failures: number): void;
}

/** How the graph ended, beyond each node's own status. */
export interface GraphOutcome {
  /** Nodes that had failed when the error budget was spent (null: it was not). */
  budgetSpentAt: number | null;
}

/** What spends an error budget: a node that ran and failed, or ran past its timeout. */
const FAILED: ReadonlySet<ExecutionStatus> = new Set(FAILED_STATUSES);

type NodeState = 'waiting' | 'ready' | 'running' | 'done';

export function runGraph(shape: GraphShape, hooks: GraphHooks, signal: AbortSignal): Promise<GraphOutcome> {
  const { deps, requireSuccess, limit } = shape;
  // A budget is spent by a failure, so 0 acts as 1 (a percentage of a small plan rounds down to 0).
  const budget = shape.maxFailures === undefined ? Number.POSITIVE_INFINITY : Math.max(1, shape.maxFailures);
  const count = deps.length;
  const remaining = deps.map((d) => d.length);
  const dependents: number[][] = Array.from({ length: count }, () => []);
  deps.forEach((list, node) => list.forEach((dep) => dependents[dep]!.push(node)));
  const state: NodeState[] = remaining.map((r) => (r === 0 ? 'ready' : 'waiting'));
  // Ready nodes kept sorted so the lowest index starts first (deterministic order).
  const ready: number[] = [];
  for (let i = 0; i < count; i++) if (state[i] === 'ready') ready.push(i);

  let running = 0;
  let finished = 0;
  let failures = 0;
  let budgetSpentAt: number | null = null;

  return new Promise<GraphOutcome>((resolve) => {
    const markDone = (node: number) => {
      state[node] = 'done';
      finished++;
    };

    const skipFrom = (node: number, cause: number, causeStatus: ExecutionStatus) => {
      const stack: Array<[number, number]> = [[node, cause]];
      while (stack.length > 0) {
        const [n, c] = stack.pop()!;
        if (state[n] === 'done' || state[n] === 'running') continue;
        markDone(n);
        hooks.skip(n, c, c === cause ? causeStatus : 'skipped');
        for (const d of dependents[n]!) stack.push([d, n]);
      }
    };

    const onFinished = (node: number, status: ExecutionStatus) => {
      running--;
      markDone(node);
      for (const d of dependents[node]!) {
        if (state[d] !== 'waiting') continue;
        if (requireSuccess && status !== 'completed') skipFrom(d, node, status);
        else if ((remaining[d] = remaining[d]! - 1) === 0) insertSorted(ready, d, state);
      }
      if (FAILED.has(status) && ++failures >= budget && budgetSpentAt === null) {
        budgetSpentAt = failures;
        ready.length = 0;
        for (let i = 0; i < count; i++) {
          if (state[i] === 'waiting' || state[i] === 'ready') {
            markDone(i);
            hooks.overBudget(i, failures);
          }
        }
      }
      pump();
    };

    const pump = () => {
      if (signal.aborted) {
        ready.length = 0;
        for (let i = 0; i < count; i++) {
          if (state[i] === 'waiting' || state[i] === 'ready') {
            markDone(i);
            hooks.cancel(i);
          }
        }
      }
      while (running < limit && ready.length > 0) {
        const node = ready.shift()!;
        state[node] = 'running';
        running++;
        hooks.run(node).then(
          (status) => onFinished(node, status),
          () => onFinished(node, 'failed'),
        );
      }
      if (finished === count) {
        signal.removeEventListener('abort', pump);
        resolve({ budgetSpentAt });
      }
    };

    signal.addEventListener('abort', pump, { once: true });
    pump();
  });
}

function insertSorted(list: number[], value: number, state: NodeState[]): void {
  state[value] = 'ready';
  let at = list.length;
  while (at > 0 && list[at - 1]! > value) at--;
  list.splice(at, 0, value);
}
