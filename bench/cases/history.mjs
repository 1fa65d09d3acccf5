// Case 8, the history store at scale: bench/history-bench.mjs fills a fresh store (1,000,000
// generated records by default) and times inserts and the queries a dashboard and the CLI make.
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sized } from '../lib.mjs';
import { fmt, fmtInt } from '../stats.mjs';

export const title = 'History store at scale';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'history-bench.mjs');
const INSERT_TARGET = 25_000;
/** The queries the issue names: newest page, filtered lists, a one-word search. */
const QUERY_TARGETS = [
  'list() newest 50',
  "list({status:'failed', from_date: 60 days ago, to_date: 30 days ago}) 50",
  "list({risk_level:'destructive', conversation_id}) 50",
  "search('instance') 50 (a word in most records)",
  "search('zebra-quokka') 50 (1% of records)",
];

export async function run(ctx) {
  const n = sized('BENCH_HISTORY_N', 1_000_000, 10_000);
  const out = execFileSync(process.execPath, [SCRIPT, '--json'], {
    env: { ...process.env, HISTORY_BENCH_RECORDS: String(n) },
    encoding: 'utf8',
    maxBuffer: 64 * 2 ** 20,
    timeout: 60 * 60_000,
  });
  const res = JSON.parse(out.trim().split('\n').at(-1));
  const perSec = n / (res.insertMs / 1000);
  ctx.log(`  inserts: ${fmtInt(perSec)} records/s`);
  const targets = [
    {
      id: 'history-inserts',
      label: `history inserts (full-text indexed) ≥ ${fmtInt(INSERT_TARGET)} records/s`,
      value: `${fmtInt(perSec)} records/s (${fmtInt(n / (res.insertCpu / 1000))} per CPU-second)`,
      pass: perSec >= INSERT_TARGET,
    },
  ];
  for (const label of QUERY_TARGETS) {
    const row = res.rows.find((r) => r.label === label);
    if (!row) continue;
    targets.push({
      id: `history-${label}`,
      label: `history at ${fmtInt(n)} records, ${label}: p50 < 5 ms, p99 < 25 ms`,
      value: `p50 ${fmt(row.p50, 2)} ms, p99 ${fmt(row.p99, 2)} ms`,
      pass: row.p50 < 5 && row.p99 < 25,
    });
  }
  return {
    title,
    intro: `\`bench/history-bench.mjs\` (also \`npm run bench:history\`): a fresh store filled with ${fmtInt(n)} generated records in submission order (random ids, ~750 characters of output each, request JSON), in batches of 1,000 per transaction, then each query run ${res.runs} times after 3 unmeasured ones. Inserts/s count the store's time only (generating the records excluded).`,
    tables: [
      {
        headers: ['query', 'p50 ms', 'p99 ms', 'rows'],
        rows: res.rows.map((r) => [r.label, fmt(r.p50, 2), fmt(r.p99, 2), String(r.rows)]),
      },
    ],
    ratios: [
      `inserts: ${fmtInt(perSec)} records/s of store time (${fmtInt(n / (res.insertCpu / 1000))} per CPU-second); engine pattern (written at submit and at end, 10 per transaction): ${fmtInt(res.engine.n / (res.engine.ms / 1000))} records/s`,
    ],
    targets,
    raw: res,
  };
}
