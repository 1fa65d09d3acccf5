/**
 * The process groups a worker has running, kept on disk so that a worker restarted after a
 * crash (SIGKILL, out of memory) ends what the dead one left: those commands have nobody
 * watching them and nobody to report to. A worker keeps no history and no logs (the
 * submitting engine keeps both); this file, one per worker process, is all it writes, and it
 * is deleted when the worker stops.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { endLeftoverGroup, processAlive, processStartTime } from '../runner/kill-tree.js';

interface LedgerFile {
  /** The worker process and when it started (a reused pid is not the same worker). */
  pid: number;
  start: string | null;
  /** Process groups by run (one run of a job on this worker), each with its leader's start time. */
  groups: Record<string, { pgid: number; start: string | null }>;
}

export class ProcessLedger {
  private readonly path: string;
  private readonly entry: LedgerFile = { pid: process.pid, start: processStartTime(process.pid), groups: {} };
  private warned = false;

  /** `dir`: the worker's state directory (its `log_dir`), shared by the workers of one machine. */
  constructor(
    private readonly dir: string,
    workerId: string,
  ) {
    this.path = join(dir, `${workerId}.json`);
  }

  /** Ends the process groups left by workers that died here and forgets them; returns how many processes it ended. */
  endLeftovers(): number {
    let ended = 0;
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((name) => name.endsWith('.json'));
    } catch {
      return 0; // no ledger yet: nothing was left
    }
    for (const name of names) {
      const path = join(this.dir, name);
      if (path === this.path) continue;
      let left: LedgerFile;
      try {
        left = JSON.parse(readFileSync(path, 'utf8')) as LedgerFile;
      } catch {
        continue; // being written (renamed into place whole) or not ours
      }
      if (processAlive(left.pid) && processStartTime(left.pid) === left.start) continue; // still running
      for (const group of Object.values(left.groups)) ended += endLeftoverGroup(group.pgid, group.start);
      rmSync(path, { force: true });
    }
    return ended;
  }

  add(run: string, pgid: number): void {
    this.entry.groups[run] = { pgid, start: processStartTime(pgid) };
    this.save();
  }

  remove(run: string): void {
    if (!(run in this.entry.groups)) return;
    delete this.entry.groups[run];
    this.save();
  }

  /** The worker stops with nothing running: nothing to leave behind. */
  dispose(): void {
    rmSync(this.path, { force: true });
  }

  private save(): void {
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      // Written aside and renamed: a worker starting meanwhile never reads half a file.
      const temp = `${this.path}.tmp`;
      writeFileSync(temp, JSON.stringify(this.entry), { mode: 0o600 });
      renameSync(temp, this.path);
    } catch (err) {
      if (this.warned) return;
      this.warned = true;
      const why = (err as Error).message;
      process.emitWarning(
        `cloudops-exec worker: cannot record running processes in ${this.dir} (${why}); ` +
          'a restart after a crash will not end them',
      );
    }
  }
}
