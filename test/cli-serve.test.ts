/** `cloudops-exec serve` as a user starts it: printed link and token, approval levels, Ctrl-C drains then cancels. */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';
import { HistoryStore } from '../src/history/store.js';
import { backgroundWritingPid, isAlive, tempDir, until } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(root, 'dist/cli/main.js');
const children: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

async function serve(logDir: string, ...args: string[]) {
  const env = { ...process.env };
  delete env.CLOUDOPS_EXEC_TOKEN;
  const child = spawn(process.execPath, [BIN, '--log-dir', logDir, 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await until(() => /API token: \S+/.test(stderr) || child.exitCode !== null, 20_000, 'server started');
  const url = /serving on (http:\/\/\S+)/.exec(stderr)?.[1] ?? '';
  const token = /API token: (\S+)/.exec(stderr)?.[1] ?? '';
  const api = async (method: string, path: string, body?: unknown) => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: response.status, body: (await response.json()) as any };
  };
  return { child, url, token, api, exited, stderr: () => stderr };
}

test('prints where it listens, a login link and the token it saved; SIGINT exits 0', async () => {
  const logDir = tempDir();
  const server = await serve(logDir);
  expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(server.stderr()).toContain(`Dashboard: ${server.url}/login?token=${server.token}`);
  expect(readFileSync(join(logDir, 'server-token'), 'utf8').trim()).toBe(server.token);
  const health = await server.api('GET', '/api/health');
  expect(health.body).toMatchObject({ status: 'ok', approval_policy: { require_approval_modify: true } });
  expect((await fetch(`${server.url}/api/health`)).status).toBe(401);
  server.child.kill('SIGINT');
  expect(await server.exited).toBe(0);
});

test('--approve none runs work at once; a bad level is refused with exit 2', async () => {
  const server = await serve(tempDir(), '--approve', 'none');
  const submitted = await server.api('POST', '/api/executions', {
    command: { type: 'shell', command: 'rm -rf /tmp/cee-serve-none-nothing-here' },
  });
  expect(submitted.body.status).toBe('pending');
  server.child.kill('SIGTERM');
  expect(await server.exited).toBe(0);

  const bad = spawnSync(process.execPath, [BIN, 'serve', '--approve', 'sometimes'], { encoding: 'utf8' });
  expect(bad.status).toBe(2);
  expect(bad.stderr).toContain('--approve must be one of none, destructive, modify, all');
});

test('the first Ctrl-C lets running commands finish; the second cancels them and their trees', async () => {
  const logDir = tempDir();
  const server = await serve(logDir, '--approve', 'none');
  const dir = tempDir();
  const finishing = (
    await server.api('POST', '/api/executions', {
      command: { type: 'shell', command: `sleep 0.5; echo done > ${join(dir, 'finished')}` },
    })
  ).body.id;
  await until(
    async () => (await server.api('GET', `/api/executions/${finishing}`)).body.execution.status === 'running',
    10_000,
    'running',
  );
  server.child.kill('SIGINT');
  expect(await server.exited).toBe(0);
  expect(existsSync(join(dir, 'finished'))).toBe(true);
  expect(historyOf(logDir, finishing)).toMatchObject({
    status: 'completed',
    exit_code: 0,
    error: null,
    error_code: null,
  });

  const second = await serve(logDir, '--approve', 'none');
  const pidFile = join(dir, 'pid');
  const long = (
    await second.api('POST', '/api/executions', {
      command: { type: 'shell', command: `${backgroundWritingPid(pidFile, 'sleep 60')} wait` },
    })
  ).body.id;
  await until(() => existsSync(pidFile), 10_000, 'grandchild started');
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  second.child.kill('SIGINT');
  await until(() => second.stderr().includes('Shutting down'), 10_000, 'draining');
  second.child.kill('SIGINT');
  expect(await second.exited).toBe(0);
  expect(isAlive(grandchild)).toBe(false);
  // Recorded as cancelled by the second Ctrl-C, not left running for the next start to call interrupted.
  expect(historyOf(logDir, long)).toMatchObject({
    status: 'cancelled',
    error_code: 'cancelled',
    completed_at: expect.any(String),
  });
});

/** The history record the server left in `logDir`'s store. */
function historyOf(logDir: string, id: string) {
  const store = HistoryStore.open(join(logDir, 'history.sqlite'));
  try {
    return store.get(id);
  } finally {
    store.close();
  }
}

test('a client waiting for a result does not hold shutdown: --drain-timeout ends the command, the server exits', async () => {
  const server = await serve(tempDir(), '--approve', 'none', '--drain-timeout', '300');
  const id = (await server.api('POST', '/api/executions', { command: { type: 'shell', command: 'sleep 60' } })).body.id;
  await until(
    async () => (await server.api('GET', `/api/executions/${id}`)).body.execution.status === 'running',
    10_000,
    'running',
  );
  // Left open on purpose: before, it kept server.close() (and so the engine's drain) waiting for the command.
  const waiting = server.api('GET', `/api/executions/${id}/result?wait=true`).catch(() => null);
  server.child.kill('SIGINT');
  expect(await server.exited).toBe(0);
  // The open request is answered before the server closes: the command's result, cancelled at the drain timeout.
  expect(await waiting).toMatchObject({ status: 200, body: { id, status: 'cancelled', error_code: 'cancelled' } });
});
