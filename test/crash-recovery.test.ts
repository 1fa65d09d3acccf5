/**
 * A crash loses nothing already started: an engine process is SIGKILLed mid-execution, and a
 * new engine on the same store reports that execution `interrupted`, with its partial log,
 * and ends the processes the dead engine left running.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';
import { ExecutionEngine } from '../src/index.js';
import { isAlive, processGroupOf, READ_HOST_PID, tempDir, until } from './helpers.js';

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

test('an execution whose engine was SIGKILLed is reported interrupted by the next engine, which ends its leftover processes', async () => {
  const logDir = tempDir();
  // The crashing engine: starts a command, reports its id and the host pids of the shell and
  // its child once output has flowed, then hangs. (In a PID namespace `$$` and `$!` are
  // namespace pids: each process reads its own from /proc; `exec` keeps the child's.)
  const command = `echo partial-output-1; echo partial-output-2; ${READ_HOST_PID}; echo "shell $p"; sh -c '${READ_HOST_PID}; echo "child $p"; exec sleep 100' & wait`;
  const script = `
    import { readFile } from 'node:fs/promises';
    import { ExecutionEngine } from ${JSON.stringify(DIST)};
    const engine = new ExecutionEngine({ log_dir: ${JSON.stringify(logDir)} });
    const id = await engine.execute({ command: { type: 'shell', command: ${JSON.stringify(command)} } });
    const pids = {};
    for await (const e of engine.events(id)) {
      const m = e.event_type === 'stdout' && /^(shell|child) (\\d+)$/.exec(e.line);
      if (m) pids[m[1]] = Number(m[2]);
      if (m && pids.shell && pids.child) {
        // Output reaches the log a moment after its event (it is held up to 100 ms): the crash
        // comes once both lines are on disk. (The header quotes the command, so look for the line.)
        while (!(await readFile(engine.getLogPath(id), 'utf8')).includes('[stdout] partial-output-2')) await new Promise((r) => setTimeout(r, 20));
        console.log(JSON.stringify({ id, pid: pids.shell, grandchild: pids.child }));
      }
    }
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await until(() => out.includes('"pid"'), 20_000, `the child engine to start its command (stderr: ${err})`);
  const { id, pid, grandchild } = JSON.parse(out.trim().split('\n')[0]!) as {
    id: string;
    pid: number;
    grandchild: number;
  };
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('close', resolve));
  expect(isAlive(pid) && isAlive(grandchild)).toBe(true); // orphaned: nobody else would end them
  // The group the command ran in (the shell leads it, or in a PID namespace `unshare` does).
  const group = processGroupOf(pid);
  try {
    const engine = new ExecutionEngine({ log_dir: logDir });
    try {
      await until(
        () => !isAlive(pid) && !isAlive(grandchild),
        5_000,
        'the new engine to end the leftover command and its child',
      );
      expect(await engine.getStatus(id)).toBe('interrupted');
      const record = engine.history!.get(id)!;
      expect(record).toMatchObject({ status: 'interrupted', command: expect.stringContaining('partial-output-1') });
      expect(record.error).toMatch(/^Interrupted: the engine process \(pid \d+\) ended before this execution finished/);
      const log = await engine.readLogs(id);
      expect(log).toMatch(/\[stdout\] partial-output-1\n.*\[stdout\] partial-output-2\n/s);
      expect(log).not.toContain('# status:');
      expect(engine.history!.list({ status: 'interrupted' }).map((r) => r.id)).toEqual([id]);
    } finally {
      await engine.shutdown();
      engine.close();
    }
  } finally {
    // SIGKILL gave the crashed engine no chance to clean up its tree: do it here.
    try {
      if (group !== null) process.kill(-group, 'SIGKILL');
    } catch {
      // already gone
    }
    await until(() => !isAlive(pid) && !isAlive(grandchild), 5_000, 'orphaned command to be gone');
  }
});

test('the history records executions as they progress and answers for ones this engine never ran', async () => {
  const logDir = tempDir();
  const first = new ExecutionEngine({ log_dir: logDir });
  const id = await first.execute({
    command: { type: 'shell', command: 'echo kept-in-history' },
    metadata: { conversation_id: '7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6', tags: { team: 'ops' } },
  });
  await first.wait(id);
  await first.shutdown();
  first.close();

  const second = new ExecutionEngine({ log_dir: logDir });
  try {
    expect(await second.getStatus(id)).toBe('completed');
    expect(await second.readLogs(id)).toContain('[stdout] kept-in-history');
    expect((await second.searchExecutions('kept-in-history')).map((r) => r.id)).toEqual([id]);
    expect(second.history!.getByConversation('7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6')).toEqual([
      expect.objectContaining({
        id,
        status: 'completed',
        exit_code: 0,
        tags: { team: 'ops' },
        risk_level: 'read_only',
      }),
    ]);
  } finally {
    await second.shutdown();
    second.close();
  }
});
