/**
 * A real Redis for the queue tests: REDIS_URL's (CI starts one, persistence off), or a
 * fresh `redis-server` of our own on a free loopback port. Tests use their own queue names,
 * so a shared server needs no cleaning.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { freePort, kill } from './processes.js';

export interface RedisServer {
  url: string;
  stop(): Promise<void>;
}

async function pong(url: string): Promise<boolean> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => {}); // refused while the server starts: expected
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

export async function startRedis(): Promise<RedisServer> {
  const shared = process.env.REDIS_URL;
  if (shared) {
    const host = new URL(shared).hostname;
    if (host !== '127.0.0.1' && host !== 'localhost')
      throw new Error(`REDIS_URL must be a local server, not ${shared}`);
    return { url: shared, stop: async () => {} };
  }
  return startPrivateRedis();
}

/** A `redis-server` of the caller's own (persistence off), which it may also kill: `child`. */
export async function startPrivateRedis(): Promise<RedisServer & { child: ChildProcess }> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let output = '';
  const child: ChildProcess = spawn(
    'redis-server',
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  let spawnError: Error | null = null;
  child.once('error', (err) => (spawnError = err));
  const deadline = Date.now() + 10_000;
  while (!(await pong(url))) {
    if (spawnError || child.exitCode !== null || Date.now() > deadline) {
      await kill(child);
      throw new Error(
        `redis-server on ${url} did not start${spawnError ? `: ${(spawnError as Error).message} (install Debian's redis-server)` : ''}\n${output}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { url, child, stop: () => kill(child) };
}

const BIN = join(fileURLToPath(new URL('../..', import.meta.url)), 'dist/cli/main.js');

/** A `cloudops-exec worker` process; its stderr is collected for diagnostics. */
export function startWorkerProcess(url: string, queue: string, logDir: string, ...args: string[]) {
  return startWorkerProcessWithEnv({}, url, queue, logDir, ...args);
}

/** A worker process with `env` added to its environment (the commands it runs inherit it). */
export async function startWorkerProcessWithEnv(
  env: Record<string, string>,
  url: string,
  queue: string,
  logDir: string,
  ...args: string[]
) {
  const argv = [BIN, '--log-dir', logDir, 'worker', '--redis', url, '--queue', queue, ...args];
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  while (!stderr.includes('taking jobs')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`worker did not start: ${stderr}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return { child, pid: child.pid!, logDir, exited, stderr: () => stderr, stop: () => kill(child) };
}
