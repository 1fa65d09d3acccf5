/**
 * Property-based tests of the plan scheduler with random graphs, run for real: every node
 * that can run runs exactly once, only after all its dependencies completed, never when a
 * (transitive) dependency failed (those end `skipped`), and never more at once than the
 * engine allows. Order is taken from the engine's own event sequence and from what the
 * commands themselves appended to a file, never from sleeps.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import type { ExecutionEngine, ExecutionStatus, PlanExecutionResult } from '../src/index.js';
import { makeEngine, type Recorded, recordEvents, tempDir } from './helpers.js';

interface Graph {
  /** deps[i]: indices node i depends on (may contain duplicates). */
  deps: number[][];
  /** Nodes whose command exits 1. */
  fails: boolean[];
}

/** A random DAG over up to `maxNodes` nodes: a random topological order, edges that respect it, some failing nodes. */
const graph = (maxNodes: number): fc.Arbitrary<Graph> =>
  fc.integer({ min: 1, max: maxNodes }).chain((n) =>
    fc
      .record({
        order: fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n }),
        // Edge density varies per graph: from a forest of singletons to nearly complete.
        density: fc.integer({ min: 0, max: 100 }),
        rolls: fc.array(fc.array(fc.integer({ min: 0, max: 99 }), { minLength: n, maxLength: n }), {
          minLength: n,
          maxLength: n,
        }),
        fails: fc.array(fc.integer({ min: 0, max: 99 }), { minLength: n, maxLength: n }),
        failRate: fc.constantFrom(0, 5, 15, 30),
      })
      .map(({ order, density, rolls, fails, failRate }) => {
        const deps: number[][] = Array.from({ length: n }, () => []);
        for (let i = 0; i < n; i++) {
          for (let j = 0; j < i; j++) {
            const roll = rolls[i]![j]!;
            // Sparse enough on average that long chains and wide layers both occur.
            if (roll < density / 4) deps[order[i]!]!.push(order[j]!);
            if (roll === 99 && deps[order[i]!]!.length > 0) deps[order[i]!]!.push(order[j]!); // duplicate edge
          }
        }
        return { deps, fails: fails.map((f) => f < failRate) };
      }),
  );

/** The statuses a correct scheduler must produce (a node runs iff every dependency completed). */
function expectedStatuses(g: Graph): ExecutionStatus[] {
  const n = g.deps.length;
  const status: Array<ExecutionStatus | undefined> = Array(n).fill(undefined);
  const visit = (i: number): ExecutionStatus => {
    if (status[i]) return status[i]!;
    const ok = g.deps[i]!.every((d) => visit(d) === 'completed');
    return (status[i] = !ok ? 'skipped' : g.fails[i] ? 'failed' : 'completed');
  };
  for (let i = 0; i < n; i++) visit(i);
  return status as ExecutionStatus[];
}

interface Submitted {
  planId: string;
  ids: string[];
  graph: Graph;
  file: string;
}

async function submit(engine: ExecutionEngine, g: Graph, dir: string): Promise<Submitted> {
  const file = join(dir, `ran-${randomUUID()}`);
  const ids = g.deps.map(() => randomUUID());
  const dependencies: Record<string, number[]> = {};
  g.deps.forEach((list, i) => {
    if (list.length > 0) dependencies[String(i)] = list;
  });
  const planId = await engine.executePlan({
    strategy: { type: 'dependency_graph', dependencies },
    commands: g.deps.map((_, i) => ({
      id: ids[i],
      // Each command leaves its own mark: the file shows what really ran, and in which order.
      command: { type: 'shell' as const, shell: 'sh', command: `echo ${i} >> ${file}${g.fails[i] ? '; exit 1' : ''}` },
    })),
  });
  return { planId, ids, graph: g, file };
}

function linesOf(path: string): string[] {
  try {
    return readFileSync(path, 'utf8')
      .split('\n')
      .filter((l) => l !== '');
  } catch {
    return [];
  }
}

function checkPlan(s: Submitted, result: PlanExecutionResult, events: Recorded[]): void {
  const { graph: g, ids } = s;
  const n = g.deps.length;
  const expected = expectedStatuses(g);
  expect(result.results.map((r) => r.status)).toEqual(expected);
  expect(result.results.map((r) => r.id)).toEqual(ids);
  expect(result.status).toBe(expected.every((x) => x === 'completed') ? 'completed' : 'failed');
  expect(result.stats).toMatchObject({
    total: n,
    completed: expected.filter((x) => x === 'completed').length,
    failed: expected.filter((x) => x === 'failed').length,
    skipped: expected.filter((x) => x === 'skipped').length,
    cancelled: 0,
    timeout: 0,
  });

  // What actually ran, from the commands' own marks: each runnable node exactly once, nothing else.
  const ran = linesOf(s.file).map(Number);
  const position = new Map<number, number>();
  ran.forEach((node, at) => {
    expect(position.has(node), `node ${node} ran twice`).toBe(false);
    position.set(node, at);
  });
  for (let i = 0; i < n; i++) expect(position.has(i), `node ${i} ran?`).toBe(expected[i] !== 'skipped');

  // The engine's event sequence for each node: started once, then one terminal event.
  const started = new Map<number, number>();
  const ended = new Map<number, number>();
  const index = new Map(ids.map((id, i) => [id, i]));
  for (const { seq, event } of events) {
    const i = 'execution_id' in event ? index.get(event.execution_id) : undefined;
    if (i === undefined) continue;
    if (event.event_type === 'started') {
      expect(started.has(i), `node ${i} started twice`).toBe(false);
      started.set(i, seq);
    } else if (event.event_type === 'completed' || event.event_type === 'failed' || event.event_type === 'cancelled') {
      expect(ended.has(i), `node ${i} ended twice`).toBe(false);
      expect(started.has(i), `node ${i} ended before it started`).toBe(true);
      ended.set(i, seq);
      expect(event.event_type).toBe(expected[i] === 'completed' ? 'completed' : 'failed');
    }
  }
  for (let i = 0; i < n; i++) {
    const runs = expected[i] !== 'skipped';
    expect(started.has(i), `node ${i} started?`).toBe(runs);
    expect(ended.has(i), `node ${i} ended?`).toBe(runs);
    if (!runs) {
      // Skipped because of a direct dependency that did not complete, and it says which.
      const cause = /^Skipped: dependency (\d+) .* did not complete \((failed|skipped)\)$/.exec(
        result.results[i]!.error ?? '',
      );
      expect(cause, result.results[i]!.error ?? 'no error').not.toBeNull();
      const dep = Number(cause![1]);
      expect(g.deps[i]).toContain(dep);
      expect(expected[dep]).toBe(cause![2]);
      expect(result.results[i]!.exit_code).toBe(-1);
      continue;
    }
    for (const d of g.deps[i]!) {
      // Only after every dependency completed: in the event order, in the file, and by the results' clocks.
      expect(expected[d]).toBe('completed');
      expect(ended.get(d)!, `dep ${d} ended before ${i} started`).toBeLessThan(started.get(i)!);
      expect(position.get(d)!, `dep ${d} ran before ${i}`).toBeLessThan(position.get(i)!);
      expect(Date.parse(result.results[d]!.completed_at!)).toBeLessThanOrEqual(
        Date.parse(result.results[i]!.started_at),
      );
    }
  }
}

/** Never more than `limit` commands between `started` and their terminal event. */
function checkConcurrency(events: Recorded[], limit: number): void {
  let running = 0;
  let peak = 0;
  for (const { event } of events) {
    if (event.event_type === 'started') peak = Math.max(peak, ++running);
    if (event.event_type === 'completed' || event.event_type === 'failed' || event.event_type === 'cancelled')
      running--;
  }
  expect(peak).toBeLessThanOrEqual(limit);
}

test('random DAGs (up to 25 nodes, some failing), one or two plans at once: run exactly once, in dependency order, skipped after a failure (40 runs)', async () => {
  const dir = tempDir();
  let nodes = 0;
  let skipped = 0;
  await fc.assert(
    fc.asyncProperty(
      fc.array(graph(25), { minLength: 1, maxLength: 2 }),
      fc.integer({ min: 1, max: 6 }),
      async (graphs, limit) => {
        const engine = makeEngine({ max_concurrent_executions: limit, store_history: false });
        try {
          const events = recordEvents(engine);
          const submitted = await Promise.all(graphs.map((g) => submit(engine, g, dir)));
          const results = await Promise.all(submitted.map((s) => engine.waitPlan(s.planId)));
          submitted.forEach((s, k) => checkPlan(s, results[k]!, events));
          checkConcurrency(events, limit);
          for (const s of submitted) {
            nodes += s.ids.length;
            skipped += expectedStatuses(s.graph).filter((x) => x === 'skipped').length;
          }
        } finally {
          await engine.shutdown();
          engine.close();
        }
      },
    ),
    { numRuns: 40 },
  );
  // The generator really produced sizeable graphs with failures to propagate.
  expect(nodes).toBeGreaterThan(200);
  expect(skipped).toBeGreaterThan(0);
});

test('random serial plans with failing steps: stop_on_error skips the rest, without it every step runs in order (25 runs)', async () => {
  const dir = tempDir();
  const engine = makeEngine({ store_history: false });
  const events = recordEvents(engine);
  await fc.assert(
    fc.asyncProperty(
      fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }),
      fc.boolean(),
      async (fails, stopOnError) => {
        const file = join(dir, `serial-${randomUUID()}`);
        const ids: string[] = fails.map(() => randomUUID());
        const id = await engine.executePlan({
          strategy: { type: 'serial', stop_on_error: stopOnError },
          commands: fails.map((f, i) => ({
            id: ids[i],
            command: { type: 'shell' as const, shell: 'sh', command: `echo ${i} >> ${file}${f ? '; exit 1' : ''}` },
          })),
        });
        const result = await engine.waitPlan(id);
        const firstFailure = fails.indexOf(true);
        const lastRun = stopOnError && firstFailure !== -1 ? firstFailure : fails.length - 1;
        const expected = fails.map((f, i) => (i > lastRun ? 'skipped' : f ? 'failed' : 'completed'));
        expect(result.results.map((r) => r.status)).toEqual(expected);
        expect(linesOf(file)).toEqual(Array.from({ length: lastRun + 1 }, (_, i) => String(i)));
        // One at a time: each step starts after the previous one's terminal event.
        const mine = events.filter(({ event }) => 'execution_id' in event && ids.includes(event.execution_id));
        const kinds = mine
          .filter(({ event }) => event.event_type !== 'stdout' && event.event_type !== 'stderr')
          .map(({ event }) => event.event_type);
        expect(kinds).toEqual(
          expected
            .filter((x) => x !== 'skipped')
            .flatMap((x) => ['started', x === 'completed' ? 'completed' : 'failed']),
        );
      },
    ),
    { numRuns: 25 },
  );
});
