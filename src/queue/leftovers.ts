/**
 * The process groups a worker has running, kept on disk so that a worker restarted after a
 * crash (SIGKILL, out of memory) ends what the dead one left: those commands have nobody
 * watching them and nobody to report to. A worker keeps no history and no logs (the
 * submitting engine keeps both); this file, one per worker process, is all it writes, and it
 * is deleted when the worker stops.
 *
 * The file is a journal (JSON lines): the worker process first, then one line per group
 * started and one per group ended, each appended with one write as it happens. Appending
 * costs one small write per change; rewriting the whole file and renaming it into place per
 * change cost more than the spawn itself on some filesystems. The journal is rewritten whole
 * (aside and renamed) only now and then, to drop the lines of groups long ended.
 */
import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { endLeftoverGroup, processAlive, processStartTime } from '../runner/kill-tree.js';

/** The first line: the worker process and when it started (a reused pid is not the same worker). */
interface Header {
  pid: number;
  start: string | null;
}
/** A group started (`add`: the run, one run of a job on this worker) or ended (`remove`). */
type Entry = { add: string; pgid: number; start: string | null } | { remove: string };
interface Group {
  pgid: number;
  start: string | null;
}
/** What the previous version wrote (`<worker>.json`, rewritten whole per change): still read, so its leftovers are ended. */
interface LegacyFile extends Header {
  groups: Record<string, Group>;
}

/** Lines appended before the journal is rewritten with only the groups still running. */
const COMPACT_AFTER_LINES = 4096;

export class ProcessLedger {
  private readonly path: string;
  private readonly header: Header = { pid: process.pid, start: processStartTime(process.pid) };
  private readonly groups = new Map<string, Group>();
  /** The open journal (null until the first group, and after a write failed). */
  private fd: number | null = null;
  private lines = 0;
  private warned = false;

  /** `dir`: the worker's state directory (its `log_dir`), shared by the workers of one machine. */
  constructor(
    private readonly dir: string,
    workerId: string,
  ) {
    this.path = join(dir, `${workerId}.jsonl`);
  }

  /** Ends the process groups left by workers that died here and forgets them; returns how many processes it ended. */
  endLeftovers(): number {
    let ended = 0;
    let names: string[];
    try {
      names = readdirSync(this.dir).filter((name) => name.endsWith('.jsonl') || name.endsWith('.json'));
    } catch {
      return 0; // no ledger yet: nothing was left
    }
    for (const name of names) {
      const path = join(this.dir, name);
      if (path === this.path) continue;
      let left: LegacyFile | null;
      try {
        const text = readFileSync(path, 'utf8');
        left = name.endsWith('.jsonl') ? readJournal(text) : (JSON.parse(text) as LegacyFile);
      } catch {
        continue; // not ours
      }
      if (!left) continue;
      if (processAlive(left.pid) && processStartTime(left.pid) === left.start) continue; // still running
      for (const group of Object.values(left.groups)) ended += endLeftoverGroup(group.pgid, group.start);
      rmSync(path, { force: true });
    }
    return ended;
  }

  add(run: string, pgid: number): void {
    const group = { pgid, start: processStartTime(pgid) };
    this.groups.set(run, group);
    this.append({ add: run, ...group });
  }

  remove(run: string): void {
    if (!this.groups.delete(run)) return;
    this.append({ remove: run });
  }

  /** The worker stops with nothing running: nothing to leave behind. */
  dispose(): void {
    this.closeJournal();
    rmSync(this.path, { force: true });
  }

  private append(entry: Entry): void {
    try {
      if (this.fd === null || this.lines >= COMPACT_AFTER_LINES) this.rewrite();
      else {
        // One write per line: a crash leaves at most its last line torn, which the reader skips.
        writeSync(this.fd, `${JSON.stringify(entry)}\n`);
        this.lines++;
      }
    } catch (err) {
      this.closeJournal(); // the next change rewrites it whole
      if (this.warned) return;
      this.warned = true;
      const why = (err as Error).message;
      process.emitWarning(
        `cloudops-exec worker: cannot record running processes in ${this.dir} (${why}); ` +
          'a restart after a crash will not end them',
      );
    }
  }

  /** The journal written whole with the groups running now, aside and renamed: a worker starting meanwhile never reads half a header. */
  private rewrite(): void {
    this.closeJournal();
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const lines = [JSON.stringify(this.header)];
    for (const [run, group] of this.groups) lines.push(JSON.stringify({ add: run, ...group } satisfies Entry));
    const temp = `${this.path}.tmp`;
    const fd = openSync(temp, 'w', 0o600);
    try {
      writeSync(fd, `${lines.join('\n')}\n`);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    renameSync(temp, this.path);
    // Still the same file after the rename: appends go on at its end.
    this.fd = fd;
    this.lines = lines.length;
  }

  private closeJournal(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // already unusable: nothing more to write through it
    }
    this.fd = null;
  }
}

/** A journal's worker and the groups it still had running; null if it has no complete first line. */
function readJournal(text: string): LegacyFile | null {
  const lines = text.split('\n');
  lines.pop(); // after the last newline: empty, or a line a crash cut short
  const first = lines.shift();
  if (first === undefined) return null;
  const header = JSON.parse(first) as Header;
  const groups: Record<string, Group> = {};
  for (const line of lines) {
    let entry: Entry;
    try {
      entry = JSON.parse(line) as Entry;
    } catch {
      continue; // a write cut short by a full disk: the lines after it still count
    }
    if ('remove' in entry) delete groups[entry.remove];
    else groups[entry.add] = { pgid: entry.pgid, start: entry.start };
  }
  return { pid: header.pid, start: header.start, groups };
}
