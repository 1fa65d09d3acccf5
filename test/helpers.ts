/** Shared test fixtures: throwaway log dirs, engines that are always shut down, process probes. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { createEngine, type ExecutionConfigInput, type ExecutionEngine, ValidationError } from '../src/index.js';

const engines: ExecutionEngine[] = [];
const dirs: string[] = [];

export function tempDir(prefix = 'cee-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

/** An engine logging to a fresh temp dir, with a short kill grace; shut down after each test. */
export function makeEngine(config: ExecutionConfigInput = {}): ExecutionEngine {
  const engine = createEngine({ log_dir: tempDir('cee-logs-'), kill_grace_ms: 500, ...config });
  engines.push(engine);
  return engine;
}

afterEach(async () => {
  const done = engines.splice(0);
  await Promise.all(done.map((e) => e.shutdown({ mode: 'cancel' })));
  for (const engine of done) engine.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Alive = exists and is not a zombie (a reaped-late zombie holds no resources and runs nothing). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * Shell text that sets `$p` to the pid of the shell running it as the host (and this test)
 * sees it. In a PID namespace (`process_containment`) `$$`, `$!` and `$PPID` are namespace
 * pids; /proc is the host's, so field 1 of /proc/self/stat is the host pid (`read` is a
 * builtin, so "self" is the shell itself).
 */
export const READ_HOST_PID = 'read -r p _ < /proc/self/stat';

/**
 * Shell text starting `command` in the background (`... &`) as a process that first writes its
 * own host pid to `file` (complete when the file appears: written aside, then renamed), then
 * execs `command`, keeping that pid. For tests that check or signal a background child: in a
 * PID namespace `$!` is a namespace pid. `command` must not contain single quotes.
 */
export function backgroundWritingPid(file: string, command: string): string {
  return `sh -c '${READ_HOST_PID}; echo $p > ${file}.tmp; mv ${file}.tmp ${file}; exec ${command}' &`;
}

/** The process group `pid` is in (Linux /proc); null if it is gone. */
export function processGroupOf(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // After the command name: state, ppid, pgrp.
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return null;
  }
}

/** Poll `condition` until true; fails after `timeoutMs`. For waiting on outside effects, not for timing assertions. */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
  what = 'condition',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export const sh = (command: string) => ({ command: { type: 'shell' as const, command } });
export const exec = (program: string, ...args: string[]) => ({ command: { type: 'exec' as const, program, args } });

/** The ValidationError `fn` throws (fails the test if it throws nothing or something else). */
export function validationErrorOf(fn: () => unknown): ValidationError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ValidationError);
  return thrown as ValidationError;
}
