/**
 * Processes that behave oddly at the pipe and signal level: closing stdout early, a last
 * line with no newline, invalid UTF-8 and characters split across reads, stdin at EOF,
 * death by signal, and trees that ignore SIGTERM (timeout and cancel).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import type { ExecutionEngine, ExecutionEvent, ExecutionResult } from '../src/index.js';
import { groupMembers, isAlive, makeEngine, processGroupOf, READ_HOST_PID, sh, until } from './helpers.js';

/** Run to the end, collecting the execution's own events through an iterator. */
async function runAll(
  engine: ExecutionEngine,
  request: Parameters<ExecutionEngine['execute']>[0],
): Promise<{ result: ExecutionResult; events: ExecutionEvent[] }> {
  const id = await engine.execute(request);
  const events: ExecutionEvent[] = [];
  for await (const e of engine.events(id)) events.push(e);
  return { result: await engine.wait(id), events };
}

const linesOf = (events: ExecutionEvent[], stream: 'stdout' | 'stderr') =>
  events.filter((e) => e.event_type === stream).map((e) => (e as { line: string }).line);

/** The raw bytes the log recorded for one stream (everything after "[stream] " up to the newline). */
function loggedBytes(path: string, stream: 'stdout' | 'stderr'): Buffer[] {
  const raw = readFileSync(path);
  const out: Buffer[] = [];
  const marker = Buffer.from(` [${stream}] `, 'latin1');
  let start = 0;
  while (start < raw.length) {
    let nl = raw.indexOf(10, start);
    if (nl === -1) nl = raw.length;
    const line = raw.subarray(start, nl);
    const at = line.indexOf(marker);
    if (at !== -1 && line[0] !== 0x23 /* # header */) out.push(Buffer.from(line.subarray(at + marker.length)));
    start = nl + 1;
  }
  return out;
}

describe('output edge cases', () => {
  test('stdout closed early: the command still runs to its end, stderr after the close is kept', async () => {
    const engine = makeEngine();
    const { result, events } = await runAll(engine, sh('echo before; exec 1>&-; sleep 0.2; echo x >&2'));
    expect(result).toMatchObject({ status: 'completed', exit_code: 0, stdout: 'before\n', stderr: 'x\n', error: null });
    expect(linesOf(events, 'stdout')).toEqual(['before']);
    expect(linesOf(events, 'stderr')).toEqual(['x']);
    expect(events.at(-1)?.event_type).toBe('completed');
  });

  test('both streams closed early, then a non-zero exit: failed with that exit code, no hang', async () => {
    const engine = makeEngine();
    const { result } = await runAll(engine, sh('exec 1>&- 2>&-; sleep 0.2; exit 7'));
    expect(result).toMatchObject({
      status: 'failed',
      exit_code: 7,
      stdout: '',
      stderr: '',
      error: 'Command failed with exit code 7',
    });
  });

  test('a last line without a trailing newline is delivered, kept and logged, on both streams', async () => {
    const engine = makeEngine();
    const { result, events } = await runAll(engine, sh("printf 'one\\ntwo'; printf 'err-last' >&2"));
    expect(result.stdout).toBe('one\ntwo');
    expect(result.stderr).toBe('err-last');
    expect(linesOf(events, 'stdout')).toEqual(['one', 'two']);
    expect(linesOf(events, 'stderr')).toEqual(['err-last']);
    expect(loggedBytes(result.log_path, 'stdout').map(String)).toEqual(['one', 'two']);
    expect(loggedBytes(result.log_path, 'stderr').map(String)).toEqual(['err-last']);
  });

  test('output that is only a partial line, with no newline at all', async () => {
    const engine = makeEngine();
    const { result, events } = await runAll(engine, {
      command: { type: 'exec', program: 'printf', args: ['no-newline'] },
    });
    expect(result).toMatchObject({ status: 'completed', stdout: 'no-newline' });
    expect(linesOf(events, 'stdout')).toEqual(['no-newline']);
  });

  test('invalid UTF-8 (\\xff\\xfe): replacement characters in results and events, the raw bytes in the log', async () => {
    const engine = makeEngine();
    const { result, events } = await runAll(engine, sh("printf '\\xff\\xfe\\n'; printf 'ok\\xc3(\\n' >&2"));
    expect(result.status).toBe('completed');
    expect(result.stdout).toBe('\ufffd\ufffd\n');
    expect(result.stderr).toBe('ok\ufffd(\n');
    expect(linesOf(events, 'stdout')).toEqual(['\ufffd\ufffd']);
    expect(linesOf(events, 'stderr')).toEqual(['ok\ufffd(']);
    expect(loggedBytes(result.log_path, 'stdout')).toEqual([Buffer.from([0xff, 0xfe])]);
    expect(loggedBytes(result.log_path, 'stderr')).toEqual([Buffer.from([0x6f, 0x6b, 0xc3, 0x28])]);
    // The result is still valid wire JSON (serializable, lone surrogates impossible).
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  test('a multi-byte character split across two reads is decoded whole', async () => {
    const engine = makeEngine();
    // The euro sign's three bytes arrive in two writes, a pause apart.
    const { result, events } = await runAll(engine, sh("printf 'price \\342\\202'; sleep 0.2; printf '\\254 1\\n'"));
    expect(result.stdout).toBe('price € 1\n');
    expect(linesOf(events, 'stdout')).toEqual(['price € 1']);
  });

  test('a line far longer than max_line_bytes is split on character boundaries and loses nothing', async () => {
    const engine = makeEngine({ max_line_bytes: 1000 });
    // 3,000 three-byte characters (9,000 bytes), no newline: pieces must not cut a character.
    const { result, events } = await runAll(engine, {
      command: { type: 'exec', program: 'node', args: ['-e', "process.stdout.write('€'.repeat(3000))"] },
    });
    const pieces = linesOf(events, 'stdout');
    expect(pieces.length).toBeGreaterThanOrEqual(9);
    for (const p of pieces) {
      expect(Buffer.byteLength(p)).toBeLessThanOrEqual(1000);
      expect(p).not.toContain('\ufffd');
    }
    expect(pieces.join('')).toBe('€'.repeat(3000));
    expect(result.stdout).toBe('€'.repeat(3000));
  });

  test('stdin is at EOF: a command that reads it ends instead of hanging', async () => {
    const engine = makeEngine();
    const { result } = await runAll(engine, sh('cat; read line || echo eof'));
    expect(result).toMatchObject({ status: 'completed', stdout: 'eof\n' });
  });

  test('death by signal: failed, exit code -1, the signal named', async () => {
    const engine = makeEngine();
    const { result } = await runAll(engine, sh('echo dying; kill -KILL $$'));
    expect(result).toMatchObject({ status: 'failed', exit_code: -1, signal: 'SIGKILL', stdout: 'dying\n' });
    expect(result.error).toMatch(/killed by signal SIGKILL/);
  });
});

function cmdlineOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'latin1');
  } catch {
    return '';
  }
}

describe('a tree that ignores SIGTERM', () => {
  /**
   * Starts `trap '' TERM; ...; sleep 30`, waits until the shell and its sleep are both up,
   * returns the shell's pid, its process group and the group's members.
   */
  async function startStubborn(engine: ExecutionEngine, timeout_ms?: number) {
    const pids: number[] = [];
    // The shell's host pid: in a PID namespace (`process_containment`) `$$` is a namespace pid.
    const id = await engine.execute({
      ...sh(`trap '' TERM; ${READ_HOST_PID}; echo $p; sleep 30`),
      ...(timeout_ms ? { timeout_ms } : {}),
    });
    const watching = (async () => {
      for await (const e of engine.events(id))
        if (e.event_type === 'stdout' && /^\d+$/.test(e.line)) pids.push(Number(e.line));
    })();
    await until(() => pids.length === 1, 30_000, 'shell pid printed');
    const leader = pids[0]!;
    // The group: the shell (or what it exec'd) and its sleep, led by the shell, or in a PID
    // namespace by `unshare` (with the namespace's init); wait until the sleep is there.
    const group = processGroupOf(leader)!;
    await until(() => groupMembers(group).some((p) => cmdlineOf(p).startsWith('sleep')), 30_000, 'sleep running');
    const members = groupMembers(group);
    return { id, leader, group, members, watching };
  }

  test('timeout: status timeout, killed with SIGKILL after the grace period, nothing left of the tree', async () => {
    const engine = makeEngine({ kill_grace_ms: 300 });
    const { id, leader, group, members, watching } = await startStubborn(engine, 2_500);
    expect(members.length).toBeGreaterThanOrEqual(1);
    const result = await engine.wait(id);
    await watching;
    expect(result).toMatchObject({
      status: 'timeout',
      exit_code: -1,
      signal: 'SIGKILL',
      error: 'Execution timeout after 2500ms',
    });
    expect(result.stdout).toBe(`${leader}\n`);
    await until(() => !members.some(isAlive) && groupMembers(group).length === 0, 10_000, 'stubborn tree gone');
  });

  test('cancel: status cancelled, killed with SIGKILL after the grace period, nothing left of the tree', async () => {
    const engine = makeEngine({ kill_grace_ms: 300 });
    const { id, group, members, watching } = await startStubborn(engine);
    await engine.cancel(id);
    const result = await engine.wait(id);
    await watching;
    expect(result).toMatchObject({
      status: 'cancelled',
      exit_code: -1,
      signal: 'SIGKILL',
      error: 'Execution cancelled',
    });
    await until(() => !members.some(isAlive) && groupMembers(group).length === 0, 10_000, 'stubborn tree gone');
    // And the log says so.
    expect(await engine.readLogs(id)).toMatch(/\[engine\] Execution cancelled; process tree signalled/);
  });

  test('shutdown with stubborn trees running: it returns, and every tree is gone', async () => {
    const engine = makeEngine({ kill_grace_ms: 300 });
    const a = await startStubborn(engine);
    const b = await startStubborn(engine);
    await engine.shutdown({ mode: 'cancel' });
    for (const s of [a, b]) {
      expect((await engine.wait(s.id)).status).toBe('cancelled');
      await until(() => !s.members.some(isAlive) && groupMembers(s.group).length === 0, 10_000, 'stubborn tree gone');
    }
  });
});
