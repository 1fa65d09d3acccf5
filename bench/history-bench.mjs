// History store benchmark (not a test): store 100,000 records, then time list() with filters
// and search(). Run with `npm run bench:history` (it builds first). Prints a Markdown table.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { HistoryStore } from '../dist/history/store.js';

const N = Number(process.env.HISTORY_BENCH_RECORDS ?? 100_000);
const dir = mkdtempSync(join(tmpdir(), 'cee-history-bench-'));
const store = HistoryStore.open(join(dir, 'history.sqlite'));

// Deterministic pseudo-random data (a seeded LCG), so runs are comparable.
let seed = 42;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
const pick = (list) => list[Math.floor(rand() * list.length)];
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
];
const REGIONS = ['us-east-1', 'us-west-2', 'eu-west-1', 'eu-central-1', 'ap-south-1', 'sa-east-1'];
const STATUSES = ['completed', 'completed', 'completed', 'failed', 'timeout', 'cancelled'];
const RISKS = ['read_only', 'read_only', 'modify', 'destructive'];
const OPS = [
  'describe-instances',
  'describe-volumes',
  'run-instances',
  'stop-instances',
  'terminate-instances',
  'create-snapshot',
];
const conversations = Array.from({ length: 500 }, (_, i) => `c0000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
const now = Date.now();
const DAY = 86_400_000;

const t0 = performance.now();
const BATCH = 1000;
for (let start = 0; start < N; start += BATCH) {
  const batch = [];
  for (let i = start; i < Math.min(N, start + BATCH); i++) {
    const rareWord = i % 100 === 0 ? ' zebra-quokka' : ''; // in 1% of outputs
    batch.push({
      id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
      kind: i % 20 === 0 ? 'plan' : 'command',
      plan_id: null,
      conversation_id: pick(conversations),
      source: 'bench',
      status: pick(STATUSES),
      risk_level: pick(RISKS),
      command: `aws ec2 ${pick(OPS)} --region ${pick(REGIONS)}`,
      description: null,
      request: null,
      plan: null,
      approval: null,
      exit_code: 0,
      error: null,
      submitted_at: new Date(now - Math.floor(rand() * 90 * DAY)).toISOString(),
      started_at: null,
      completed_at: null,
      duration_ms: Math.floor(rand() * 5000),
      log_path: join(dir, `${i}.log`),
      tags: { team: pick(['ops', 'data', 'web']) },
      output:
        Array.from({ length: 40 }, () => pick(WORDS)).join(' ') + (i === 77_777 ? ' unicorn-needle' : '') + rareWord,
      engine_pid: 1,
      engine_id: 'bench',
    });
  }
  store.storeMany(batch);
}
const insertMs = performance.now() - t0;
store.analyze(); // as `PRAGMA optimize` would over time on a store that grew gradually

function time(label, fn, runs = 5) {
  const samples = [];
  let result;
  for (let r = 0; r < runs; r++) {
    const s = performance.now();
    result = fn();
    samples.push(performance.now() - s);
  }
  samples.sort((a, b) => a - b);
  return { label, median: samples[Math.floor(runs / 2)], rows: Array.isArray(result) ? result.length : result };
}

const thirtyDaysAgo = new Date(now - 30 * DAY);
const rows = [
  time('list() newest 50', () => store.list({ limit: 50 })),
  time("list({status:'failed', from_date: 30 days ago}) 50", () =>
    store.list({ status: 'failed', from_date: thirtyDaysAgo, limit: 50 }),
  ),
  time("list({risk_level:'destructive', conversation_id}) ", () =>
    store.list({ risk_level: 'destructive', conversation_id: conversations[7], limit: 50 }),
  ),
  time('list() page 100 (offset 5,000)', () => store.list({ limit: 50, offset: 5000 })),
  time("count({status:'completed'})", () => store.count({ status: 'completed' })),
  time("search('zebra-quokka') 50 (1% of records)", () => store.search('zebra-quokka', { limit: 50 })),
  time("search('unicorn-needle') (1 record)", () => store.search('unicorn-needle', { limit: 50 })),
  time("search('terminate-instances eu-west-1') 50", () =>
    store.search('terminate-instances eu-west-1', { limit: 50 }),
  ),
];

console.log(`\n### History store, ${N.toLocaleString('en')} records (SQLite WAL, FTS5)\n`);
console.log(
  `Inserted in ${(insertMs / 1000).toFixed(2)} s (${Math.round(N / (insertMs / 1000)).toLocaleString('en')} records/s, batches of ${BATCH} per transaction).\n`,
);
console.log('| query | median of 5 (ms) | rows |');
console.log('|---|---:|---:|');
for (const r of rows) console.log(`| ${r.label} | ${r.median.toFixed(2)} | ${r.rows} |`);
store.close();
rmSync(dir, { recursive: true, force: true });
