// Case 6, memory per tracked execution: run N executions of `true` (all retained: N <=
// max_retained_executions) in a `node --expose-gc` child, full GC before and after, and
// divide the heap / RSS growth by N. Warm-up (module loading, JIT) happens on a throwaway
// engine before the baseline.

import { fullGc, loadEngine, nowMs, sized, tempDir } from '../lib.mjs';
import { fmtBytes, fmtInt } from '../stats.mjs';

export const title = 'Memory per tracked execution';
const WIDTH = 10;
const PEERS = ['engine-nohist', 'engine-hist'];
const LABEL = {
  'engine-nohist': 'engine, `store_history: false`',
  'engine-hist': 'engine, `store_history: true` (default)',
};

// ---- child side ----

export async function runPeer(peer, { n }) {
  const { ExecutionEngine } = await loadEngine();
  const storeHistory = peer === 'engine-hist';
  const request = { command: { type: 'exec', program: 'true', args: [] } };
  const runAll = async (engine, count) => {
    const ids = await Promise.all(Array.from({ length: count }, () => engine.execute(request)));
    const results = await Promise.all(ids.map((id) => engine.wait(id)));
    if (results.some((r) => r.status !== 'completed')) throw new Error('an execution did not complete');
  };
  const dir = tempDir('cee-bench-memory-');
  {
    const warm = new ExecutionEngine({
      max_concurrent_executions: WIDTH,
      store_history: storeHistory,
      log_dir: dir.path,
      history_path: `${dir.path}/warm.sqlite`,
    });
    await runAll(warm, 200);
    await warm.shutdown();
    warm.close();
  }
  await fullGc();
  const before = process.memoryUsage();
  const engine = new ExecutionEngine({
    max_concurrent_executions: WIDTH,
    store_history: storeHistory,
    log_dir: dir.path,
    max_retained_executions: Math.max(n, 10_000),
  });
  const t0 = nowMs();
  await runAll(engine, n);
  const ms = nowMs() - t0;
  await fullGc();
  const after = process.memoryUsage();
  const retained = (await engine.listExecutions()).length;
  await engine.shutdown();
  engine.close();
  dir.remove();
  if (retained !== n) throw new Error(`${retained} of ${n} executions retained`);
  return { before, after, retained, ms };
}

// ---- parent side ----

export async function run(ctx) {
  const n = sized('BENCH_MEMORY_N', 10_000, 100);
  const rows = [];
  const per = {};
  for (const peer of PEERS) {
    const res = await ctx.peer('memory', peer, { n }, { nodeFlags: ['--expose-gc'] });
    const d = (k) => res.after[k] - res.before[k];
    per[peer] = { heap: d('heapUsed') / n, rss: d('rss') / n };
    ctx.log(`  ${peer}: heap +${fmtBytes(d('heapUsed'))}, rss +${fmtBytes(d('rss'))}`);
    rows.push([
      LABEL[peer],
      fmtInt(res.retained),
      fmtBytes(d('heapUsed')),
      fmtBytes(d('external')),
      fmtBytes(d('rss')),
      fmtInt(d('heapUsed') / n),
      fmtInt(d('rss') / n),
    ]);
  }
  return {
    title,
    intro: `${fmtInt(n)} completed executions of \`true\` (submitted at once, ${WIDTH} at a time), all still tracked (\`max_retained_executions\` ≥ ${fmtInt(n)}), in a \`node --expose-gc\` child; \`global.gc()\` ×4 before the baseline and before the measurement. Baseline taken after a throwaway engine ran 200 executions (modules loaded, code warm), before the measured engine is created.`,
    tables: [
      {
        headers: [
          'engine',
          'tracked',
          'heapUsed Δ',
          'external Δ',
          'RSS Δ',
          'heap bytes / execution',
          'RSS bytes / execution',
        ],
        rows,
      },
    ],
    ratios: [],
    notes: [
      'No target was set for this case. A tracked execution holds its request, result (stdout/stderr strings), lifecycle events for replay, an AbortController and a settled promise.',
    ],
    targets: [],
    raw: { n, per },
  };
}
