// Case 5, scheduler overhead: a plan of N no-op commands (`true`) as a random DAG (fixed
// seed; each node depends on 0-3 earlier nodes), strategy dependency_graph, engine
// concurrency 10. Overhead per node = (engine wall time - the same N spawns through a raw
// 10-wide pool) / N. A raw pool that honours the same DAG is shown too, to separate what the
// graph's shape costs from what the engine costs.

import { loadEngine, nowMs, pool, sized, spawnDone, tempDir } from '../lib.mjs';
import { fmt, fmtInt, lcg, ratio } from '../stats.mjs';

export const title = 'Scheduler overhead';
const WIDTH = 10;
const SEED = 42;
const PEERS = ['engine-nohist', 'engine-hist', 'engine-hist-pgroup', 'raw-pool', 'raw-dag'];
const LABEL = {
  'engine-nohist': 'engine plan, `store_history: false`',
  'engine-hist': 'engine plan, `store_history: true` (default)',
  // As root, `process_containment: auto` gives each command a PID namespace (unshare + an init).
  'engine-hist-pgroup': 'engine plan, default but `process_containment: process_group` (`auto` when not root)',
  'raw-pool': 'raw spawn, 10-wide pool (no graph)',
  'raw-dag': 'raw spawn, 10-wide, same DAG (hand-rolled ready queue)',
};

/** deps[i] = 0-3 distinct earlier nodes, from a seeded generator. */
export function randomDag(n, seed = SEED) {
  const rand = lcg(seed);
  const deps = [];
  for (let i = 0; i < n; i++) {
    const want = i === 0 ? 0 : Math.min(i, Math.floor(rand() * 4));
    const set = new Set();
    while (set.size < want) set.add(Math.floor(rand() * i));
    deps.push([...set]);
  }
  return deps;
}

function criticalPath(deps) {
  const depth = [];
  for (let i = 0; i < deps.length; i++) depth.push(1 + Math.max(0, ...deps[i].map((d) => depth[d])));
  return Math.max(...depth);
}

// ---- child side ----

export async function runPeer(peer, { n }) {
  const deps = randomDag(n);
  if (peer.startsWith('engine')) return runEngine(deps, peer !== 'engine-nohist', peer === 'engine-hist-pgroup');
  await pool(20, WIDTH, () => spawnDone('true', [])); // warm-up
  if (peer === 'raw-pool') {
    const t0 = nowMs();
    await pool(n, WIDTH, () => spawnDone('true', []));
    return { ms: nowMs() - t0 };
  }
  if (peer === 'raw-dag') {
    const t0 = nowMs();
    await runDag(deps, () => spawnDone('true', []));
    return { ms: nowMs() - t0 };
  }
  throw new Error(`unknown peer ${peer}`);
}

function runDag(deps, task) {
  const remaining = deps.map((d) => d.length);
  const dependents = deps.map(() => []);
  deps.forEach((list, i) => list.forEach((d) => dependents[d].push(i)));
  const ready = [];
  deps.forEach((d, i) => d.length === 0 && ready.push(i));
  let running = 0;
  let done = 0;
  return new Promise((resolve, reject) => {
    const pump = () => {
      while (running < WIDTH && ready.length > 0) {
        const node = ready.shift();
        running++;
        task(node).then(() => {
          running--;
          done++;
          for (const d of dependents[node]) if (--remaining[d] === 0) ready.push(d);
          if (done === deps.length) resolve();
          else pump();
        }, reject);
      }
    };
    pump();
  });
}

async function runEngine(deps, storeHistory, processGroup) {
  const { ExecutionEngine } = await loadEngine();
  const dir = tempDir('cee-bench-sched-');
  const engine = new ExecutionEngine({
    max_concurrent_executions: WIDTH,
    store_history: storeHistory,
    log_dir: dir.path,
    ...(processGroup ? { process_containment: 'process_group' } : {}),
  });
  const command = { type: 'exec', program: 'true', args: [] };
  // Warm-up: a small plan, not timed.
  await engine.waitPlan(
    await engine.executePlan({
      strategy: { type: 'parallel' },
      commands: Array.from({ length: 20 }, () => ({ command })),
    }),
  );
  const dependencies = {};
  deps.forEach((list, i) => {
    if (list.length > 0) dependencies[String(i)] = list;
  });
  const plan = {
    description: 'scheduler bench',
    strategy: { type: 'dependency_graph', dependencies },
    commands: deps.map(() => ({ command })),
  };
  const t0 = nowMs();
  const id = await engine.executePlan(plan);
  const acceptedMs = nowMs() - t0;
  const result = await engine.waitPlan(id);
  const ms = nowMs() - t0;
  if (result.status !== 'completed') throw new Error(`plan ${result.status}: ${result.error}`);
  await engine.shutdown();
  engine.close();
  dir.remove();
  return { ms, acceptedMs };
}

// ---- parent side ----

export async function run(ctx) {
  const n = sized('BENCH_SCHED_NODES', 10_000, 50);
  const deps = randomDag(n);
  const edges = deps.reduce((a, d) => a + d.length, 0);
  const res = {};
  for (const peer of PEERS) {
    res[peer] = await ctx.peer('scheduler', peer, { n });
    ctx.log(`  ${peer}: ${fmt(res[peer].ms, 0)} ms`);
  }
  const base = res['raw-pool'].ms;
  const rows = PEERS.map((p) => [
    LABEL[p],
    fmt(res[p].ms / 1000, 2),
    res[p].acceptedMs !== undefined ? fmt(res[p].acceptedMs, 0) : '–',
    fmtInt(n / (res[p].ms / 1000)),
    ratio(res[p].ms, base),
    p === 'raw-pool' ? '–' : fmt((res[p].ms - base) / n, 3),
  ]);
  const overhead = (p) => (res[p].ms - base) / n;
  return {
    title,
    intro: `${fmtInt(n)} × \`true\`, random DAG (seed ${SEED}; node i depends on 0–3 distinct earlier nodes: ${fmtInt(edges)} edges, critical path ${criticalPath(deps)} nodes), \`{type: 'dependency_graph', dependencies: {"i": [...]}}\`, \`max_concurrent_executions: ${WIDTH}\`. Engine time = \`executePlan\` (parse, validation) to \`waitPlan\` resolved; "accepted" is the \`executePlan\` part. Each peer in a fresh process, one run each.`,
    tables: [
      {
        headers: ['peer', 'seconds', 'accepted ms', 'nodes/s', 'time vs raw pool', 'overhead ms/node vs raw pool'],
        rows,
      },
    ],
    ratios: [
      `overhead per node: ${fmt(overhead('engine-nohist'), 3)} ms (history off), ${fmt(overhead('engine-hist'), 3)} ms (history on); the DAG's own shape costs ${fmt(overhead('raw-dag'), 3)} ms/node (raw DAG runner vs raw pool)`,
      `engine / raw DAG runner: ${ratio(res['engine-nohist'].ms, res['raw-dag'].ms)} (history off), ${ratio(res['engine-hist'].ms, res['raw-dag'].ms)} (history on), ${ratio(res['engine-hist-pgroup'].ms, res['raw-dag'].ms)} (history on, process-group containment)`,
    ],
    targets: [
      {
        id: 'scheduler-dag-engine-hist',
        label: 'engine plan, `store_history: true` (default): time ≤ 1.3× the raw DAG runner',
        value: ratio(res['engine-hist'].ms, res['raw-dag'].ms),
        pass: res['engine-hist'].ms / res['raw-dag'].ms <= 1.3,
        profile: { case: 'scheduler', peer: 'engine-hist', opts: { n: Math.min(n, 2000) } },
      },
    ],
    raw: { n, edges, res },
  };
}
