/**
 * The spawn server (src/runner/spawn-server.ts): commands started by it behave as commands
 * spawned by libuv (own session and process group, exact exit status, separate streams, the
 * same spawn errors, the engine's current environment), and the runner keeps working when the
 * server is stopped or killed. Where no Python 3.9+ is installed the server never runs and
 * these tests are skipped (the other runner tests cover direct spawning).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { type ProcessOutcome, runProcess } from '../src/runner/process.js';
import { stopSpawnServer } from '../src/runner/spawn-server.js';

interface Ran extends ProcessOutcome {
  pid: number | null;
  stdout: string;
  stderr: string;
}

function run(
  file: string,
  args: string[],
  extra: { env?: NodeJS.ProcessEnv; timeoutMs?: number; signal?: AbortSignal; killGraceMs?: number; cwd?: string } = {},
): Promise<Ran> {
  let pid: number | null = null;
  const out = { stdout: '', stderr: '' };
  return runProcess(
    { file, args, env: extra.env, cwd: extra.cwd },
    {
      timeoutMs: extra.timeoutMs ?? 10_000,
      signal: extra.signal,
      killGraceMs: extra.killGraceMs ?? 300,
      maxLineBytes: 65_536,
      containment: 'process_group',
      onOutput: (chunk) => {
        out[chunk.stream] += chunk.data.toString();
      },
      onSpawn: (p) => {
        pid = p;
      },
    },
  ).then((outcome) => ({ ...outcome, ...out, pid }));
}

const PARENT = 'cat /proc/$PPID/comm';

/** The running server's pid (a command it starts is its child). */
async function serverPid(): Promise<number> {
  await throughServer();
  return Number((await run('sh', ['-c', 'echo $PPID'])).stdout.trim());
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 500 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

/** Run commands until one is started by the server (it comes up with the first command). */
async function throughServer(): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await run('sh', ['-c', PARENT])).stdout.trim() === 'python3') return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the spawn server never started a command');
}

const python = ['/usr/bin/python3', '/usr/local/bin/python3', '/bin/python3'].some((p) => existsSync(p));
// The server is opt-in (CLOUDOPS_SPAWN_SERVER=1): these tests turn it on for this process.
process.env.CLOUDOPS_SPAWN_SERVER = '1';
const enabled = python && process.platform === 'linux';

describe.skipIf(!enabled)('spawn server', () => {
  test('a command leads its own session and process group; status, streams and pid are exact', async () => {
    await throughServer();
    const r = await run('sh', [
      '-c',
      `${PARENT}; read -r _ _ _ _ pgrp sid _ < /proc/self/stat; echo $$ $pgrp $sid; echo err >&2; exit 7`,
    ]);
    expect(r.reason).toBe('exited');
    expect(r.exitCode).toBe(7);
    expect(r.signal).toBeNull();
    const [parent, ids] = r.stdout.trim().split('\n');
    expect(parent).toBe('python3');
    // `read` runs in the shell itself: $$, its group and its session are the pid we were given.
    expect(ids).toBe(`${r.pid} ${r.pid} ${r.pid}`);
    expect(r.stderr).toBe('err\n');

    const killed = await run('sh', ['-c', 'kill -KILL $$']);
    expect([killed.exitCode, killed.signal]).toEqual([null, 'SIGKILL']);
  });

  test('the command gets no descriptor beyond its stdio that a direct spawn would not give it', async () => {
    await throughServer();
    const list = 'ls /proc/self/fd';
    const viaServer = (await run('sh', ['-c', list])).stdout;
    const direct = await new Promise<string>((resolve) => {
      const child = spawn('sh', ['-c', list], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      child.on('close', () => resolve(out));
    });
    expect(viaServer.split('\n').sort()).toEqual(direct.split('\n').sort());
  });

  test('signal dispositions and mask are the defaults, as libuv leaves them', async () => {
    await throughServer();
    const r = await run('grep', ['-E', '^Sig(Blk|Ign)', '/proc/self/status']);
    expect(r.stdout).toBe('SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n');
  });

  test('spawn errors read as Node spawn errors, and nothing ran', async () => {
    await throughServer();
    const missing = await run('no-such-program-xyz', ['a']);
    expect(missing.reason).toBe('spawn_failed');
    expect(missing.pid).toBeNull();
    expect(missing.spawnError).toMatchObject({
      message: 'spawn no-such-program-xyz ENOENT',
      code: 'ENOENT',
      errno: -2,
      syscall: 'spawn no-such-program-xyz',
      path: 'no-such-program-xyz',
      spawnargs: ['a'],
    });
    const dir = mkdtempSync(join(tmpdir(), 'spawn-server-'));
    const notExecutable = join(dir, 'data');
    writeFileSync(notExecutable, 'echo no\n', { mode: 0o644 });
    expect((await run(notExecutable, [])).spawnError).toMatchObject({ code: 'EACCES' });
    // As execvp does, a file without #! is run by /bin/sh.
    const script = join(dir, 'script');
    writeFileSync(script, 'echo "script $0 $1"\n', { mode: 0o755 });
    expect((await run(script, ['x'])).stdout).toBe(`script ${script} x\n`);
    rmSync(dir, { recursive: true, force: true });
  });

  test("PATH is searched in the command's environment, and the engine's environment is read at each spawn", async () => {
    await throughServer();
    const own = await run('sh', ['-c', 'echo $SPAWN_SERVER_TEST_VAR'], {
      env: { PATH: '/usr/bin:/bin', SPAWN_SERVER_TEST_VAR: 'a' },
    });
    expect(own.stdout).toBe('a\n');
    const noPath = await run('sh', ['-c', 'true'], { env: { PATH: '/nonexistent' } });
    expect(noPath.spawnError).toMatchObject({ code: 'ENOENT' });
    process.env.SPAWN_SERVER_TEST_VAR = 'changed';
    try {
      expect((await run('sh', ['-c', 'echo $SPAWN_SERVER_TEST_VAR'])).stdout).toBe('changed\n');
    } finally {
      delete process.env.SPAWN_SERVER_TEST_VAR;
    }
  });

  test('a timeout ends the whole tree', async () => {
    await throughServer();
    const r = await run('sh', ['-c', 'sleep 30 & echo $!; wait'], { timeoutMs: 300 });
    expect(r.reason).toBe('timeout');
    const sleeper = Number(r.stdout.trim());
    expect(existsSync(`/proc/${sleeper}`) && !readFileSync(`/proc/${sleeper}/stat`, 'latin1').includes(') Z')).toBe(
      false,
    );
  });

  test('commands keep working when the server is stopped or dies', async () => {
    await throughServer();
    stopSpawnServer();
    expect((await run('sh', ['-c', 'exit 3'])).exitCode).toBe(3);
    await throughServer(); // a new one came up
    const running = run('sleep', ['30']);
    const server = await run('sh', ['-c', 'echo $PPID']);
    process.kill(Number(server.stdout.trim()), 'SIGKILL');
    const orphaned = await running;
    expect([orphaned.exitCode, orphaned.signal]).toEqual([null, 'SIGKILL']);
    expect((await run('sh', ['-c', 'exit 4'])).exitCode).toBe(4);
    await throughServer();
  });

  test("working directories resolve against the engine's current one, not the server's, even once it is deleted", async () => {
    await throughServer();
    const before = process.cwd();
    const dir = mkdtempSync(join(tmpdir(), 'spawn-cwd-'));
    try {
      process.chdir(dir);
      mkdirSync('sub');
      expect((await run('pwd', [])).stdout.trim()).toBe(dir);
      expect((await run('pwd', [], { cwd: 'sub' })).stdout.trim()).toBe(join(dir, 'sub'));
      rmSync(dir, { recursive: true, force: true });
      // As with a direct spawn, a command runs in a deleted current directory.
      expect(await run('echo', ['hi'])).toMatchObject({ exitCode: 0, stdout: 'hi\n' });
    } finally {
      process.chdir(before);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('commands queued in a server that dies are spawned directly; at most the one it was starting fails', async () => {
    const server = await serverPid();
    const runs = Array.from({ length: 30 }, () => run('sh', ['-c', 'sleep 0.2; exit 5']));
    await new Promise((r) => setImmediate(r));
    process.kill(server, 'SIGKILL');
    const outcomes = await Promise.all(runs);
    const failed = outcomes.filter((o) => o.reason === 'spawn_failed');
    expect(failed.length).toBeLessThanOrEqual(1);
    for (const f of failed) expect(f.spawnError?.message).toMatch(/may have started/);
    for (const o of outcomes.filter((x) => x.reason !== 'spawn_failed'))
      expect([o.exitCode, o.signal]).toSatisfy(
        ([code, signal]: [number | null, string | null]) => code === 5 || signal === 'SIGKILL',
      );
    await throughServer();
  });

  test('with no grace period, a command stopped before its pid arrives is never reported unstarted if it ran', async () => {
    await throughServer();
    const dir = mkdtempSync(join(tmpdir(), 'spawn-grace0-'));
    const outcomes = await Promise.all(
      Array.from({ length: 20 }, (_, i) => run('sh', ['-c', `touch ${dir}/${i}`], { timeoutMs: 1, killGraceMs: 0 })),
    );
    await new Promise((r) => setTimeout(r, 200));
    outcomes.forEach((o, i) => {
      expect(o.reason).toBe('timeout');
      if (existsSync(join(dir, String(i)))) expect(o.pid).not.toBeNull();
    });
    rmSync(dir, { recursive: true, force: true });
  });

  test('a run that gave up on a stalled server does not keep the engine process alive', async () => {
    const script = `
      process.env.CLOUDOPS_SPAWN_SERVER = '1';
      const { runProcess } = await import(${JSON.stringify(new URL('../dist/runner/process.js', import.meta.url).pathname)});
      const run = (cmd, timeoutMs = 20000) => { let out = ''; return runProcess({ file: 'sh', args: ['-c', cmd] }, {
        timeoutMs, killGraceMs: 100, maxLineBytes: 65536, containment: 'process_group',
        onOutput: (c) => { out += c.data; } }).then((o) => ({ ...o, out })); };
      for (let i = 0; i < 200 && (await run('cat /proc/$PPID/comm')).out.trim() !== 'python3'; i++)
        await new Promise((r) => setTimeout(r, 20));
      const server = Number((await run('echo $PPID')).out.trim());
      console.log(JSON.stringify({ server }));
      process.kill(server, 'SIGSTOP');
      console.log(JSON.stringify({ reason: (await run('true', 100)).reason }));
    `;
    const engine = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    engine.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise((resolve) => engine.on('close', resolve));
    await until(() => out.includes('reason'), 'the run to end');
    const [{ server }, { reason }] = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    try {
      expect(reason).toBe('timeout');
      await until(() => engine.exitCode !== null, 'the engine process to exit by itself');
      await exited;
    } finally {
      engine.kill('SIGKILL');
      try {
        process.kill(server, 'SIGKILL');
      } catch {}
    }
  });

  test('a timeout or cancel that comes before the pid still stops the command, and it never runs on', async () => {
    const server = await serverPid();
    const dir = mkdtempSync(join(tmpdir(), 'spawn-early-'));
    process.kill(server, 'SIGSTOP'); // requests wait in its socket: no pid can arrive
    try {
      const timedOut = run('sh', ['-c', `touch ${dir}/timed-out`], { timeoutMs: 100 });
      const abort = new AbortController();
      const cancelled = run('sh', ['-c', `touch ${dir}/cancelled`], { signal: abort.signal });
      abort.abort();
      // Both end as stopped a grace period later, though the server has not answered.
      expect((await timedOut).reason).toBe('timeout');
      expect((await cancelled).reason).toBe('cancelled');
    } finally {
      process.kill(server, 'SIGCONT');
    }
    // The server now starts them, and each is killed as its pid arrives, before its first step.
    const after = await run('sh', ['-c', `sleep 0.3; ls ${dir}`]);
    expect(after.exitCode).toBe(0);
    expect(after.stdout).toBe('');
    rmSync(dir, { recursive: true, force: true });
  });

  test('a command the server had not started when it died is spawned directly', async () => {
    const server = await serverPid();
    process.kill(server, 'SIGSTOP');
    const waiting = run('sh', ['-c', `${PARENT}; exit 5`]);
    await new Promise((r) => setTimeout(r, 50));
    process.kill(server, 'SIGKILL');
    const r = await waiting;
    expect([r.exitCode, r.stdout.trim()]).toEqual([5, 'node']);
    await throughServer();
  });

  test("Ctrl-C to the engine's process group does not reach the server: running commands finish", async () => {
    // An engine in its own group that, like the CLI, handles SIGINT itself (here: ignores it).
    const script = `
      process.env.CLOUDOPS_SPAWN_SERVER = '1';
      process.on('SIGINT', () => console.log('sigint'));
      const { runProcess } = await import(${JSON.stringify(new URL('../dist/runner/process.js', import.meta.url).pathname)});
      const run = (cmd) => { let out = ''; return runProcess({ file: 'sh', args: ['-c', cmd] }, {
        timeoutMs: 20000, killGraceMs: 300, maxLineBytes: 65536, containment: 'process_group',
        onOutput: (c) => { out += c.data; } }).then((o) => ({ ...o, out })); };
      for (let i = 0; i < 200 && (await run('cat /proc/$PPID/comm')).out.trim() !== 'python3'; i++)
        await new Promise((r) => setTimeout(r, 20));
      const slow = run('cat /proc/$PPID/comm; echo started; sleep 1; echo finished');
      console.log('running');
      const r = await slow;
      console.log(JSON.stringify({ exitCode: r.exitCode, signal: r.signal, out: r.out }));
    `;
    const engine = spawn(process.execPath, ['--input-type=module', '-e', script], {
      detached: true,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    engine.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await until(() => out.includes('running'), 'the engine to start its command');
    await new Promise((r) => setTimeout(r, 200));
    process.kill(-engine.pid!, 'SIGINT'); // what a terminal does on Ctrl-C
    await new Promise((resolve) => engine.on('close', resolve));
    expect(out).toContain('sigint');
    const result = JSON.parse(out.trim().split('\n').pop()!);
    expect(result).toEqual({ exitCode: 0, signal: null, out: 'python3\nstarted\nfinished\n' });
  });
});
