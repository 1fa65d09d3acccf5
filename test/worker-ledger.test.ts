/**
 * The worker's process ledger (a journal of the process groups it runs): a worker restarted
 * after a crash ends what the dead one left running, and only that, even when the crash cut
 * the journal's last line short.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import { ProcessLedger } from '../src/queue/leftovers.js';
import { processStartTime } from '../src/runner/kill-tree.js';
import { isAlive, tempDir, until } from './helpers.js';

const started: ChildProcess[] = [];
afterEach(() => {
  for (const child of started.splice(0)) if (child.pid && isAlive(child.pid)) process.kill(-child.pid, 'SIGKILL');
});

/** A process group of its own, as the worker's commands have. */
function group(): { pgid: number; start: string | null } {
  const child = spawn('sleep', ['60'], { detached: true, stdio: 'ignore' });
  started.push(child);
  return { pgid: child.pid!, start: processStartTime(child.pid!) };
}

/** A worker process that has exited: its ledger is a dead worker's. */
function deadWorker(): { pid: number; start: string | null } {
  const { pid } = spawnSync('true');
  return { pid: pid!, start: 'gone' };
}

test('a dead worker journal: its running group is ended, an ended one is left alone, a torn last line is skipped', async () => {
  const dir = tempDir();
  const left = group();
  const finished = group(); // its line says it ended: whatever has that pgid now is not the dead worker's
  const lines = [
    JSON.stringify(deadWorker()),
    JSON.stringify({ add: 'run-1', ...left }),
    JSON.stringify({ add: 'run-2', ...finished }),
    JSON.stringify({ remove: 'run-2' }),
    '{"add":"run-3","pgid":', // the crash cut this one short
  ];
  writeFileSync(join(dir, 'dead.jsonl'), lines.join('\n'));
  const ended = new ProcessLedger(dir, 'restarted').endLeftovers();
  expect(ended).toBeGreaterThanOrEqual(1);
  await until(() => !isAlive(left.pgid), 5_000, 'the leftover ended');
  expect(isAlive(finished.pgid)).toBe(true);
  expect(existsSync(join(dir, 'dead.jsonl'))).toBe(false);
});

test("a live worker's journal is not touched, and its own records its groups until it stops", () => {
  const dir = tempDir();
  const ledger = new ProcessLedger(dir, 'live');
  const running = group();
  const done = group();
  ledger.add('a', running.pgid);
  ledger.add('b', done.pgid);
  ledger.remove('b');
  // Another worker starting on this machine sees a live worker's journal and leaves it be.
  expect(new ProcessLedger(dir, 'other').endLeftovers()).toBe(0);
  expect(isAlive(running.pgid)).toBe(true);
  const journal = readFileSync(join(dir, 'live.jsonl'), 'utf8')
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line));
  expect(journal[0]).toMatchObject({ pid: process.pid });
  expect(journal.slice(1)).toEqual([
    { add: 'a', pgid: running.pgid, start: running.start },
    { add: 'b', pgid: done.pgid, start: done.start },
    { remove: 'b' },
  ]);
  ledger.dispose();
  expect(readdirSync(dir)).toEqual([]);
});

test("the previous version's ledger (<worker>.json) is still read: its leftovers are ended", async () => {
  const dir = tempDir();
  const left = group();
  writeFileSync(join(dir, 'old.json'), JSON.stringify({ ...deadWorker(), groups: { r: left } }));
  expect(new ProcessLedger(dir, 'restarted').endLeftovers()).toBeGreaterThanOrEqual(1);
  await until(() => !isAlive(left.pgid), 5_000, 'the leftover ended');
});
