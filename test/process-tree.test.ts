/**
 * Cancellation and timeouts end the whole process tree: the command, its children and
 * grandchildren, including ones that ignore SIGTERM or left the process group.
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import type { ExecutionEngine } from '../src/index.js';
import { isAlive, makeEngine, sh, tempDir, until } from './helpers.js';

/**
 * Shell text printing the pid of the shell running it as the engine sees it: in a PID
 * namespace (`process_containment`) `$$` and `$!` are namespace pids, /proc/self is not.
 */
const ECHO_PID = 'read -r p _ < /proc/self/stat; echo $p';

/** A script that prints its own pid (as the engine sees it), then execs its arguments: `sh <it> sleep 100 &`. */
function pidThenExec(): string {
  const file = join(tempDir(), 'pid-then-exec.sh');
  writeFileSync(file, `${ECHO_PID}\nexec "$@"\n`);
  return file;
}

/** Start `script`, which must print the pids to watch (one per line) before blocking. */
async function startTree(engine: ExecutionEngine, script: string, pidCount: number, timeout_ms?: number) {
  const pids: number[] = [];
  const id = await engine.execute({ ...sh(script), ...(timeout_ms ? { timeout_ms } : {}) });
  const seen = (async () => {
    for await (const event of engine.events(id)) {
      if (event.event_type === 'stdout' && /^\d+$/.test(event.line)) pids.push(Number(event.line));
    }
  })();
  await until(() => pids.length >= pidCount, 10_000, `${pidCount} pids printed`);
  return { id, pids, seen };
}

// `auto` is a PID namespace per command when the engine runs as root (as CI does); the
// process group (+ /proc walk) is what every other engine uses.
describe.each(['auto', 'process_group'] as const)('containment %s', (mode) => {
  describe.each(['cancel', 'timeout'] as const)('%s ends the tree', (how) => {
    const stop = async (engine: ExecutionEngine, id: string) => {
      if (how === 'cancel') await engine.cancel(id);
    };
    const timeout = how === 'timeout' ? 1_500 : undefined;
    const expected = how === 'cancel' ? 'cancelled' : 'timeout';

    test('a grandchild (sh -c "sleep 100 & wait") is gone afterwards, output so far kept', async () => {
      const engine = makeEngine({ process_containment: mode });
      const { id, pids, seen } = await startTree(
        engine,
        `${ECHO_PID}; sh -c "sh ${pidThenExec()} sleep 100 & wait"`,
        2,
        timeout,
      );
      expect(pids.every(isAlive)).toBe(true);
      await stop(engine, id);
      const result = await engine.wait(id);
      await seen;
      expect(result.status).toBe(expected);
      expect(result.stdout).toBe(`${pids[0]}\n${pids[1]}\n`);
      await until(() => !pids.some(isAlive), 5_000, 'tree to be gone');
    });

    test('processes that ignore SIGTERM are killed after the grace period', async () => {
      const engine = makeEngine({ kill_grace_ms: 300, process_containment: mode });
      // An ignored signal stays ignored across fork/exec, so the whole tree shrugs off SIGTERM.
      const { id, pids } = await startTree(
        engine,
        `trap '' TERM; ${ECHO_PID}; sh ${pidThenExec()} sleep 100 & wait; wait`,
        2,
        timeout,
      );
      await stop(engine, id);
      const result = await engine.wait(id);
      expect(result.status).toBe(expected);
      expect(result.signal).toBe('SIGKILL');
      await until(() => !pids.some(isAlive), 5_000, 'tree to be gone');
    });
  });

  test('a descendant that left the process group with setsid is found and killed too', async () => {
    const engine = makeEngine({ process_containment: mode });
    const { id, pids } = await startTree(engine, `setsid sh ${pidThenExec()} sleep 100 & wait`, 1);
    await engine.cancel(id);
    expect((await engine.wait(id)).status).toBe('cancelled');
    await until(() => !pids.some(isAlive), 5_000, 'setsid child to be gone');
  });

  test('background children left behind by a command that exited are cleaned up, and the command completes', async () => {
    const engine = makeEngine({ process_containment: mode });
    // The leader exits once its background child has said its pid; the child keeps our stdout pipe open (as its stderr).
    const file = join(tempDir(), 'pid');
    const id = await engine.execute(
      sh(`sh ${pidThenExec()} sleep 100 2>&1 > ${file} & while [ ! -s ${file} ]; do sleep 0.05; done; cat ${file}`),
    );
    const result = await engine.wait(id);
    expect(result.status).toBe('completed');
    expect(result.exit_code).toBe(0);
    const orphan = Number(result.stdout.trim());
    await until(() => !isAlive(orphan), 5_000, 'left-behind child to be gone');
  });

  test('the log records that the tree was signalled', async () => {
    const engine = makeEngine({ process_containment: mode });
    const { id } = await startTree(engine, `${ECHO_PID}; sleep 100`, 1);
    await engine.cancel(id);
    await engine.wait(id);
    const log = await engine.readLogs(id);
    expect(log).toMatch(/\[engine\] Execution cancelled; process tree signalled/);
    expect(log).toMatch(/# status: cancelled/);
  });
});

/** How many processes are in group `pgid`. */
function groupMembers(pgid: number): number {
  let n = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) === pgid) n++;
    } catch {
      // gone meanwhile
    }
  }
  return n;
}

test('a leftover group is ended only if its leader is the process recorded (a reused pid is left alone)', async () => {
  const { spawn: spawnChild } = await import('node:child_process');
  const { endLeftoverGroup, processStartTime } = await import('../src/runner/kill-tree.js');
  const child = spawnChild('sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore' });
  const pid = child.pid!;
  await until(() => processStartTime(pid) !== null, 5_000, 'started');
  await until(() => groupMembers(pid) >= 2, 5_000, 'the sleep to be in the group');
  expect(endLeftoverGroup(pid, '1')).toBe(0); // another process that once had this pid
  expect(isAlive(pid)).toBe(true);
  expect(endLeftoverGroup(pid, processStartTime(pid))).toBeGreaterThanOrEqual(2);
  await until(() => !isAlive(pid), 5_000, 'group ended');
});
