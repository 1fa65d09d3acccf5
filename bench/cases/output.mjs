// Case 2, output throughput: one command printing BYTES (1 GiB) of 100-byte lines,
//   yes '<99 chars>' | head -c BYTES
// read by the engine with line events on (a subscribed handler counts `stdout` lines), vs a
// raw pipe (child_process.spawn, count '\n' bytes) vs node:readline over the pipe (count
// 'line' events). Each peer in its own process: MiB/s and peak RSS growth of that process.
// Each peer first reads WARMUP_BYTES the same way, untimed: what is measured is output
// handling, not module loading, JIT or the engine's first-command set-up (its shell parser).
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { loadEngine, nowMs, rssTracker, sized, tempDir } from '../lib.mjs';
import { fmt, fmtBytes, fmtInt, ratio } from '../stats.mjs';

export const title = 'Output throughput';
const LINE = 'line: the quick brown fox jumps over the lazy dog; the quick brown fox jumps over the lazy dog!'.padEnd(
  99,
  '.',
);
const LINE_BYTES = LINE.length + 1; // 100 with the newline
const PEERS = ['engine', 'raw-pipe', 'readline'];
const LABEL = {
  engine: 'engine, line events on (handler counts lines)',
  'raw-pipe': "raw pipe (spawn, count '\\n' bytes)",
  readline: "node:readline over the pipe (count 'line')",
};
const MiB = 1024 * 1024;
const WARMUP_BYTES = 4 * MiB;

const commandOf = (bytes) => `yes '${LINE}' | head -c ${bytes}`;

// ---- child side ----

export async function runPeer(peer, { bytes }) {
  if (LINE_BYTES !== 100) throw new Error(`line is ${LINE_BYTES} bytes`);
  if (peer === 'engine') return runEngine(bytes);
  await readPipe(peer, WARMUP_BYTES);
  return readPipe(peer, bytes);
}

async function readPipe(peer, bytes) {
  const mem = rssTracker(50);
  const t0 = nowMs();
  const child = spawn('sh', ['-c', commandOf(bytes)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let lines = 0;
  let received = 0;
  if (peer === 'raw-pipe') {
    child.stdout.on('data', (chunk) => {
      received += chunk.length;
      for (let at = chunk.indexOf(10); at !== -1; at = chunk.indexOf(10, at + 1)) lines++;
    });
  } else if (peer === 'readline') {
    child.stdout.on('data', (chunk) => (received += chunk.length));
    const rl = createInterface({ input: child.stdout, crlfDelay: Infinity });
    rl.on('line', () => lines++);
  } else throw new Error(`unknown peer ${peer}`);
  const code = await new Promise((resolve) => child.once('close', resolve));
  const ms = nowMs() - t0;
  if (code !== 0) throw new Error(`command exited ${code}`);
  return { ms, lines, received, mem: mem.stop() };
}

async function runEngine(bytes) {
  const { ExecutionEngine } = await loadEngine();
  const dir = tempDir('cee-bench-output-');
  const engine = new ExecutionEngine({ log_dir: dir.path, store_history: false });
  let lines = 0;
  let lineBytes = 0;
  engine.withEventHandler((event) => {
    if (event.event_type === 'stdout') {
      lines++;
      lineBytes += event.line.length + 1;
    }
  });
  const run = async (size) =>
    engine.wait(
      await engine.execute({ command: { type: 'shell', shell: 'sh', command: commandOf(size) }, timeout_ms: 600_000 }),
    );
  const warm = await run(WARMUP_BYTES);
  if (warm.status !== 'completed') throw new Error(`engine warm-up: ${warm.status} ${warm.error}`);
  lines = 0;
  lineBytes = 0;
  const mem = rssTracker(50);
  const t0 = nowMs();
  const result = await run(bytes);
  const ms = nowMs() - t0;
  const memory = mem.stop();
  if (result.status !== 'completed') throw new Error(`engine: ${result.status} ${result.error}`);
  const logBytes = statSync(result.log_path).size;
  await engine.shutdown();
  engine.close();
  dir.remove();
  return { ms, lines, received: lineBytes, mem: memory, logBytes };
}

// ---- parent side ----

export async function run(ctx) {
  const bytes = sized('BENCH_OUTPUT_BYTES', 1024 * MiB, MiB);
  const res = {};
  for (const peer of PEERS) {
    res[peer] = await ctx.peer('output', peer, { bytes });
    ctx.log(
      `  ${peer}: ${fmt(res[peer].ms, 0)} ms, ${fmtInt(res[peer].lines)} lines, RSS +${fmtBytes(res[peer].mem.growth)}`,
    );
  }
  const mibs = (p) => bytes / MiB / (res[p].ms / 1000);
  const rows = PEERS.map((p) => [
    LABEL[p],
    fmt(res[p].ms / 1000, 2),
    fmt(mibs(p), 0),
    fmt(res[p].lines / (res[p].ms / 1000) / 1e6, 2),
    fmtInt(res[p].lines),
    fmtBytes(res[p].mem.baseline),
    fmtBytes(res[p].mem.growth),
  ]);
  const full = Math.floor(bytes / LINE_BYTES);
  const partial = bytes % LINE_BYTES ? 1 : 0;
  const growth = res.engine.mem.growth;
  const growthLimit = 48 * MiB; // the target of issue 19
  const speedup = mibs('engine') / mibs('readline');
  return {
    title,
    intro: `\`${commandOf('<bytes>').replace(LINE, '<99 chars>')}\` with ${fmtBytes(bytes)} (${fmtInt(full)} lines of ${LINE_BYTES} bytes${partial ? ' + a last partial line without newline, which the engine and readline count and the raw count does not' : ''}). Engine: \`store_history: false\`, log file in a temp dir (it writes every line, timestamped: ${res.engine.logBytes ? fmtBytes(res.engine.logBytes) : 'n/a'}), one handler subscribed. Each peer first reads ${fmtBytes(WARMUP_BYTES)} the same way, untimed (module loading, JIT, the engine's first-command set-up). Time from submit/spawn to result/close. RSS growth = peak RSS during the run (max of a 50 ms \`memoryUsage().rss\` sampler and the kernel's VmHWM, reset via \`/proc/self/clear_refs\` just before) minus RSS just before; each peer in its own process.`,
    tables: [
      {
        headers: ['peer', 'seconds', 'MiB/s', 'M lines/s', 'lines seen', 'RSS before', 'peak RSS growth'],
        rows,
      },
    ],
    ratios: [
      `engine / readline throughput: ${ratio(mibs('engine'), mibs('readline'))}; engine / raw pipe: ${ratio(mibs('engine'), mibs('raw-pipe'))}`,
    ],
    targets: [
      {
        id: 'output-readline',
        label: 'line-event throughput ≥ 1.5× readline',
        value: `${fmt(speedup, 2)}× (${fmt(mibs('engine'), 0)} vs ${fmt(mibs('readline'), 0)} MiB/s)`,
        pass: speedup >= 1.5,
        profile: { case: 'output', peer: 'engine', opts: { bytes: Math.min(bytes, 256 * MiB) } },
      },
      {
        id: 'output-rss',
        label: `engine RSS growth < ${fmtBytes(growthLimit)} on ${fmtBytes(bytes)} of output`,
        value: fmtBytes(growth),
        pass: growth < growthLimit,
      },
    ],
    raw: { bytes, res },
  };
}
