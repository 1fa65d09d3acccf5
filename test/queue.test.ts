/** Scale-out through BullMQ on a real redis-server, with `cloudops-exec worker` processes. */
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, expect, test } from 'vitest';
import type { ExecutionEngine, ExecutionEvent } from '../src/index.js';
import { backgroundWritingPid, isAlive, makeEngine, sh, tempDir, until } from './helpers.js';
import { type RedisServer, startRedis, startWorkerProcess, startWorkerProcessWithEnv } from './support/redis.js';

let redis: RedisServer;
beforeAll(async () => {
  redis = await startRedis();
});
afterAll(async () => {
  await redis?.stop();
});

type WorkerProcess = Awaited<ReturnType<typeof startWorkerProcess>>;
const workers: WorkerProcess[] = [];
const engines: ExecutionEngine[] = [];
afterEach(async () => {
  // Engines first, while their workers can still confirm the cancels.
  await Promise.all(engines.splice(0).map((e) => e.shutdown()));
  await Promise.all(workers.splice(0).map((w) => w.stop()));
});

/**
 * Shell text printing `ancestor <pid>` for each ancestor of the shell, as the host sees them,
 * up to init: which worker process ran a command. (`$PPID` does not say: in a PID namespace it
 * is the namespace's init, and the worker is further up, past `unshare`.)
 */
const PRINT_ANCESTORS =
  'a=self; while [ "$a" != 0 ]; do read -r s < /proc/$a/stat; s=${s##*)}; set -- $s; echo "ancestor $2"; a=$2; done';

/** Which of `pids` are among the ancestors `stdout` (from PRINT_ANCESTORS) lists. */
function ancestorsAmong(stdout: string, pids: number[]): number[] {
  const ancestors = new Set([...stdout.matchAll(/^ancestor (\d+)$/gm)].map((m) => Number(m[1])));
  return pids.filter((pid) => ancestors.has(pid));
}

/** A fresh queue, its submitting engine and `count` worker processes. */
async function fleet(count: number, workerArgs: string[] = [], redisExtra: Record<string, unknown> = {}) {
  const queue = `t-${randomUUID().slice(0, 8)}`;
  const started = await Promise.all(
    Array.from({ length: count }, () => startWorkerProcess(redis.url, queue, tempDir('cee-worker-'), ...workerArgs)),
  );
  workers.push(...started);
  const engine = makeEngine({ redis: { url: redis.url, queue, ...redisExtra }, kill_grace_ms: 500 });
  engines.push(engine);
  return { engine, workers: started, queue };
}

test('a dependency-graph plan is split over two workers and still runs each step after its dependencies', async () => {
  const {
    engine,
    workers: [a, b],
  } = await fleet(2, ['--concurrency', '1']);
  const dir = tempDir();
  const order = join(dir, 'order');
  // Diamond plus a tail: 1 and 2 run side by side (so both workers get work), 3 waits for both.
  const planId = await engine.executePlan({
    strategy: { type: 'dependency_graph', dependencies: { 1: [0], 2: [0], 3: [1, 2], 4: [3] } },
    commands: [0, 1, 2, 3, 4].map((i) =>
      sh(`echo start ${i} >> ${order}; sleep 0.3; ${PRINT_ANCESTORS}; echo end ${i} >> ${order}`),
    ),
  });
  const result = await engine.waitPlan(planId);
  expect(result.status).toBe('completed');
  const lines = readFileSync(order, 'utf8').trim().split('\n');
  const at = (what: string) => lines.indexOf(what);
  for (const [step, deps] of [
    [1, [0]],
    [2, [0]],
    [3, [1, 2]],
    [4, [3]],
  ] as const) {
    for (const dep of deps) expect(at(`end ${dep}`), `${step} after ${dep}`).toBeLessThan(at(`start ${step}`));
  }
  // Each step ran inside exactly one of the workers, and both workers ran some.
  const ranBy = result.results.map((r) => ancestorsAmong(r.stdout, [a!.pid, b!.pid]));
  for (const by of ranBy) expect(by).toHaveLength(1);
  expect(new Set(ranBy.flat())).toEqual(new Set([a!.pid, b!.pid]));
});

test('output streams back in order, into events, the result and the submitter-side log', async () => {
  const { engine } = await fleet(1);
  const events: ExecutionEvent[] = [];
  engine.subscribe((e) => void events.push(e));
  const id = await engine.execute(sh('seq 1 3000; echo oops >&2; exit 3'));
  const result = await engine.wait(id);
  expect(result).toMatchObject({
    status: 'failed',
    exit_code: 3,
    error_code: 'exit',
    error: 'Command failed with exit code 3',
    log_path: engine.getLogPath(id),
  });
  expect(result.stdout.split('\n').length).toBe(3001);
  const lines = events.filter((e) => e.event_type === 'stdout').map((e) => (e.event_type === 'stdout' ? e.line : ''));
  expect(lines).toEqual(Array.from({ length: 3000 }, (_, i) => String(i + 1)));
  expect(events.map((e) => e.event_type).filter((t) => t !== 'stdout')).toEqual(['started', 'stderr', 'failed']);
  const log = await engine.readLogs(id);
  expect(log).toContain('[stdout] 3000\n');
  expect(log).toMatch(/\[engine\] ran on worker \S+ \(.+, pid \d+\)/);
  expect(await engine.getStatus(id)).toBe('failed');
  expect((await engine.getResult(id)).exit_code).toBe(3);
});

test('a submitter and a worker sharing one state dir: one execution leaves one history record and one log', async () => {
  const queue = `t-${randomUUID().slice(0, 8)}`;
  const shared = tempDir('cee-shared-');
  workers.push(await startWorkerProcess(redis.url, queue, shared));
  const engine = makeEngine({ log_dir: shared, redis: { url: redis.url, queue } });
  engines.push(engine);
  const id = await engine.execute(sh('echo hello from the worker'));
  expect(await engine.wait(id)).toMatchObject({ status: 'completed', stdout: 'hello from the worker\n' });
  // The submitting engine keeps the record; the worker ran it and kept nothing of its own.
  expect(engine.history!.list().map((r) => r.id)).toEqual([id]);
  expect(engine.history!.get(id)).toMatchObject({ status: 'completed', log_path: join(shared, `${id}.log`) });
  const files = readdirSync(shared, { recursive: true, encoding: 'utf8' });
  expect(files.filter((f) => f.endsWith('.log'))).toEqual([`${id}.log`]);
  const log = readFileSync(join(shared, `${id}.log`), 'utf8');
  expect(log.match(/^# completed_at:/gm)).toHaveLength(1);
  expect(log).toMatch(/\[engine\] ran on worker \S+ \(.+, pid \d+\)/);
});

test("output is redacted on the worker: secrets it knows (its own and the request's) never reach Redis", async () => {
  const queue = `t-${randomUUID().slice(0, 8)}`;
  const workerSecret = `worker-${randomUUID()}`;
  const requestSecret = `request-${randomUUID()}`;
  workers.push(
    await startWorkerProcessWithEnv({ DEPLOY_TOKEN: workerSecret }, redis.url, queue, tempDir('cee-worker-')),
  );
  const engine = makeEngine({ redis: { url: redis.url, queue } });
  engines.push(engine);
  const id = await engine.execute({ ...sh('echo "w=$DEPLOY_TOKEN r=$API_KEY"'), env: { API_KEY: requestSecret } });
  expect((await engine.wait(id)).stdout).toBe('w=*** r=***\n');
  expect(await engine.readLogs(id)).toContain('[stdout] w=*** r=***\n');
  // The replies are still in the submitter's stream (it is trimmed only every 1,000 entries).
  const client = new Redis(redis.url);
  try {
    const [stream, ...others] = await client.keys(`cee:${queue}:replies:*`);
    expect(others).toEqual([]);
    const replies = JSON.stringify(await client.xrange(stream!, '-', '+'));
    expect(replies).toContain('w=*** r=***');
    expect(replies).not.toContain(workerSecret);
    expect(replies).not.toContain(requestSecret);
  } finally {
    client.disconnect();
  }
});

test('cancel reaches the worker running the command and kills its process tree', async () => {
  const { engine } = await fleet(1);
  const dir = tempDir();
  const pidFile = join(dir, 'pid');
  const id = await engine.execute(sh(`${backgroundWritingPid(pidFile, 'sleep 60')} wait`));
  await until(
    () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '',
    20_000,
    'grandchild started on the worker',
  );
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  await until(async () => (await engine.getStatus(id)) === 'running', 10_000, 'the submitter to hear it started');
  await engine.cancel(id);
  expect(await engine.wait(id)).toMatchObject({ status: 'cancelled', error_code: 'cancelled' });
  await until(() => !isAlive(grandchild), 10_000, 'grandchild gone');
});

test('a command still in the queue is cancelled without ever running', async () => {
  const { engine, queue } = await fleet(0);
  const dir = tempDir();
  const marker = join(dir, 'ran');
  const id = await engine.execute(sh(`touch ${marker}`));
  await new Promise((resolve) => setTimeout(resolve, 200));
  expect(await engine.getStatus(id)).toBe('pending');
  await engine.cancel(id);
  expect(await engine.wait(id)).toMatchObject({
    status: 'cancelled',
    error_code: 'cancelled',
    error: 'Execution cancelled',
    attempts: 0,
  });
  // A worker arriving later finds nothing to run.
  workers.push(await startWorkerProcess(redis.url, queue, tempDir('cee-worker-')));
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(existsSync(marker)).toBe(false);
});

test('a worker SIGKILLed mid-command: with on-worker-lost fail, the command is marked failed, not lost; its restart ends the leftover processes', async () => {
  const {
    engine,
    workers: [worker],
    queue,
  } = await fleet(1, ['--lock-duration', '1000', '--on-worker-lost', 'fail']);
  const pidFile = join(tempDir(), 'pid');
  const id = await engine.execute(
    sh(`${backgroundWritingPid(pidFile, 'sleep 60')} until [ -s ${pidFile} ]; do sleep 0.05; done; echo begun; wait`),
  );
  // The output line, not the log header (which quotes the command, "begun" and all).
  await until(async () => (await engine.readLogs(id)).includes('[stdout] begun'), 20_000, 'running on the worker');
  const leftover = Number(readFileSync(pidFile, 'utf8'));
  worker!.child.kill('SIGKILL');
  // The same worker restarted (same log dir, as a service manager would) finds what it left.
  const restarted = await startWorkerProcess(redis.url, queue, worker!.logDir, '--lock-duration', '1000');
  workers.push(restarted);
  const result = await engine.wait(id);
  expect(result.status).toBe('failed');
  expect(result.error_code).toBe('worker_lost');
  expect(result.error).toMatch(/^Worker lost: /);
  // The submitter's log says which worker had it and how it ended.
  const log = await engine.readLogs(id);
  expect(log).toMatch(/\[engine\] it was running on worker \S+ \(.+, pid \d+\)/);
  expect(log).toMatch(/^# error: Worker lost: /m);
  await until(() => !isAlive(leftover), 10_000, 'the leftover sleep to be ended by the restarted worker');
  expect(restarted.stderr()).toMatch(/ended [1-9]\d* process\(es\) left running by a worker that died/);
});

test('a worker SIGKILLed mid-command: with on-worker-lost retry, another worker runs it again', async () => {
  const args = ['--lock-duration', '1000', '--on-worker-lost', 'retry'];
  const {
    engine,
    workers: [first],
    queue,
  } = await fleet(1, args);
  const dir = tempDir();
  const attempts = join(dir, 'attempts');
  const events: ExecutionEvent[] = [];
  engine.subscribe((e) => void events.push(e));
  // The first run waits long enough to be killed; the second finds the marker and finishes.
  const id = await engine.execute(
    sh(`echo run >> ${attempts}; if [ $(wc -l < ${attempts}) -eq 1 ]; then sleep 60; fi; echo finished`),
  );
  // Killed once the submitter has heard the first run start (a start never reported is not a retry it can see).
  await until(
    async () => existsSync(attempts) && (await engine.getStatus(id)) === 'running',
    20_000,
    'first run started',
  );
  first!.child.kill('SIGKILL');
  workers.push(await startWorkerProcess(redis.url, queue, first!.logDir, ...args));
  const result = await engine.wait(id);
  expect(result.status).toBe('completed');
  expect(result.stdout).toBe('finished\n');
  expect(readFileSync(attempts, 'utf8')).toBe('run\nrun\n');
  expect(events.filter((e) => e.event_type === 'retrying')).toEqual([
    expect.objectContaining({ execution_id: id, reason: expect.stringMatching(/worker lost/) }),
  ]);
});

test('a stopping worker drains: the command in hand finishes and reports before it exits', async () => {
  const {
    engine,
    workers: [worker],
  } = await fleet(1);
  const id = await engine.execute(sh('echo working; sleep 0.8; echo done'));
  await until(async () => (await engine.readLogs(id)).includes('[stdout] working'), 20_000, 'running');
  worker!.child.kill('SIGTERM');
  expect(await worker!.exited).toBe(0);
  const result = await engine.wait(id);
  expect(result.status).toBe('completed');
  expect(result.stdout).toBe('working\ndone\n');
});

test('the fleet-wide limit holds over several workers', async () => {
  const { engine } = await fleet(2, ['--concurrency', '4'], { global_concurrency: 2 });
  const dir = tempDir();
  const running = join(dir, 'running');
  mkdirSync(running);
  const counts = join(dir, 'counts');
  const ids = await Promise.all(
    Array.from({ length: 8 }, (_, i) =>
      engine.execute(sh(`touch ${running}/${i}; ls ${running} | wc -l >> ${counts}; sleep 0.3; rm ${running}/${i}`)),
    ),
  );
  for (const id of ids) expect((await engine.wait(id)).status).toBe('completed');
  const seen = readFileSync(counts, 'utf8').trim().split('\n').map(Number);
  expect(seen).toHaveLength(8);
  expect(Math.max(...seen)).toBeLessThanOrEqual(2);
});

test('a cancel no worker answers (the fleet is gone) still ends the command, after the grace', async () => {
  const {
    engine,
    workers: [worker],
  } = await fleet(1);
  const id = await engine.execute(sh('echo begun; sleep 60'));
  await until(async () => (await engine.readLogs(id)).includes('[stdout] begun'), 20_000, 'running on the worker');
  worker!.child.kill('SIGKILL');
  await worker!.exited;
  await engine.cancel(id);
  const result = await engine.wait(id);
  expect(result.status).toBe('cancelled');
  expect(result.error_code).toBe('cancelled');
  expect(result.error).toMatch(/^Execution cancelled \(no worker confirmed it within \d+ ms\)$/);
});

test('the CLI and the HTTP server submit to the queue the same way', async () => {
  const {
    engine,
    queue,
    workers: [worker],
  } = await fleet(1);
  const { spawnSync } = await import('node:child_process');
  const { fileURLToPath } = await import('node:url');
  const root = fileURLToPath(new URL('..', import.meta.url));
  const run = spawnSync(
    process.execPath,
    [
      join(root, 'dist/cli/main.js'),
      '--log-dir',
      tempDir(),
      'run',
      '--redis',
      redis.url,
      '--queue',
      queue,
      'examples/dag.yaml',
    ],
    {
      cwd: root,
      encoding: 'utf8',
      timeout: 60_000,
    },
  );
  expect(run.status, run.stderr).toBe(0);
  expect(run.stdout).toMatch(/completed/);

  const { startServer } = await import('../src/server/index.js');
  const server = await startServer(engine, { port: 0, token: 'queue-test-token-0123456789' });
  try {
    const headers = { authorization: 'Bearer queue-test-token-0123456789', 'content-type': 'application/json' };
    const submitted = (await (
      await fetch(`${server.url}/api/executions`, {
        method: 'POST',
        headers,
        body: JSON.stringify(sh(`echo via http; ${PRINT_ANCESTORS}`)),
      })
    ).json()) as { id: string };
    const result = (await (
      await fetch(`${server.url}/api/executions/${submitted.id}/result?wait=true`, { headers })
    ).json()) as { stdout: string };
    expect(result.stdout).toMatch(/^via http\n/);
    expect(ancestorsAmong(result.stdout, [worker!.pid])).toEqual([worker!.pid]);
  } finally {
    await server.close();
  }
});

test('with Redis unreachable a command fails with a clear error instead of waiting forever', async () => {
  const { freePort } = await import('./support/processes.js');
  const engine = makeEngine({ redis: { url: `redis://127.0.0.1:${await freePort()}`, connect_timeout_ms: 500 } });
  const result = await engine.wait(await engine.execute(sh('echo never')));
  expect(result.status).toBe('failed');
  expect(result.error_code).toBe('queue_unavailable');
  expect(result.error).toMatch(/^Queue unavailable: cannot reach redis:\/\/127\.0\.0\.1:\d+ within 500 ms$/);
});

test('without redis the engine runs locally, and a worker refuses to start without a queue URL', async () => {
  const local = makeEngine();
  expect(local.config.redis).toBeNull();
  expect((await local.wait(await local.execute(sh('echo local')))).stdout).toBe('local\n');
  await expect(startWorkerProcess('not-a-url', 'q', tempDir())).rejects.toThrow(/redis|url/i);
});

test("the worker enforces the submitting engine's timeout, and refuses one above its --max-timeout", async () => {
  const { queue } = await fleet(1, ['--max-timeout', '10000']);
  const lenient = makeEngine({ redis: { url: redis.url, queue }, default_timeout_ms: 5_000 });
  engines.push(lenient);
  const allowed = await lenient.wait(await lenient.execute(sh('sleep 1; echo done')));
  expect(allowed).toMatchObject({ status: 'completed', stdout: 'done\n', error_code: null });
  // A submitting engine with a short default: the worker stops the command at that limit, and the result names it.
  const strict = makeEngine({ redis: { url: redis.url, queue }, default_timeout_ms: 300 });
  engines.push(strict);
  const limited = await strict.wait(await strict.execute(sh('sleep 3; echo too-late')));
  expect(limited).toMatchObject({ status: 'timeout', error_code: 'timeout', error: 'Execution timeout after 300ms' });
  expect(limited.stdout).not.toContain('too-late');
  // Longer than the worker allows: refused before it runs, never cut short.
  const patient = makeEngine({ redis: { url: redis.url, queue }, default_timeout_ms: 60_000 });
  engines.push(patient);
  const refused = await patient.wait(await patient.execute(sh('echo never')));
  expect(refused).toMatchObject({ status: 'failed', error_code: 'spawn_failed', stdout: '' });
  expect(refused.error).toMatch(/timeout 60000ms is above this worker's --max-timeout \(10000ms\)/);
});

test('a queued command returns its output exactly as it was: no newline added, CRLF kept, long lines whole', async () => {
  const { engine } = await fleet(1);
  const exact = async (command: string) => (await engine.wait(await engine.execute(sh(command)))).stdout;
  expect(await exact('printf abc')).toBe('abc');
  expect(await exact("printf 'one\\r\\ntwo\\r\\n'")).toBe('one\r\ntwo\r\n');
  const long = 'x'.repeat(3 * 1024 * 1024);
  expect(await exact(`head -c ${long.length} /dev/zero | tr '\\0' x`)).toBe(long);
});

test("a queued result is bounded by the submitting engine's max_output_bytes and names its log", async () => {
  const { queue } = await fleet(1);
  const small = makeEngine({ redis: { url: redis.url, queue }, max_output_bytes: 1000 });
  engines.push(small);
  const id = await small.execute(sh('seq 1 20000'));
  const result = await small.wait(id);
  expect(result).toMatchObject({ status: 'completed', stdout_truncated: true });
  expect(result.stdout.length).toBeLessThan(2_000);
  expect(result.stdout).toContain(`the full output is in ${small.getLogPath(id)}`);
  expect(await small.readLogs(id)).toMatch(/ 20000\n/);
});
