// Case 4, cancel latency: a 3-level tree (sh -> sh -> 2 × sleep, every process printing its
// pid), cancelled once all four are up; time until every process of the tree is gone (polled
// in /proc every ~1 ms; a zombie counts as gone) and until the result is out. Engine
// (`engine.cancel(id)`) vs a raw baseline (spawned detached, `kill(-pgid)`). Then the same
// with a tree that ignores SIGTERM, where SIGKILL follows after the kill grace.
import { spawn } from 'node:child_process';
import { descendants, intEnv, loadEngine, nowMs, sized, tempDir, waitGone } from '../lib.mjs';
import { fmt, fmtInt, summary } from '../stats.mjs';

export const title = 'Cancel latency';
const TREE_SIZE = 4;
const GONE_TIMEOUT_MS = 15_000;

/**
 * Every process prints its own pid as this process sees it, read from /proc/self/stat: in a
 * PID namespace (the engine's `process_containment` as root) `$$` and `$!` are namespace
 * pids. A sleep is a shell that prints its pid and then execs `sleep`, keeping that pid.
 */
const PRINT_PID = 'read -r p _ < /proc/self/stat; echo pid $p';

function treeScript(ignoreTerm) {
  const trap = ignoreTerm ? 'trap "" TERM; ' : '';
  const sleeper = `sh -c "${PRINT_PID.replace('$p', '\\$p')}; exec sleep 1000" &`;
  const inner = `${trap}${sleeper} ${sleeper} ${PRINT_PID}; wait`;
  return `${trap}sh -c '${inner}' & ${PRINT_PID}; wait`;
}

/** Collects `pid N` lines until the whole tree has reported; then adds what /proc shows under the root. */
function pidCollector() {
  const pids = new Set();
  let resolve;
  const ready = new Promise((r) => (resolve = r));
  return {
    ready,
    line(text) {
      const m = /^pid (\d+)$/.exec(text.trim());
      if (!m) return;
      pids.add(Number(m[1]));
      if (pids.size === TREE_SIZE) resolve();
    },
    /** The printed pids plus any live descendant of them found in /proc. */
    all() {
      for (const pid of [...pids]) for (const d of descendants(pid)) pids.add(d);
      return [...pids];
    },
  };
}

// ---- child side ----

export async function runPeer(peer, { runs, graceMs }) {
  const ignoreTerm = peer.endsWith('-ignore');
  const script = treeScript(ignoreTerm);
  const gone = [];
  const resultMs = [];
  let processes = 0;
  if (peer.startsWith('engine')) {
    const { ExecutionEngine } = await loadEngine();
    const dir = tempDir('cee-bench-cancel-');
    const engine = new ExecutionEngine({ log_dir: dir.path, kill_grace_ms: graceMs });
    const collectors = new Map();
    engine.withEventHandler((event) => {
      if (event.event_type === 'stdout') collectors.get(event.execution_id)?.line(event.line);
    });
    for (let r = 0; r < runs; r++) {
      const collector = pidCollector();
      const id = crypto.randomUUID();
      collectors.set(id, collector);
      await engine.execute({ id, command: { type: 'shell', shell: 'sh', command: script } });
      await collector.ready;
      const pids = collector.all();
      processes = pids.length;
      const t0 = nowMs();
      await engine.cancel(id);
      const [goneMs, doneMs] = await Promise.all([
        waitGone(pids, GONE_TIMEOUT_MS, t0),
        engine.wait(id).then(() => nowMs() - t0),
      ]);
      const result = await engine.getResult(id);
      if (result.status !== 'cancelled') throw new Error(`run ${r}: status ${result.status}`);
      if (goneMs === null) throw new Error(`run ${r}: tree not gone after ${GONE_TIMEOUT_MS} ms`);
      gone.push(goneMs);
      resultMs.push(doneMs);
      collectors.delete(id);
    }
    await engine.shutdown();
    engine.close();
    dir.remove();
  } else {
    for (let r = 0; r < runs; r++) {
      const collector = pidCollector();
      const child = spawn('sh', ['-c', script], { detached: true, stdio: ['ignore', 'pipe', 'inherit'] });
      const closed = new Promise((resolve) => child.once('close', resolve));
      let rest = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop();
        for (const line of parts) collector.line(line);
      });
      await collector.ready;
      const pids = collector.all();
      processes = pids.length;
      const t0 = nowMs();
      process.kill(-child.pid, 'SIGTERM');
      const force = ignoreTerm ? setTimeout(() => process.kill(-child.pid, 'SIGKILL'), graceMs) : null;
      const [goneMs, doneMs] = await Promise.all([
        waitGone(pids, GONE_TIMEOUT_MS, t0),
        closed.then(() => nowMs() - t0),
      ]);
      clearTimeout(force);
      if (goneMs === null) throw new Error(`run ${r}: tree not gone after ${GONE_TIMEOUT_MS} ms`);
      gone.push(goneMs);
      resultMs.push(doneMs);
    }
  }
  return { gone, resultMs, processes };
}

// ---- parent side ----

export async function run(ctx) {
  const runs = sized('BENCH_CANCEL_RUNS', 50, 5);
  const ignoreRuns = sized('BENCH_CANCEL_IGNORE_RUNS', 20, 3);
  const graceMs = intEnv('BENCH_CANCEL_GRACE_MS', 500);
  const variants = [
    { peer: 'engine-term', label: 'engine `cancel(id)`, tree honours SIGTERM', runs, graceMs: 5000 },
    { peer: 'raw-term', label: 'raw: detached spawn, `kill(-pgid, SIGTERM)`', runs, graceMs: 5000 },
    {
      peer: 'engine-ignore',
      label: `engine \`cancel(id)\`, tree ignores SIGTERM (kill_grace_ms ${graceMs})`,
      runs: ignoreRuns,
      graceMs,
    },
    {
      peer: 'raw-ignore',
      label: `raw: \`kill(-pgid, SIGTERM)\`, SIGKILL after ${graceMs} ms`,
      runs: ignoreRuns,
      graceMs,
    },
  ];
  const rows = [];
  const stats = {};
  for (const v of variants) {
    const res = await ctx.peer('cancel', v.peer, { runs: v.runs, graceMs: v.graceMs });
    const g = summary(res.gone);
    const d = summary(res.resultMs);
    stats[v.peer] = { gone: g, result: d, processes: res.processes };
    ctx.log(`  ${v.peer}: tree gone p50 ${fmt(g.p50, 2)} ms, p99 ${fmt(g.p99, 2)} ms`);
    rows.push([
      v.label,
      fmtInt(v.runs),
      String(res.processes),
      fmt(g.p50, 2),
      fmt(g.p99, 2),
      fmt(g.max, 2),
      fmt(d.p50, 2),
      fmt(d.p99, 2),
    ]);
  }
  const p99 = stats['engine-term'].gone.p99;
  const ig = stats['engine-ignore'].gone;
  return {
    title,
    intro: `Tree: \`sh -c "sh -c 'sleep 1000 & sleep 1000 & ...; wait' & ...; wait"\` (outer sh → inner sh → 2 × sleep; each prints its pid, and /proc is walked under the root as a cross-check). The clock starts when \`cancel\` (or \`kill\`) is called, once all ${TREE_SIZE} processes are up; "tree gone" = every pid has no /proc entry or is a zombie (polled every ~1 ms from the same process); "result" = \`wait(id)\` resolved (raw: 'close'). TERM-honouring runs use the default \`kill_grace_ms\` (5000); the SIGTERM-ignoring tree (\`trap "" TERM\`, inherited by the sleeps) uses \`kill_grace_ms: ${graceMs}\`, so its floor is ${graceMs} ms.`,
    tables: [
      {
        headers: [
          'variant',
          'runs',
          'processes',
          'tree gone p50 ms',
          'p99 ms',
          'max ms',
          'result p50 ms',
          'result p99 ms',
        ],
        rows,
      },
    ],
    ratios: [
      `SIGTERM-ignoring tree: engine p99 ${fmt(ig.p99, 1)} ms = kill_grace_ms ${graceMs} + ${fmt(ig.p99 - graceMs, 1)} ms`,
    ],
    targets: [
      {
        id: 'cancel-p99',
        label: 'p99 cancel < 250 ms (tree honours SIGTERM)',
        value: `${fmt(p99, 2)} ms (p50 ${fmt(stats['engine-term'].gone.p50, 2)} ms)`,
        pass: p99 < 250,
        profile: { case: 'cancel', peer: 'engine-term', opts: { runs, graceMs: 5000 } },
      },
    ],
    raw: { stats },
  };
}
