/** Dependency-graph checks, strategy shapes, and the graph runner's ordering, skipping, limits and cancellation. */
import { describe, expect, test } from 'vitest';
import type { ExecutionStatus } from '../src/index.js';
import {
  checkDependencies,
  type Dependencies,
  findCycle,
  type GraphShape,
  shapeOf,
  toDependencies,
} from '../src/scheduler/dag.js';
import { type GraphHooks, runGraph } from '../src/scheduler/graph-runner.js';

describe('checkDependencies', () => {
  test('a sound graph has no issues', () => {
    expect(checkDependencies(3, { '2': [0, 1] })).toEqual([]);
    expect(checkDependencies(3, {})).toEqual([]);
    expect(checkDependencies(4, { '1': [0], '2': [0], '3': [1, 2] })).toEqual([]);
  });

  test('an empty dependency list and duplicate entries are fine', () => {
    expect(checkDependencies(2, { '0': [], '1': [0, 0] })).toEqual([]);
  });

  test('a self dependency is reported on its key', () => {
    const issues = checkDependencies(3, { '1': [1] });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'InvalidPlan', field: 'strategy.dependencies.1' });
    expect(issues[0]!.reason).toMatch(/\b1\b.*itself/);
  });

  test('an out-of-range key names the index', () => {
    const issues = checkDependencies(2, { '5': [0] });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'InvalidPlan', field: 'strategy.dependencies.5' });
    expect(issues[0]!.reason).toMatch(/\b5\b/);
    expect(issues[0]!.reason).toMatch(/out of range/);
  });

  test('a key equal to the command count is out of range', () => {
    const issues = checkDependencies(2, { '2': [0] });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.reason).toMatch(/\b2\b/);
  });

  test('an out-of-range dependency value names the index', () => {
    const issues = checkDependencies(2, { '1': [7] });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'InvalidPlan', field: 'strategy.dependencies.1' });
    expect(issues[0]!.reason).toMatch(/\b7\b/);
  });

  test('every range problem is reported', () => {
    const issues = checkDependencies(2, { '0': [0], '1': [9], '3': [] });
    expect(issues).toHaveLength(3);
  });

  test('a 2-cycle names both indices', () => {
    const issues = checkDependencies(2, { '0': [1], '1': [0] });
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ code: 'InvalidPlan', field: 'strategy.dependencies' });
    expect(issues[0]!.reason).toContain('0 -> 1 -> 0');
  });

  test('a 3-cycle names every index in dependency order', () => {
    // 0 depends on 1, 1 on 2, 2 on 0.
    const issues = checkDependencies(3, { '0': [1], '1': [2], '2': [0] });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.reason).toContain('0 -> 1 -> 2 -> 0');
  });

  test('a cycle reached through a node not on it names only the cycle', () => {
    // 0 -> 1 -> 2 -> 3 -> 1: 0 is not on the cycle.
    const issues = checkDependencies(4, { '0': [1], '1': [2], '2': [3], '3': [1] });
    expect(issues).toHaveLength(1);
    expect(issues[0]!.reason).toContain('1 -> 2 -> 3 -> 1');
    expect(issues[0]!.reason).not.toMatch(/\b0\b/);
  });
});

describe('findCycle', () => {
  /** Every consecutive pair (and last -> first) is an edge of `deps`. */
  function expectIsCycle(deps: Dependencies, cycle: number[]): void {
    expect(cycle.length).toBeGreaterThan(0);
    expect(new Set(cycle).size).toBe(cycle.length);
    const broken = cycle.filter((node, i) => !deps[node]!.includes(cycle[(i + 1) % cycle.length]!));
    expect(broken, 'nodes that do not depend on the next one').toEqual([]);
  }

  test('an acyclic graph has none', () => {
    expect(findCycle([[], [0], [0], [1, 2]])).toBeNull();
    expect(findCycle([])).toBeNull();
  });

  test('a self loop is a one-node cycle', () => {
    expect(findCycle([[], [1]])).toEqual([1]);
  });

  test('the cycle found is a real cycle', () => {
    const deps: Dependencies = [[1], [2, 3], [], [4], [1]];
    const cycle = findCycle(deps);
    expect(cycle).not.toBeNull();
    expectIsCycle(deps, cycle!);
    expect([...cycle!].sort()).toEqual([1, 3, 4]);
  });

  test('a 10,000-node chain: no cycle and no stack overflow', () => {
    const n = 10_000;
    const chain: Dependencies = Array.from({ length: n }, (_, i) => (i === 0 ? [] : [i - 1]));
    expect(findCycle(chain)).toBeNull();
    // The same chain in the other direction (DFS from 0 goes 10,000 deep).
    const reversed: Dependencies = Array.from({ length: n }, (_, i) => (i === n - 1 ? [] : [i + 1]));
    expect(findCycle(reversed)).toBeNull();
  });

  test('a 10,000-node ring is found whole', () => {
    const n = 10_000;
    const ring: Dependencies = Array.from({ length: n }, (_, i) => [(i + 1) % n]);
    const cycle = findCycle(ring);
    expect(cycle).toHaveLength(n);
    expectIsCycle(ring, cycle!);
  });
});

describe('toDependencies and shapeOf', () => {
  test('toDependencies fills missing nodes and removes duplicates', () => {
    expect(toDependencies(3, { '2': [0, 1, 0] })).toEqual([[], [], [0, 1]]);
  });

  test('serial is a chain with limit 1; stop_on_error decides requireSuccess', () => {
    expect(shapeOf({ type: 'serial', stop_on_error: true }, 3)).toEqual({
      deps: [[], [0], [1]],
      requireSuccess: true,
      limit: 1,
    });
    expect(shapeOf({ type: 'serial', stop_on_error: false }, 2)).toEqual({
      deps: [[], [0]],
      requireSuccess: false,
      limit: 1,
    });
  });

  test('parallel has no edges; max_concurrency is the limit, null is unlimited', () => {
    expect(shapeOf({ type: 'parallel', max_concurrency: 2, max_failures: null }, 3)).toEqual({
      deps: [[], [], []],
      requireSuccess: false,
      limit: 2,
    });
    expect(shapeOf({ type: 'parallel', max_concurrency: null, max_failures: null }, 1).limit).toBe(
      Number.POSITIVE_INFINITY,
    );
  });

  test('dependency_graph requires success and has no plan limit', () => {
    expect(shapeOf({ type: 'dependency_graph', dependencies: { '2': [0, 1] }, max_failures: null }, 3)).toEqual({
      deps: [[], [], [0, 1]],
      requireSuccess: true,
      limit: Number.POSITIVE_INFINITY,
    });
  });
});

// ---------------------------------------------------------------------------------------------
// runGraph

const tick = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Recorder {
  hooks: GraphHooks;
  log: string[];
  started: number[];
  finished: number[];
  skipped: Array<{ index: number; cause: number; causeStatus: ExecutionStatus }>;
  cancelled: number[];
  maxInFlight: () => number;
}

/** Hooks whose `run` ends each node on a later turn of the event loop with `statusOf(index)`. */
function recorder(
  statusOf: (index: number) => ExecutionStatus | Error = () => 'completed',
  onStart?: (index: number) => void,
): Recorder {
  const log: string[] = [];
  const started: number[] = [];
  const finished: number[] = [];
  const skipped: Recorder['skipped'] = [];
  const cancelled: number[] = [];
  let inFlight = 0;
  let max = 0;
  const hooks: GraphHooks = {
    async run(index) {
      started.push(index);
      log.push(`start ${index}`);
      inFlight++;
      max = Math.max(max, inFlight);
      onStart?.(index);
      await tick();
      await tick();
      inFlight--;
      finished.push(index);
      log.push(`end ${index}`);
      const status = statusOf(index);
      if (status instanceof Error) throw status;
      return status;
    },
    skip(index, cause, causeStatus) {
      log.push(`skip ${index}`);
      skipped.push({ index, cause, causeStatus });
    },
    cancel(index) {
      log.push(`cancel ${index}`);
      cancelled.push(index);
    },
    overBudget(index) {
      log.push(`over budget ${index}`);
    },
  };
  return { hooks, log, started, finished, skipped, cancelled, maxInFlight: () => max };
}

const never = () => new AbortController().signal;

describe('runGraph', () => {
  test('every node starts only after all its dependencies ended', async () => {
    //      0
    //     / \
    //    1   2
    //     \ / \
    //      3   4
    //      |
    //      5
    const deps: Dependencies = [[], [0], [0], [1, 2], [2], [3]];
    const r = recorder();
    await runGraph({ deps, requireSuccess: true, limit: Number.POSITIVE_INFINITY }, r.hooks, never());
    expect([...r.started].sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(r.finished).toHaveLength(6);
    deps.forEach((list, node) => {
      for (const dep of list) {
        expect(r.log.indexOf(`end ${dep}`), `${dep} ends before ${node} starts`).toBeLessThan(
          r.log.indexOf(`start ${node}`),
        );
      }
    });
    expect(r.skipped).toEqual([]);
    expect(r.cancelled).toEqual([]);
  });

  test('independent ready nodes run concurrently', async () => {
    const r = recorder();
    await runGraph(
      { deps: [[], [0], [0], [0]], requireSuccess: true, limit: Number.POSITIVE_INFINITY },
      r.hooks,
      never(),
    );
    expect(r.maxInFlight()).toBe(3);
  });

  test('serial shape runs in index order, one at a time', async () => {
    const r = recorder();
    await runGraph(shapeOf({ type: 'serial', stop_on_error: true }, 4), r.hooks, never());
    expect(r.log).toEqual(['start 0', 'end 0', 'start 1', 'end 1', 'start 2', 'end 2', 'start 3', 'end 3']);
  });

  test('requireSuccess: a failed node skips its transitive dependents; an independent branch still runs', async () => {
    // Branch A: 0 -> 1 -> 2 (1 depends on 0, 2 on 1), plus 5 depends on 0 and 3.
    // Branch B: 3 -> 4.
    const deps: Dependencies = [[], [0], [1], [], [3], [0, 3]];
    const r = recorder((i) => (i === 0 ? 'failed' : 'completed'));
    await runGraph({ deps, requireSuccess: true, limit: Number.POSITIVE_INFINITY }, r.hooks, never());
    expect([...r.started].sort()).toEqual([0, 3, 4]);
    const byIndex = new Map(r.skipped.map((s) => [s.index, s]));
    expect([...byIndex.keys()].sort()).toEqual([1, 2, 5]);
    expect(r.skipped).toHaveLength(3); // each skipped once
    expect(byIndex.get(1)).toEqual({ index: 1, cause: 0, causeStatus: 'failed' });
    expect(byIndex.get(2)).toEqual({ index: 2, cause: 1, causeStatus: 'skipped' });
    expect(byIndex.get(5)).toEqual({ index: 5, cause: 0, causeStatus: 'failed' });
    expect(r.cancelled).toEqual([]);
  });

  test("requireSuccess: the cause status is the failing node's status (timeout, cancelled)", async () => {
    const r = recorder((i) => (i === 0 ? 'timeout' : i === 2 ? 'cancelled' : 'completed'));
    await runGraph(
      { deps: [[], [0], [], [2]], requireSuccess: true, limit: Number.POSITIVE_INFINITY },
      r.hooks,
      never(),
    );
    expect(r.skipped).toEqual(
      expect.arrayContaining([
        { index: 1, cause: 0, causeStatus: 'timeout' },
        { index: 3, cause: 2, causeStatus: 'cancelled' },
      ]),
    );
    expect(r.skipped).toHaveLength(2);
  });

  test('a run that rejects counts as failed', async () => {
    const r = recorder((i) => (i === 0 ? new Error('boom') : 'completed'));
    await runGraph({ deps: [[], [0]], requireSuccess: true, limit: Number.POSITIVE_INFINITY }, r.hooks, never());
    expect(r.started).toEqual([0]);
    expect(r.skipped).toEqual([{ index: 1, cause: 0, causeStatus: 'failed' }]);
  });

  test('a node with a completed and a failed dependency is skipped once', async () => {
    const r = recorder((i) => (i === 1 ? 'failed' : 'completed'));
    await runGraph({ deps: [[], [], [0, 1]], requireSuccess: true, limit: Number.POSITIVE_INFINITY }, r.hooks, never());
    expect([...r.started].sort()).toEqual([0, 1]);
    expect(r.skipped).toEqual([{ index: 2, cause: 1, causeStatus: 'failed' }]);
  });

  test('without requireSuccess a failure does not stop its dependents', async () => {
    const r = recorder(() => 'failed');
    await runGraph(shapeOf({ type: 'serial', stop_on_error: false }, 3), r.hooks, never());
    expect(r.started).toEqual([0, 1, 2]);
    expect(r.skipped).toEqual([]);
  });

  test('the limit is respected and reached; lowest index first', async () => {
    const r = recorder();
    const shape: GraphShape = { deps: Array.from({ length: 7 }, () => []), requireSuccess: false, limit: 2 };
    await runGraph(shape, r.hooks, never());
    expect(r.maxInFlight()).toBe(2);
    expect(r.started).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(r.finished).toHaveLength(7);
  });

  test('the limit also holds in a DAG with many ready nodes', async () => {
    const deps: Dependencies = [[], [0], [0], [0], [0], [0], [1, 2, 3, 4, 5]];
    const r = recorder();
    await runGraph({ deps, requireSuccess: true, limit: 3 }, r.hooks, never());
    expect(r.maxInFlight()).toBe(3);
    expect(r.started).toHaveLength(7);
    expect(r.started.at(-1)).toBe(6);
  });

  test('abort before start: every node is cancelled and none runs', async () => {
    const controller = new AbortController();
    controller.abort();
    const r = recorder();
    await runGraph(
      { deps: [[], [0], [], [2]], requireSuccess: true, limit: Number.POSITIVE_INFINITY },
      r.hooks,
      controller.signal,
    );
    expect(r.started).toEqual([]);
    expect([...r.cancelled].sort()).toEqual([0, 1, 2, 3]);
    expect(r.skipped).toEqual([]);
  });

  test('abort while running: running nodes finish, the rest are cancelled, nothing more starts', async () => {
    const controller = new AbortController();
    const r = recorder(
      () => 'cancelled',
      (index) => {
        if (index === 0) controller.abort();
      },
    );
    await runGraph({ deps: [[], [0], [1], []], requireSuccess: false, limit: 1 }, r.hooks, controller.signal);
    expect(r.started).toEqual([0]);
    expect(r.finished).toEqual([0]);
    expect([...r.cancelled].sort()).toEqual([1, 2, 3]);
  });

  test('an empty graph resolves at once', async () => {
    const r = recorder();
    await runGraph({ deps: [], requireSuccess: true, limit: 1 }, r.hooks, never());
    expect(r.log).toEqual([]);
  });
});
