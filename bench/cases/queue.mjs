// Case 7, scale-out: 2,000 short commands through BullMQ/Redis with 1, 2 and 4 worker
// processes, beside the local engine (bench/queue-bench.mjs does the work in its own process;
// it needs redis-server, or REDIS_URL).
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sized } from '../lib.mjs';
import { fmtInt } from '../stats.mjs';

export const title = 'Scale-out: commands through the queue';
const SCRIPT = join(dirname(fileURLToPath(import.meta.url)), '..', 'queue-bench.mjs');

export async function run(ctx) {
  const n = sized('BENCH_QUEUE_N', 2000, 100);
  const out = execFileSync(process.execPath, [SCRIPT, '--json'], {
    env: { ...process.env, QUEUE_BENCH_COMMANDS: String(n) },
    encoding: 'utf8',
    timeout: 20 * 60_000,
  });
  const { localMs, rows, perWorker } = JSON.parse(out.trim().split('\n').at(-1));
  for (const row of rows) ctx.log(`  ${row.mode}: ${Math.round(row.ms)} ms`);
  const oneWorker = rows.find((r) => /^queue, 1 worker/.test(r.mode));
  return {
    title,
    intro: `${fmtInt(n)} × \`{type: 'exec', program: 'true'}\` submitted at once and waited for. Local: one engine, \`max_concurrent_executions: ${perWorker}\`. Queue: a submitting engine with the \`redis\` option (fleet-wide limit ${perWorker} × workers) and that many \`cloudops-exec worker --concurrency ${perWorker}\` processes on the same machine, Redis 7 on loopback, history off on the submitter.`,
    tables: [
      {
        headers: ['mode', 'total ms', 'commands/s', 'vs local'],
        rows: rows.map((r) => [r.mode, fmtInt(r.ms), fmtInt(n / (r.ms / 1000)), `${(localMs / r.ms).toFixed(2)}×`]),
      },
    ],
    ratios: [],
    notes: [
      "All workers share this machine's 2 cores with the submitter and Redis, so more workers cannot add CPU here: the figures show the cost of the queue (a job, a lock, a reply stream per command) and that it spreads; on separate machines each worker adds its own cores.",
    ],
    targets: oneWorker
      ? [
          {
            id: 'queue-one-worker',
            label: 'queue mode, 1 worker on the same machine: throughput ≥ 0.75× local',
            value: `${(localMs / oneWorker.ms).toFixed(2)}×`,
            pass: localMs / oneWorker.ms >= 0.75,
          },
        ]
      : [],
    raw: { n, localMs, rows },
  };
}
