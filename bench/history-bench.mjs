// History store benchmark (not a test): generate a store of 1,000,000 records (HISTORY_BENCH_RECORDS
// overrides), the way a real history grows: in submission-time order, with realistic sizes. It
// reports the insert rate (records/s, full-text indexing included) and p50/p99 of the queries the
// dashboard, the API and the CLI make. Run with `npm run bench:history` (it builds first) or
// `node bench/history-bench.mjs` on the dist/ already built. `BENCH_ENGINE=/path/to/dist/index.js`
// measures another build (the baseline). The data is generated, never committed; the store is
// written to a temp dir and removed at the end (≈ 2.3 GiB at 1,000,000 records). Run time at
// 1,000,000 records: the inserts take ≈ 135 s of CPU and the queries ≈ 1–2 min (the 4-word search
// dominates); on 2 cores shared with other work (load 15) the whole run took 23 minutes, most of it
// waiting for the disk. HISTORY_BENCH_RECORDS=100000 runs in ≈ 1 minute.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';

const storeModule = process.env.BENCH_ENGINE
  ? pathToFileURL(join(dirname(resolve(process.env.BENCH_ENGINE)), 'history', 'store.js')).href
  : '../dist/history/store.js';
const { HistoryStore } = await import(storeModule);

const N = Number(process.env.HISTORY_BENCH_RECORDS ?? 1_000_000);
const RUNS = Number(process.env.HISTORY_BENCH_RUNS ?? 100);
const dir = mkdtempSync(join(tmpdir(), 'cee-history-bench-'));
const path = join(dir, 'history.sqlite');
const store = HistoryStore.open(path);

// Deterministic pseudo-random data (mulberry32, seeded), so runs are comparable.
let seed = 42;
const rand = () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
};
const pick = (list) => list[Math.floor(rand() * list.length)];
const hex = (n) =>
  Math.floor(rand() * 16 ** n)
    .toString(16)
    .padStart(n, '0');
const WORDS = [
  'instance',
  'running',
  'stopped',
  'volume',
  'snapshot',
  'bucket',
  'object',
  'policy',
  'role',
  'subnet',
  'route',
  'gateway',
  'throttled',
  'retry',
  'latency',
  'available',
  'pending',
  'attached',
  'tags',
  'owner',
];
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-south-1', 'sa-east-1'];
const STATUSES = ['completed', 'completed', 'completed', 'completed', 'failed', 'timeout', 'cancelled'];
const RISKS = ['read_only', 'read_only', 'read_only', 'modify', 'destructive'];
const OPS = [
  'describe-instances',
  'describe-volumes',
  'describe-snapshots',
  'run-instances',
  'stop-instances',
  'terminate-instances',
  'create-snapshot',
];
// Ids that recur across records, as real outputs name the same fleet again and again.
const INSTANCES = Array.from({ length: 20_000 }, () => `i-0${hex(16)}`);
const conversations = Array.from({ length: 2_000 }, (_, i) => `c0000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
const DAY = 86_400_000;
const SPAN = 180 * DAY; // the store covers the last six months
const now = Date.now();
const start = now - SPAN;

/** An output line as an AWS describe call prints it (≈ 90 characters). */
function outputLine() {
  return `${pick(INSTANCES)}\t${pick(WORDS)}\t${pick(REGIONS)}a\t10.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}.${Math.floor(rand() * 256)}\t${pick(WORDS)} ${pick(WORDS)}`;
}

/** Output sizes: most commands print a few lines, one in ten a few KiB, one in a hundred ≈ 32 KiB. */
function outputOf(i) {
  const r = rand();
  const lines = r < 0.89 ? 1 + Math.floor(rand() * 6) : r < 0.99 ? 30 + Math.floor(rand() * 30) : 350;
  const out = Array.from({ length: lines }, outputLine);
  if (i % 100 === 0) out.push('zebra-quokka'); // in 1% of outputs
  if (i === Math.floor(N * 0.7777)) out.push('unicorn-needle'); // in one
  return out.join('\n');
}

function recordOf(i) {
  const op = pick(OPS);
  const region = pick(REGIONS);
  // Random, as the engine's ids (randomUUID) are: the primary key index is written all over.
  const id = `${hex(8)}-${hex(4)}-4${hex(3)}-8${hex(3)}-${hex(6)}${hex(6)}`;
  const command = `aws ec2 ${op} --region ${region} --filters Name=tag:team,Values=${pick(['ops', 'data', 'web'])}`;
  // One every 15.5 s on average, in order: submitted_at grows with the rowid, as in a real store.
  const submitted = new Date(start + Math.floor(((i + rand()) * SPAN) / N));
  const status = pick(STATUSES);
  return {
    id,
    kind: i % 20 === 0 ? 'plan' : 'command',
    plan_id: null,
    name: null,
    conversation_id: pick(conversations),
    user_prompt: i % 4 === 0 ? `please ${op.replace('-', ' ')} in ${region}` : null,
    source: 'bench',
    status,
    risk_level: pick(RISKS),
    command,
    description: i % 3 === 0 ? `${op} for the ${pick(['nightly', 'weekly', 'ad-hoc'])} check` : null,
    request: {
      id,
      type: 'aws_cli',
      service: 'ec2',
      operation: op,
      args: { region, filters: `Name=tag:team,Values=${pick(['ops', 'data', 'web'])}` },
      timeout_ms: 60_000,
      env: {},
      metadata: { source: 'bench', tags: { team: 'ops' } },
    },
    plan: null,
    approval: null,
    exit_code: status === 'completed' ? 0 : 1,
    error: status === 'completed' ? null : `the command ${status}`,
    error_code: status === 'completed' ? null : status === 'failed' ? 'exit' : status,
    submitted_at: submitted.toISOString(),
    started_at: new Date(submitted.getTime() + 5).toISOString(),
    completed_at: new Date(submitted.getTime() + 1_200).toISOString(),
    duration_ms: Math.floor(rand() * 5000),
    log_path: join(dir, 'logs', `${id}.log`),
    tags: { team: pick(['ops', 'data', 'web']) },
    output: outputOf(i),
    engine_pid: 1,
    engine_id: 'bench',
    process_group: null,
    process_start: null,
    outputs: null,
    carried_from: null,
    place: 'local',
  };
}

// Insert in batches, as a busy engine's writer does per event-loop turn; only the store's time counts.
const BATCH = 1000;
let insertMs = 0;
let insertCpu = 0;
let outputChars = 0;
const wall0 = performance.now();
for (let first = 0; first < N; first += BATCH) {
  const batch = [];
  for (let i = first; i < Math.min(N, first + BATCH); i++) {
    const r = recordOf(i);
    outputChars += r.output.length;
    batch.push(r);
  }
  const s = performance.now();
  const c = process.cpuUsage();
  store.storeMany(batch);
  const used = process.cpuUsage(c);
  insertCpu += (used.user + used.system) / 1000;
  insertMs += performance.now() - s;
}
const wallMs = performance.now() - wall0;
// A store that grew over months has been closed and opened many times: its planner statistics
// are current (`PRAGMA optimize` at close). Gathered here at once, not timed.
store.analyze();

// The engine's own pattern on top: each command written when submitted, then again when it
// finishes (status, output), 10 commands per transaction (one event-loop turn).
const EXTRA = Math.min(20_000, Math.max(1_000, Math.floor(N / 50)));
let engineMs = 0;
let engineCpu = 0;
for (let first = N; first < N + EXTRA; first += 10) {
  const batch = Array.from({ length: 10 }, (_, k) => recordOf(first + k));
  const submitted = batch.map((r) => ({
    record: {
      ...r,
      status: 'running',
      output: null,
      completed_at: null,
      exit_code: null,
      error: null,
      error_code: null,
    },
  }));
  const s = performance.now();
  const c = process.cpuUsage();
  store.writeBatch(submitted);
  store.writeBatch(batch.map((r) => ({ record: r })));
  const used = process.cpuUsage(c);
  engineCpu += (used.user + used.system) / 1000;
  engineMs += performance.now() - s;
}

/** p50 and p99 of `RUNS` calls (after 3 unmeasured ones), and what the last call returned. */
function time(label, fn) {
  for (let r = 0; r < 3; r++) fn();
  const samples = [];
  let result;
  for (let r = 0; r < RUNS; r++) {
    const s = performance.now();
    result = fn();
    samples.push(performance.now() - s);
  }
  samples.sort((a, b) => a - b);
  const at = (q) => samples[Math.min(RUNS - 1, Math.ceil(q * RUNS) - 1)];
  return { label, p50: at(0.5), p99: at(0.99), rows: Array.isArray(result) ? result.length : result };
}

const end = now + DAY;
const thirtyDaysAgo = new Date(now - 30 * DAY);
const sixtyDaysAgo = new Date(now - 60 * DAY);
const rows = [
  time('list() newest 50', () => store.list({ limit: 50 })),
  time("list({status:'failed', from_date: 60 days ago, to_date: 30 days ago}) 50", () =>
    store.list({ status: 'failed', from_date: sixtyDaysAgo, to_date: thirtyDaysAgo, limit: 50 }),
  ),
  time("list({risk_level:'destructive', conversation_id}) 50", () =>
    store.list({ risk_level: 'destructive', conversation_id: conversations[7], limit: 50 }),
  ),
  time('list() page 100 (offset 5,000)', () => store.list({ limit: 50, offset: 5000 })),
  time('count()', () => store.count({})),
  time("count({status:'failed'})", () => store.count({ status: 'failed' })),
  time("search('instance') 50 (a word in most records)", () => store.search('instance', { limit: 50 })),
  time("search('zebra-quokka') 50 (1% of records)", () => store.search('zebra-quokka', { limit: 50 })),
  time("search('unicorn-needle') (1 record)", () => store.search('unicorn-needle', { limit: 50 })),
  time("search('terminate-instances eu-west-1') 50", () =>
    store.search('terminate-instances eu-west-1', { limit: 50 }),
  ),
  time("search('instance', {status:'failed', from_date: 30 days ago}) 50", () =>
    store.search('instance', { status: 'failed', from_date: thirtyDaysAgo, to_date: end, limit: 50 }),
  ),
];

const sizeOf = (file) => {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
};
store.close();
const bytes = sizeOf(path) + sizeOf(`${path}-wal`);
const rate = (n, ms) => Math.round(n / (ms / 1000)).toLocaleString('en');

console.log(`\n### History store, ${N.toLocaleString('en')} records (SQLite WAL, FTS5)\n`);
console.log(
  `Inserted in ${(insertMs / 1000).toFixed(2)} s of store time: **${rate(N, insertMs)} records/s** (batches of ${BATCH} per transaction; CPU ${(insertCpu / 1000).toFixed(2)} s, so ${rate(N, insertCpu)} records per CPU-second; generating included: ${(wallMs / 1000).toFixed(1)} s). ` +
    `Output ${Math.round(outputChars / N).toLocaleString('en')} characters per record on average; store ${(bytes / 2 ** 20).toFixed(0)} MiB on disk.`,
);
console.log(
  `Engine pattern (each record written when submitted and again when finished, 10 per transaction), ${EXTRA.toLocaleString('en')} more records: ${rate(EXTRA, engineMs)} records/s (${rate(EXTRA, engineCpu)} per CPU-second).\n`,
);
console.log(`| query | p50 (ms) | p99 (ms) | rows |`);
console.log('|---|---:|---:|---:|');
for (const r of rows) console.log(`| ${r.label} | ${r.p50.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.rows} |`);
console.log(`\n(${RUNS} runs of each query after 3 unmeasured ones.)`);
rmSync(dir, { recursive: true, force: true });
// For `bench/run.mjs` (case `history`): the figures as one JSON line, last.
if (process.argv.includes('--json')) {
  console.log(
    JSON.stringify({
      n: N,
      runs: RUNS,
      insertMs,
      insertCpu,
      wallMs,
      engine: { n: EXTRA, ms: engineMs, cpu: engineCpu },
      rows,
    }),
  );
}
