// Scale-out benchmark (not a test): 2,000 short commands (`true`) through the queue with 1, 2
// and 4 `cloudops-exec worker` processes (concurrency 10 each), beside the same commands run
// locally at concurrency 10. Uses REDIS_URL, or starts its own redis-server on loopback.
// Run with `npm run bench:queue`; prints a Markdown table (`--json`: the figures, for the
// suite's `queue` case).
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { createEngine } from '../dist/index.js';

const COMMANDS = Number(process.env.QUEUE_BENCH_COMMANDS ?? 2000);
const PER_WORKER = 10;
const WORKER_COUNTS = (process.env.QUEUE_BENCH_WORKERS ?? '1,2,4').split(',').map(Number);
const BIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
const dirs = [];
const tempDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'cee-queue-bench-'));
  dirs.push(dir);
  return dir;
};

const freePort = () =>
  new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });

async function redisServer() {
  if (process.env.REDIS_URL) return { url: process.env.REDIS_URL, stop: () => {} };
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    const client = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    client.on('error', () => {});
    const ok = await client
      .connect()
      .then(() => client.ping())
      .catch(() => null);
    client.disconnect();
    if (ok === 'PONG') return { url, stop: () => child.kill('SIGTERM') };
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('redis-server did not start');
}

async function startWorker(url, queue) {
  const child = spawn(
    process.execPath,
    [BIN, '--log-dir', tempDir(), 'worker', '--redis', url, '--queue', queue, '--concurrency', String(PER_WORKER)],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  while (!stderr.includes('taking jobs')) {
    if (child.exitCode !== null) throw new Error(`worker failed: ${stderr}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return child;
}

async function runAll(engine) {
  const request = { command: { type: 'exec', program: 'true', args: [] } };
  const t0 = performance.now();
  const ids = await Promise.all(Array.from({ length: COMMANDS }, () => engine.execute(request)));
  const results = await Promise.all(ids.map((id) => engine.wait(id)));
  const ms = performance.now() - t0;
  const failed = results.filter((r) => r.status !== 'completed').length;
  if (failed > 0) throw new Error(`${failed} commands did not complete`);
  return ms;
}

const rows = [];
const local = createEngine({ log_dir: tempDir(), max_concurrent_executions: PER_WORKER, store_history: false });
const localMs = await runAll(local);
await local.shutdown();
rows.push({ mode: `local engine, concurrency ${PER_WORKER}`, ms: localMs });

const redis = await redisServer();
try {
  for (const count of WORKER_COUNTS) {
    const queue = `bench-${randomUUID().slice(0, 8)}`;
    const workers = await Promise.all(Array.from({ length: count }, () => startWorker(redis.url, queue)));
    const engine = createEngine({
      log_dir: tempDir(),
      store_history: false,
      max_concurrent_executions: PER_WORKER * count,
      redis: { url: redis.url, queue, global_concurrency: PER_WORKER * count },
    });
    const ms = await runAll(engine);
    await engine.shutdown();
    rows.push({ mode: `queue, ${count} worker${count > 1 ? 's' : ''} × ${PER_WORKER}`, ms });
    for (const w of workers) w.kill('SIGTERM');
    await Promise.all(workers.map((w) => (w.exitCode !== null ? null : new Promise((r) => w.on('close', r)))));
  }
} finally {
  redis.stop();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
}

if (process.argv.includes('--json')) {
  console.log(JSON.stringify({ commands: COMMANDS, perWorker: PER_WORKER, localMs, rows }));
  process.exit(0);
}
console.log(
  `\n${COMMANDS} × \`true\`, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown cpu'}), Node ${process.version}\n`,
);
console.log('| mode | total ms | commands/s | vs local |');
console.log('|---|---:|---:|---:|');
for (const row of rows) {
  console.log(
    `| ${row.mode} | ${row.ms.toFixed(0)} | ${(COMMANDS / (row.ms / 1000)).toFixed(0)} | ${(localMs / row.ms).toFixed(2)}× |`,
  );
}
