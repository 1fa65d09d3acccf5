/**
 * File descriptors at the limit, in a child Node process (never the vitest worker): the
 * child runs under `ulimit -n`, uses the built engine (dist/), opens /dev/null until the
 * kernel says EMFILE, and submits work with (A) no descriptor free, (B) a few free, then
 * (C) all released. The engine must end what cannot start with a clean error (failed,
 * exit -1, a SpawnFailed / Io message naming EMFILE), never crash, never hang, and work
 * again afterwards. The child prints a JSON summary; this file asserts on it.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { expect, test } from 'vitest';

const SCRIPT = fileURLToPath(new URL('./fixtures/fd-pressure.mjs', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));
/**
 * 256, not 64: Node's ESM loader alone opens more than 64 files at once while importing
 * the engine's dependencies (zod's locales), so at 64 the child dies before the engine
 * exists. The child starts with about 23 descriptors open and squeezes out the rest itself.
 */
const FD_LIMIT = 256;

interface Brief {
  token?: string;
  id?: string;
  status?: string;
  exit_code?: number;
  stdout?: string;
  error?: string | null;
  submitError?: { code: string | null; message: string };
  waitError?: unknown;
}
interface Summary {
  fdsAtStart: number;
  held: number;
  fdLimitHit: boolean;
  uncaught: string[];
  hung: string[];
  fatal?: unknown;
  shutdown?: unknown;
  terminalCounts: number[];
  phases: {
    warm: Brief;
    A: {
      commands: Brief[];
      plan: { status: string; results: Brief[] };
      readLogs: { ok: boolean; code?: string; message?: string; hasLine?: boolean };
      replay: { ok: boolean; types?: string[] };
      cancelled: Brief;
      longGone: boolean;
      history: Array<string | null>;
    };
    B: { commands: Brief[] };
    C: { commands: Brief[]; plan: { status: string; results: Brief[] }; historyOfA: Array<string | null> };
  };
}

function runChild(): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      '/bin/sh',
      ['-c', `ulimit -n ${FD_LIMIT} && exec "$0" "$1" "$2"`, process.execPath, SCRIPT, pathToFileURL(DIST).href],
      { timeout: 100_000, killSignal: 'SIGKILL', maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: string }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : null) : 0,
          signal: e?.signal ?? null,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** A clean failure of something that could not start for lack of descriptors. */
function expectCleanFdFailure(r: Brief): void {
  expect(r.status, JSON.stringify(r)).toBe('failed');
  expect(r.exit_code).toBe(-1);
  expect(r.stdout).toBe('');
  expect(r.error).toMatch(/^(Process spawn failed|IO error): .*(EMFILE|too many open files)/);
}

test('at the file descriptor limit: clean failures, no crash, no hang; works again once descriptors are released', async () => {
  expect(existsSync(DIST), 'dist/ is built by `npm run test:reliability`').toBe(true);
  const child = await runChild();
  expect(child.signal, `child killed (hung?)\n${child.stderr}`).toBeNull();
  expect(child.code, child.stderr).toBe(0);
  const summary = JSON.parse(child.stdout.trim().split('\n').at(-1)!) as Summary;

  // The child really was at the limit, and nothing crashed or hung.
  expect(summary.fdLimitHit).toBe(true);
  expect(summary.held).toBeGreaterThan(FD_LIMIT / 2);
  expect(summary.uncaught).toEqual([]);
  expect(summary.hung).toEqual([]);
  expect(summary.fatal).toBeUndefined();
  expect(summary.shutdown).toBe('ok');
  expect(summary.phases.warm).toMatchObject({ status: 'completed', stdout: 'warm-line\n' });

  // A: nothing can start. Each submission is accepted and ends failed, with a reason.
  const a = summary.phases.A;
  expect(a.commands).toHaveLength(6);
  for (const r of a.commands) {
    expect(r.submitError).toBeUndefined();
    expectCleanFdFailure(r);
  }
  expect(a.plan.status).toBe('failed');
  expectCleanFdFailure(a.plan.results[0]!);
  expect(a.plan.results.slice(1).map((r) => r.status)).toEqual(['skipped', 'skipped']);
  // Reading a log back fails with a typed Io error instead of throwing something else.
  expect(a.readLogs.ok ? a.readLogs.hasLine : a.readLogs.code).toBe(a.readLogs.ok ? true : 'Io');
  // A late subscriber still gets the lifecycle (whether output lines can be read back is best effort).
  expect(a.replay.ok).toBe(true);
  expect(a.replay.types?.[0]).toBe('started');
  expect(a.replay.types?.at(-1)).toBe('completed');
  // Cancelling a running command needs no new descriptor: it ends cancelled and its process is gone.
  expect(a.cancelled.status).toBe('cancelled');
  expect(a.longGone).toBe(true);
  // The history store recorded the failures while at the limit.
  expect(a.history).toEqual(Array(6).fill('failed'));

  // B: a few descriptors free. Whatever ran is right; whatever could not start failed cleanly.
  expect(summary.phases.B.commands).toHaveLength(10);
  for (const r of summary.phases.B.commands) {
    expect(r.submitError).toBeUndefined();
    if (r.status === 'completed') expect(r.stdout).toBe(`${r.token}\n`);
    else expectCleanFdFailure(r);
  }

  // C: released. Everything works again, commands and plans, with the right output.
  for (const r of summary.phases.C.commands)
    expect(r).toMatchObject({ status: 'completed', exit_code: 0, stdout: `${r.token}\n`, error: null });
  expect(summary.phases.C.plan.status).toBe('completed');
  expect(summary.phases.C.plan.results.map((r) => r.stdout)).toEqual(['C-p0\n', 'C-p1\n', 'C-p2\n']);
  expect(summary.phases.C.historyOfA).toEqual(Array(6).fill('failed'));

  // Every execution that ran or failed ended with exactly one terminal event.
  expect(summary.terminalCounts.length).toBeGreaterThanOrEqual(6 + 1 + 10 + 10 + 3 + 2);
  expect(summary.terminalCounts.every((n) => n === 1)).toBe(true);
});
