// Case 3, event latency: a Node child writes one line every ~2 ms, each carrying the
// CLOCK_MONOTONIC time it was written (process.hrtime.bigint(), comparable across processes
// on Linux); the receiver computes receive - sent for every line. Engine (an event handler
// on `stdout` events) vs a raw pipe ('data' + split) vs node:readline ('line').
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { loadEngine, sized, tempDir } from '../lib.mjs';
import { fmt, fmtInt, summary } from '../stats.mjs';

export const title = 'Event latency';
const TICKER = fileURLToPath(new URL('../fixtures/ticker.mjs', import.meta.url));
const INTERVAL_MS = 2;
const WARMUP = 10;
const PEERS = ['engine', 'raw-pipe', 'readline'];
const LABEL = {
  engine: 'engine: `stdout` event handler',
  'raw-pipe': "raw pipe: 'data', split on '\\n'",
  readline: "node:readline: 'line'",
};

const latencyUs = (line) => Number(process.hrtime.bigint() - BigInt(line.slice(0, line.indexOf(' ')))) / 1000;

// ---- child side ----

export async function runPeer(peer, { lines }) {
  const args = [TICKER, String(lines), String(INTERVAL_MS)];
  const samples = [];
  if (peer === 'engine') {
    const { ExecutionEngine } = await loadEngine();
    const dir = tempDir('cee-bench-latency-');
    const engine = new ExecutionEngine({ log_dir: dir.path, store_history: false });
    engine.withEventHandler((event) => {
      if (event.event_type === 'stdout') samples.push(latencyUs(event.line));
    });
    const id = await engine.execute({ command: { type: 'exec', program: process.execPath, args } });
    const result = await engine.wait(id);
    if (result.status !== 'completed') throw new Error(`engine: ${result.status} ${result.error}`);
    await engine.shutdown();
    engine.close();
    dir.remove();
  } else {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    if (peer === 'raw-pipe') {
      let rest = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk) => {
        const parts = (rest + chunk).split('\n');
        rest = parts.pop();
        for (const line of parts) samples.push(latencyUs(line));
      });
    } else if (peer === 'readline') {
      createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => samples.push(latencyUs(line)));
    } else throw new Error(`unknown peer ${peer}`);
    const code = await new Promise((resolve) => child.once('close', resolve));
    if (code !== 0) throw new Error(`ticker exited ${code}`);
  }
  if (samples.length !== lines) throw new Error(`${samples.length} of ${lines} lines received`);
  return { samples: samples.slice(WARMUP) };
}

// ---- parent side ----

export async function run(ctx) {
  const lines = sized('BENCH_LATENCY_LINES', 2000, 50);
  const stats = {};
  for (const peer of PEERS) {
    const res = await ctx.peer('latency', peer, { lines });
    stats[peer] = summary(res.samples.map((us) => us / 1000));
    ctx.log(`  ${peer}: p50 ${fmt(stats[peer].p50, 3)} ms, p99 ${fmt(stats[peer].p99, 3)} ms`);
  }
  const rows = PEERS.map((p) => {
    const s = stats[p];
    return [LABEL[p], fmtInt(s.n), fmt(s.p50, 3), fmt(s.p90, 3), fmt(s.p99, 3), fmt(s.max, 3)];
  });
  const p99 = stats.engine.p99;
  return {
    title,
    intro: `${fmtInt(lines)} lines, one every ~${INTERVAL_MS} ms (\`bench/fixtures/ticker.mjs\`, a Node child started by each peer), each carrying its write time from \`process.hrtime.bigint()\` (CLOCK_MONOTONIC, same clock in both processes); latency = the receiver's \`process.hrtime.bigint()\` in the handler minus that. The first ${WARMUP} lines (child start-up, JIT) are left out. Engine: \`store_history: false\`, log in a temp dir.`,
    tables: [{ headers: ['receiver', 'lines', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'], rows }],
    ratios: [
      `engine p99 - raw pipe p99: ${fmt(p99 - stats['raw-pipe'].p99, 3)} ms; engine p50 - raw pipe p50: ${fmt(stats.engine.p50 - stats['raw-pipe'].p50, 3)} ms`,
    ],
    targets: [
      {
        id: 'latency-p99',
        label: 'p99 event latency < 5 ms',
        value: `${fmt(p99, 3)} ms (p50 ${fmt(stats.engine.p50, 3)} ms)`,
        pass: p99 < 5,
        profile: { case: 'latency', peer: 'engine', opts: { lines } },
      },
    ],
    raw: { lines, stats },
  };
}
