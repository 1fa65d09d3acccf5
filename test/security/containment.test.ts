/**
 * Attack: leave a process behind. A command double-forks a daemon (or `setsid`s a grandchild
 * that re-parents away) that keeps our output pipes open. With a PID namespace per command
 * nothing it started survives it; in either containment mode the result comes back once the
 * command is gone and its tree was killed, instead of waiting on the pipe the daemon holds.
 *
 * Daemons write their pid as the engine sees it (read from /proc/self/stat, which is the
 * host's /proc: `$$` inside a namespace is a namespace pid) to a sentinel file.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { type ContainmentMode, chooseContainment, launchCommand, warnFallback } from '../../src/runner/containment.js';
import { endLeftoverGroup, processStartTime } from '../../src/runner/kill-tree.js';
import { type ProcessOutcome, type RunOptions, runProcess } from '../../src/runner/process.js';
import { isAlive, makeEngine, sh, tempDir, until } from '../helpers.js';

const namespace = await chooseContainment('pid_namespace');
const namespaceWorks = namespace.mode === 'pid_namespace';
const isRoot = process.getuid?.() === 0;

/** Pids read from sentinel files during a test; whatever escaped is killed afterwards. */
const watched: number[] = [];
afterEach(() => {
  for (const pid of watched.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
});

/**
 * A script that writes its pid (as the engine sees it) to `$1` and then sleeps as that pid;
 * with `ignore-term` as `$2` it ignores SIGTERM, and so does the sleep it becomes.
 */
function daemonScript(): string {
  const file = join(tempDir(), 'daemon.sh');
  writeFileSync(
    file,
    [
      '[ "$2" = ignore-term ] && trap \'\' TERM',
      'read -r p _ < /proc/self/stat',
      'echo "$p" > "$1.tmp"; mv "$1.tmp" "$1"',
      'exec sleep 300',
      '',
    ].join('\n'),
  );
  return file;
}

/** Shell text: a daemon that double-forks out of the command's group and session; its pid lands in `file`. */
const daemon = (file: string, how = '') => `(setsid sh ${daemonScript()} ${file} ${how} &)`;

async function sentinelPid(file: string): Promise<number> {
  await until(() => existsSync(file), 10_000, `${file} to be written`);
  const pid = Number(readFileSync(file, 'utf8').trim());
  expect(pid).toBeGreaterThan(1);
  watched.push(pid);
  return pid;
}

const waitFor = (file: string) => `while [ ! -s ${file} ]; do sleep 0.05; done`;

type RunWith = Partial<RunOptions> & Pick<RunOptions, 'containment'> & { env?: NodeJS.ProcessEnv };

function run(
  script: string,
  { env, ...options }: RunWith,
): Promise<ProcessOutcome & { stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  return runProcess(
    { file: 'sh', args: ['-c', script], env },
    {
      timeoutMs: Number.POSITIVE_INFINITY,
      killGraceMs: 300,
      maxLineBytes: 1 << 20,
      onOutput: (chunk) => {
        if (chunk.stream === 'stdout') stdout += chunk.data.toString();
        else stderr += chunk.data.toString();
      },
      ...options,
    },
  ).then((outcome) => ({ ...outcome, stdout, stderr }));
}

test('auto uses a PID namespace when the engine runs as root and namespaces work (CI does)', async () => {
  const outcome = await run('exit 0', { containment: 'auto' });
  expect(outcome.containment).toBe(isRoot && namespaceWorks ? 'pid_namespace' : 'process_group');
  expect((await run('exit 0', { containment: 'process_group' })).containment).toBe('process_group');
});

describe.skipIf(!namespaceWorks)('in a PID namespace nothing escapes', () => {
  test('a double-forked, setsid daemon is dead as soon as the command has ended', async () => {
    const dir = tempDir();
    const file = join(dir, 'daemon.pid');
    const running = run(`${daemon(file)}; ${waitFor(file)}; echo done`, { containment: 'pid_namespace' });
    const pid = await sentinelPid(file);
    const outcome = await running;
    expect(outcome).toMatchObject({
      reason: 'exited',
      exitCode: 0,
      signal: null,
      containment: 'pid_namespace',
      stdout: 'done\n',
    });
    expect(isAlive(pid)).toBe(false);
  });

  test('a setsid grandchild that ignores SIGTERM and outlives its parent is killed too', async () => {
    const dir = tempDir();
    const file = join(dir, 'grandchild.pid');
    // The middle shell exits at once: the grandchild re-parents (to the host init, uncontained).
    const running = run(`sh -c 'setsid sh ${daemonScript()} ${file} ignore-term &'; ${waitFor(file)}`, {
      containment: 'pid_namespace',
    });
    const pid = await sentinelPid(file);
    const outcome = await running;
    expect(outcome).toMatchObject({ reason: 'exited', exitCode: 0, containment: 'pid_namespace' });
    expect(isAlive(pid)).toBe(false);
  });

  test('killing its own init (or trying to) does not let a daemon out', async () => {
    const dir = tempDir();
    const file = join(dir, 'daemon.pid');
    const running = run(
      `${daemon(file)}; ${waitFor(file)}; kill -KILL 1; kill -INT 1; kill -HUP 1; kill -KILL $PPID; echo still-here`,
      {
        containment: 'pid_namespace',
      },
    );
    const pid = await sentinelPid(file);
    const outcome = await running;
    expect(outcome).toMatchObject({ reason: 'exited', exitCode: 0, stdout: 'still-here\n' });
    expect(isAlive(pid)).toBe(false);
  });

  test('the command cannot signal processes outside its namespace', async () => {
    const dir = tempDir();
    const victim = spawn('sleep', ['300'], { stdio: 'ignore' });
    watched.push(victim.pid!);
    const outcome = await run(`kill -KILL ${victim.pid} 2>&1; echo "kill exited $?" > ${join(dir, 'out')}`, {
      containment: 'pid_namespace',
    });
    expect(outcome.reason).toBe('exited');
    expect(readFileSync(join(dir, 'out'), 'utf8')).not.toBe('kill exited 0\n');
    expect(isAlive(victim.pid!)).toBe(true);
    victim.kill('SIGKILL');
  });

  test('an engine restart ends a namespace its dead engine left running (leftover sweep)', async () => {
    if (namespace.mode !== 'pid_namespace') throw new Error('unreachable');
    const dir = tempDir();
    const file = join(dir, 'daemon.pid');
    // Started the way the engine starts commands, then abandoned as by an engine that died.
    const { args } = launchCommand(namespace.launcher, 'sh', ['-c', `${daemon(file)}; sleep 300`], undefined);
    const leader = spawn(namespace.launcher.file, args, {
      stdio: ['ignore', 'ignore', 'ignore', 'ignore'],
      detached: true,
    });
    const pid = await sentinelPid(file);
    const start = processStartTime(leader.pid!);
    expect(endLeftoverGroup(leader.pid!, start)).toBeGreaterThanOrEqual(1);
    await until(() => !isAlive(pid) && !isAlive(leader.pid!), 10_000, 'the namespace to be gone');
  });
});

describe.each((namespaceWorks ? ['pid_namespace', 'process_group'] : ['process_group']) as ContainmentMode[])(
  '%s: a daemon holding the pipe cannot hold the result',
  (mode) => {
    test('the command completes once it has ended (the daemon kept stdout and stderr open)', async () => {
      const dir = tempDir();
      const file = join(dir, 'daemon.pid');
      const t0 = Date.now();
      const running = run(`echo begin; ${daemon(file)}; ${waitFor(file)}; printf partial`, { containment: mode });
      const pid = await sentinelPid(file);
      const outcome = await running;
      expect(outcome).toMatchObject({ reason: 'exited', exitCode: 0, containment: mode, stdout: 'begin\npartial' });
      expect(Date.now() - t0).toBeLessThan(20_000); // coarse: the defect was a 60 s wait
      if (mode === 'pid_namespace') expect(isAlive(pid)).toBe(false);
    });

    test.each(['cancel', 'timeout'] as const)(
      '%s resolves while the daemon holds the pipe; output so far is kept',
      async (how) => {
        const dir = tempDir();
        const file = join(dir, 'daemon.pid');
        const engine = makeEngine({ kill_grace_ms: 300, process_containment: mode });
        const t0 = Date.now();
        const id = await engine.execute({
          ...sh(`echo begin; ${daemon(file)}; sleep 300`),
          ...(how === 'timeout' ? { timeout_ms: 1_000 } : {}),
        });
        const pid = await sentinelPid(file);
        if (how === 'cancel') await engine.cancel(id);
        const result = await engine.wait(id);
        expect(result.status).toBe(how === 'cancel' ? 'cancelled' : 'timeout');
        expect(result.stdout).toBe('begin\n');
        expect(Date.now() - t0).toBeLessThan(20_000); // coarse: the defect was a 62-64 s wait
        if (mode === 'pid_namespace') expect(isAlive(pid)).toBe(false);
      },
    );
  },
);

describe.each((namespaceWorks ? ['pid_namespace', 'process_group'] : ['process_group']) as ContainmentMode[])(
  '%s: the command behaves as before',
  (mode) => {
    test('a TERM trap runs on cancel (SIGTERM reaches the command, not just the init)', async () => {
      const engine = makeEngine({ kill_grace_ms: 5_000, process_containment: mode });
      const ready = join(tempDir(), 'ready');
      const id = await engine.execute(
        sh(`trap 'echo trapped; exit 3' TERM; echo ready; touch ${ready}; sleep 300 & wait`),
      );
      await until(() => existsSync(ready), 10_000, 'the trap to be set');
      await engine.cancel(id);
      const result = await engine.wait(id);
      expect(result).toMatchObject({ status: 'cancelled', exit_code: 3, signal: null, stdout: 'ready\ntrapped\n' });
    });

    test('cancel of a command without a trap ends it by SIGTERM', async () => {
      const engine = makeEngine({ kill_grace_ms: 5_000, process_containment: mode });
      const ready = join(tempDir(), 'ready');
      const id = await engine.execute(sh(`touch ${ready}; exec sleep 300`));
      await until(() => existsSync(ready), 10_000, 'started');
      await engine.cancel(id);
      expect(await engine.wait(id)).toMatchObject({ status: 'cancelled', signal: 'SIGTERM' });
    });

    test('exit codes and signals are reported as they were (143 by exit is not SIGTERM)', async () => {
      expect(await run('exit 7', { containment: mode })).toMatchObject({
        reason: 'exited',
        exitCode: 7,
        signal: null,
        containment: mode,
      });
      expect(await run('exit 143', { containment: mode })).toMatchObject({ exitCode: 143, signal: null });
      expect(await run('kill -SEGV $$', { containment: mode })).toMatchObject({
        reason: 'exited',
        exitCode: null,
        signal: 'SIGSEGV',
      });
      expect(await run('kill -TERM $$', { containment: mode })).toMatchObject({ exitCode: null, signal: 'SIGTERM' });
      expect(await run('kill -KILL $$', { containment: mode })).toMatchObject({ exitCode: null, signal: 'SIGKILL' });
      const both = await run('echo out; echo err >&2; exit 0', { containment: mode });
      expect(both).toMatchObject({ stdout: 'out\n', stderr: 'err\n', exitCode: 0 });
    });

    test('the command inherits no descriptor of ours beyond 0-2 (the same set in both modes)', async () => {
      const fds = async (containment: ContainmentMode) =>
        (await run('ls /proc/self/fd; cat', { containment })).stdout.trim().split('\n').sort();
      const seen = await fds(mode);
      expect(seen.slice(0, 3)).toEqual(['0', '1', '2']);
      expect(seen).toEqual(await fds('process_group'));
    });

    test('a program that does not exist fails to spawn with the same error as a direct spawn', async () => {
      const outcome = await runProcess(
        { file: 'cloudops-no-such-program', args: ['x'], env: undefined },
        { timeoutMs: 10_000, killGraceMs: 300, maxLineBytes: 1 << 20, containment: mode, onOutput: () => {} },
      );
      expect(outcome.reason).toBe('spawn_failed');
      expect(outcome.spawnError?.message).toBe('spawn cloudops-no-such-program ENOENT');
      expect((outcome.spawnError as NodeJS.ErrnoException).code).toBe('ENOENT');
      const dir = tempDir();
      const gone = await runProcess(
        { file: 'true', args: [], env: undefined, cwd: join(dir, 'missing') },
        { timeoutMs: 10_000, killGraceMs: 300, maxLineBytes: 1 << 20, containment: mode, onOutput: () => {} },
      );
      expect(gone).toMatchObject({ reason: 'spawn_failed' });
      expect(gone.spawnError?.message).toBe('spawn true ENOENT');
      const script = join(dir, 'not-executable');
      writeFileSync(script, 'echo hi\n', { mode: 0o644 });
      const denied = await runProcess(
        { file: script, args: [], env: undefined },
        { timeoutMs: 10_000, killGraceMs: 300, maxLineBytes: 1 << 20, containment: mode, onOutput: () => {} },
      );
      expect(denied.spawnError?.message).toBe(`spawn ${script} EACCES`);
    });

    test('PERL* variables reach the command and cannot change the init', async () => {
      const env = { PATH: process.env.PATH, PERL5OPT: '-Mcloudops_no_such_module', PERL5LIB: '/nowhere' };
      const outcome = await run('echo "$PERL5OPT|$PERL5LIB"; env | grep -c CLOUDOPS_SAVED_', {
        containment: mode,
        env,
      });
      expect(outcome).toMatchObject({
        reason: 'exited',
        containment: mode,
        stdout: '-Mcloudops_no_such_module|/nowhere\n0\n',
      });
    });
  },
);

/**
 * Attack: a root command copies its init's report channel (fd 2 of PID 1 in the namespace)
 * and writes reports of its own: a "ready" naming a host pid, so that a timeout or cancel would
 * make the engine SIGTERM that pid; end reports that misstate how it ended.
 */
describe.skipIf(!namespaceWorks || !isRoot)('forged init reports', () => {
  /** Writes each argument as a line to a copy of PID 1's fd 2 (pidfd_getfd); exits 3 if that is refused. */
  function forgeScript(): string {
    const file = join(tempDir(), 'forge.py');
    writeFileSync(
      file,
      [
        'import ctypes, os, sys',
        'libc = ctypes.CDLL(None, use_errno=True)',
        'pidfd = libc.syscall(434, 1, 0)',
        'fd = libc.syscall(438, pidfd, 2, 0) if pidfd >= 0 else -1',
        "if fd < 0: print('pidfd_getfd failed: errno', ctypes.get_errno(), file=sys.stderr); sys.exit(3)",
        "for line in sys.argv[1:]: os.write(fd, line.encode() + b'\\n')",
        '',
      ].join('\n'),
    );
    return file;
  }

  /** The forging script, or the test is skipped where pidfd_getfd is refused (kernel < 5.6, seccomp). */
  async function forger(ctx: { skip(note?: string): never }): Promise<string> {
    const forge = forgeScript();
    const probe = await run(`python3 ${forge} not-a-report`, { containment: 'pid_namespace' });
    if (probe.exitCode !== 0)
      ctx.skip(`pidfd_getfd is unavailable here (python3 ${forge} exited ${probe.exitCode}: ${probe.stderr.trim()})`);
    return forge;
  }

  test('a forged ready report through pidfd_getfd does not make a timeout or cancel signal an outside process', async (ctx) => {
    const forge = await forger(ctx);
    const victim = spawn('sleep', ['300'], { stdio: 'ignore' });
    watched.push(victim.pid!);
    const v = victim.pid!;
    const timedOut = await run(`python3 ${forge} 'R ${v}' 'R ${v}'; sleep 300`, {
      containment: 'pid_namespace',
      timeoutMs: 1_000,
    });
    expect(timedOut).toMatchObject({ reason: 'timeout', containment: 'pid_namespace' });
    const abort = new AbortController();
    const cancelled = run(`python3 ${forge} 'R ${v}' && echo forged; sleep 300`, {
      containment: 'pid_namespace',
      signal: abort.signal,
      onOutput: (c) => {
        if (c.data.toString().includes('forged')) abort.abort();
      },
    });
    expect(await cancelled).toMatchObject({ reason: 'cancelled', containment: 'pid_namespace' });
    expect(isAlive(v)).toBe(true);
    victim.kill('SIGKILL');
  });

  test('forged end reports do not replace the exit status the command really had', async (ctx) => {
    const forge = await forger(ctx);
    // A forged success followed by more output and a failure: the output is kept, the failure reported.
    const failed = await run(`python3 ${forge} 'X 0' 'X 0'; sleep 0.3; echo late; exit 7`, {
      containment: 'pid_namespace',
    });
    expect(failed).toMatchObject({ reason: 'exited', exitCode: 7, signal: null, stdout: 'late\n' });
    expect(await run(`python3 ${forge} 'S 9'; exit 5`, { containment: 'pid_namespace' })).toMatchObject({
      reason: 'exited',
      exitCode: 5,
      signal: null,
    });
    // A forged "could not execute": the command ran, and is not reported as never started.
    const dir = tempDir();
    const ran = await run(`python3 ${forge} 'E 2'; touch ${join(dir, 'ran')}; exit 0`, {
      containment: 'pid_namespace',
    });
    expect(ran).toMatchObject({
      reason: 'exited',
      exitCode: 0,
      signal: null,
      spawnError: null,
      containment: 'pid_namespace',
    });
    expect(existsSync(join(dir, 'ran'))).toBe(true);
  });
});

describe.each((namespaceWorks ? ['pid_namespace', 'process_group'] : ['process_group']) as ContainmentMode[])(
  '%s: the saved-PERL prefix is not a way in',
  (mode) => {
    test('a request variable named CLOUDOPS_SAVED_PERL5OPT does not reach the command as PERL5OPT', async () => {
      const env = {
        PATH: process.env.PATH,
        CLOUDOPS_SAVED_PERL5OPT: '-Mcloudops_evil',
        CLOUDOPS_SAVED_PERL5LIB: '/evil',
        CLOUDOPS_SAVED_PERLLIB: '/evil',
      };
      const outcome = await run('echo "[$PERL5OPT][$PERL5LIB][$PERLLIB]"', { containment: mode, env });
      expect(outcome).toMatchObject({ reason: 'exited', exitCode: 0, stdout: '[][][]\n' });
      // Next to a real PERL5OPT, the real one is what the command gets.
      const both = await run('echo "[$PERL5OPT]"', { containment: mode, env: { ...env, PERL5OPT: '-w' } });
      expect(both.stdout).toBe('[-w]\n');
    });
  },
);

test('auto falling back to process groups as root says so once (CLOUDOPS_CONTAINMENT)', async () => {
  const seen: Error[] = [];
  const listener = (w: Error) => {
    if ((w as NodeJS.ErrnoException).code === 'CLOUDOPS_CONTAINMENT') seen.push(w);
  };
  process.on('warning', listener);
  try {
    warnFallback('perl was not found');
    warnFallback('perl was not found');
    await new Promise((r) => setImmediate(r)); // warnings are emitted on the next tick
  } finally {
    process.off('warning', listener);
  }
  expect(seen.length).toBe(isRoot ? 1 : 0);
  if (isRoot) expect(seen[0]!.message).toContain('perl was not found');
});
