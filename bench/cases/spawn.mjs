// Case 1, spawn throughput: N short commands (`true`) at concurrency 10 through the engine
// (history off and on) vs child_process.spawn in a 10-wide pool vs execa in a 10-wide pool
// vs `xargs -P 10 -n 1 true` (timed as a whole). Each peer runs in its own process; rounds
// rotate the peer order and the median round is reported.
import { spawn } from 'node:child_process';
import { cpuSince, cpuTimes, intEnv, loadEngine, nowMs, pool, sized, spawnDone, tempDir } from '../lib.mjs';
import { fmt, fmtInt, median, ratio } from '../stats.mjs';

export const title = 'Spawn throughput';
const WIDTH = 10;
const WARMUP = 20;
const PEERS = ['engine-nohist', 'engine-hist', 'engine-hist-pgroup', 'raw-spawn', 'execa', 'xargs'];
const LABEL = {
  'engine-nohist': 'engine, `store_history: false`',
  'engine-hist': 'engine, `store_history: true` (default)',
  // As root, `process_containment: auto` runs each command in a PID namespace of its own (an
  // `unshare` and an init process per command); as any other user it is the process group.
  'engine-hist-pgroup': 'engine, default but `process_containment: process_group` (what `auto` is when not root)',
  'raw-spawn': 'child_process.spawn, 10-wide pool',
  execa: 'execa 9, 10-wide pool',
  xargs: '`xargs -P 10 -n 1 true`',
};

// ---- child side ----

export async function runPeer(peer, { n }) {
  if (peer.startsWith('engine')) return runEngine(n, peer !== 'engine-nohist', peer === 'engine-hist-pgroup');
  if (peer === 'raw-spawn') {
    await pool(WARMUP, WIDTH, () => spawnDone('true', []));
    const cpu = cpuTimes();
    const t0 = nowMs();
    await pool(n, WIDTH, async () => {
      const { code } = await spawnDone('true', []);
      if (code !== 0) throw new Error(`true exited ${code}`);
    });
    return { ms: nowMs() - t0, cpu: cpuSince(cpu) };
  }
  if (peer === 'execa') {
    const { execa } = await import('execa');
    await pool(WARMUP, WIDTH, () => execa('true', []));
    const cpu = cpuTimes();
    const t0 = nowMs();
    await pool(n, WIDTH, () => execa('true', []));
    return { ms: nowMs() - t0, cpu: cpuSince(cpu) };
  }
  if (peer === 'xargs') {
    const cpu = cpuTimes();
    const t0 = nowMs();
    const code = await new Promise((resolve, reject) => {
      const child = spawn('sh', ['-c', `seq 1 ${n} | xargs -P ${WIDTH} -n 1 true`], { stdio: 'inherit' });
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`xargs exited ${code}`);
    // xargs does the spawning: its CPU is the "children" figure (it and its children, reaped).
    const used = cpuSince(cpu);
    return { ms: nowMs() - t0, cpu: { self: NaN, children: used.children } };
  }
  throw new Error(`unknown peer ${peer}`);
}

async function runEngine(n, storeHistory, processGroup) {
  const { ExecutionEngine } = await loadEngine();
  const dir = tempDir('cee-bench-spawn-');
  const engine = new ExecutionEngine({
    max_concurrent_executions: WIDTH,
    store_history: storeHistory,
    log_dir: dir.path,
    ...(processGroup ? { process_containment: 'process_group' } : {}),
  });
  const request = { command: { type: 'exec', program: 'true', args: [] } };
  const runAll = async (count) => {
    const ids = await Promise.all(Array.from({ length: count }, () => engine.execute(request)));
    const results = await Promise.all(ids.map((id) => engine.wait(id)));
    const bad = results.filter((r) => r.status !== 'completed');
    if (bad.length > 0) throw new Error(`${bad.length} executions did not complete: ${bad[0].status} ${bad[0].error}`);
  };
  await runAll(WARMUP);
  const cpu = cpuTimes();
  const t0 = nowMs();
  await runAll(n);
  const ms = nowMs() - t0;
  const used = cpuSince(cpu);
  await engine.shutdown();
  engine.close();
  dir.remove();
  return { ms, cpu: used };
}

// ---- parent side ----

export async function run(ctx) {
  const n = sized('BENCH_SPAWN_N', 2000, 20);
  const rounds = intEnv('BENCH_SPAWN_ROUNDS', 3);
  const ms = Object.fromEntries(PEERS.map((p) => [p, []]));
  const cpuSelf = Object.fromEntries(PEERS.map((p) => [p, []]));
  const cpuChildren = Object.fromEntries(PEERS.map((p) => [p, []]));
  for (let r = 0; r < rounds; r++) {
    const order = PEERS.map((_, i) => PEERS[(i + r) % PEERS.length]);
    for (const peer of order) {
      const res = await ctx.peer('spawn', peer, { n });
      ms[peer].push(res.ms);
      cpuSelf[peer].push(res.cpu.self ?? NaN);
      cpuChildren[peer].push(res.cpu.children ?? NaN);
      ctx.log(`  round ${r + 1}/${rounds} ${peer}: ${fmt(res.ms, 0)} ms`);
    }
  }
  const med = Object.fromEntries(PEERS.map((p) => [p, median(ms[p])]));
  const perSec = (p) => n / (med[p] / 1000);
  const rows = PEERS.map((p) => [
    LABEL[p],
    fmt(med[p], 0),
    `${fmt(Math.min(...ms[p]), 0)}–${fmt(Math.max(...ms[p]), 0)}`,
    fmtInt(perSec(p)),
    fmt(med[p] / n, 3),
    fmt(median(cpuSelf[p]) / n, 3),
    fmt(median(cpuChildren[p]) / n, 2),
    ratio(med[p], med['raw-spawn']),
  ]);
  const targets = [];
  // With its history row and log file the engine does more per command than a bare pool; the
  // default configuration gets a little more room than the one without history.
  const RAW_LIMIT = { 'engine-nohist': 1.15, 'engine-hist': 1.3 };
  for (const p of ['engine-nohist', 'engine-hist']) {
    const r = med[p] / med['raw-spawn'];
    targets.push({
      id: `spawn-raw-${p}`,
      label: `${LABEL[p]}: time ≤ ${RAW_LIMIT[p]}× raw spawn`,
      value: `${fmt(r, 2)}×`,
      pass: r <= RAW_LIMIT[p],
      profile: { case: 'spawn', peer: p, opts: { n } },
    });
  }
  for (const p of ['engine-nohist', 'engine-hist']) {
    const r = perSec(p) / perSec('execa');
    targets.push({
      id: `spawn-execa-${p}`,
      label: `${LABEL[p]}: throughput ≥ 1.5× execa`,
      value: `${fmt(r, 2)}×`,
      pass: r >= 1.5,
      profile: { case: 'spawn', peer: p, opts: { n } },
    });
  }
  return {
    title,
    intro: `${fmtInt(n)} × \`{type: 'exec', program: 'true', args: []}\`, ${WIDTH} at a time (engine: \`max_concurrent_executions: ${WIDTH}\`, all submitted at once, then \`wait\`ed). ${WARMUP} warm-up commands per peer first (not timed). Each peer runs in a fresh Node process; ${rounds} rounds with rotated peer order, median round shown (range = fastest–slowest round). CPU columns (medians, per command): the Node process's own CPU time (all threads, libuv's pool included) and that of its reaped children (\`/proc/self/stat\` cutime+cstime, 10 ms ticks); with 2 cores, CPU the parent spends per command is CPU the children cannot use.`,
    tables: [
      {
        headers: [
          'peer',
          'total ms (median)',
          'range ms',
          'commands/s',
          'ms/command',
          'parent CPU ms/command',
          'children CPU ms/command',
          'time vs raw spawn',
        ],
        rows,
      },
    ],
    ratios: [
      `engine (history off) / raw spawn: ${ratio(med['engine-nohist'], med['raw-spawn'])} time; engine (history on) / raw spawn: ${ratio(med['engine-hist'], med['raw-spawn'])} time`,
      `engine throughput / execa throughput: ${ratio(perSec('engine-nohist'), perSec('execa'))} (history off), ${ratio(perSec('engine-hist'), perSec('execa'))} (history on)`,
      `engine with process-group containment (history on) / raw spawn: ${ratio(med['engine-hist-pgroup'], med['raw-spawn'])} time; throughput vs execa ${ratio(perSec('engine-hist-pgroup'), perSec('execa'))}`,
      `xargs (no Node at all) / raw spawn: ${ratio(med.xargs, med['raw-spawn'])} time`,
    ],
    targets,
    raw: { n, rounds, ms, cpuSelf, cpuChildren },
  };
}
