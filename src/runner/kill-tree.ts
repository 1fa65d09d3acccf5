/**
 * Ending a whole process tree. Every command runs as the leader of its own process group
 * (spawned `detached`), so one `kill(-pgid)` reaches children and grandchildren. On Linux
 * we also walk /proc for descendants, which catches the ones that left the group with
 * `setsid` while their parent is still alive.
 *
 * In a PID namespace (containment.ts) the group leader is `unshare` and the namespace's init
 * is its child in the same group, so the same group kill and walk also end a namespace whose
 * engine died: SIGKILL to the init kills everything inside.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Fields of /proc/<pid>/stat after `comm` (state, ppid, pgrp, ...), or undefined if it is gone. */
function statFields(pid: number | string): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // Field 2 (comm) may contain spaces and parentheses; fields after the last ')' are fixed.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function parentOf(pid: string): number | undefined {
  const fields = statFields(pid);
  return fields ? Number(fields[1]) : undefined;
}

/**
 * When process `pid` started (clock ticks since boot), to tell it from a later process that
 * got the same pid. Null where /proc is not available.
 */
export function processStartTime(pid: number): string | null {
  return statFields(pid)?.[19] ?? null;
}

/**
 * End what is left of a process group a dead engine spawned: SIGKILL to the group and the
 * leader's descendants. Its leader, if still there, must be the process recorded (same start
 * time), so a reused pid is never hit. Returns how many processes were found.
 */
export function endLeftoverGroup(pgid: number, leaderStart: string | null): number {
  const leaderFields = statFields(pgid);
  if (leaderFields && leaderStart !== null && leaderFields[19] !== leaderStart) return 0;
  let members = 0;
  try {
    for (const entry of readdirSync('/proc')) {
      if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
      if (Number(statFields(entry)?.[2]) === pgid) members++;
    }
  } catch {
    return 0;
  }
  if (members === 0 && !leaderFields) return 0;
  signalTree(pgid, 'SIGKILL');
  return Math.max(members, 1);
}

/** Pids of all live descendants of `root` (Linux only; empty elsewhere). */
export function descendantsOf(root: number): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const children = new Map<number, number[]>();
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const ppid = parentOf(entry);
    if (ppid === undefined) continue;
    const list = children.get(ppid);
    if (list) list.push(Number(entry));
    else children.set(ppid, [Number(entry)]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    for (const child of children.get(stack.pop()!) ?? []) {
      out.push(child);
      stack.push(child);
    }
  }
  return out;
}

/** Signal `target` (a pid, or a group as -pgid); false if it is gone or not ours. */
export function trySignal(target: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(target, signal);
    return true;
  } catch {
    return false; // ESRCH: already gone; EPERM: not ours to kill
  }
}

/** Send `signal` to the process group led by `pid` and to every descendant found. */
export function signalTree(pid: number, signal: NodeJS.Signals): void {
  const descendants = descendantsOf(pid);
  trySignal(-pid, signal);
  trySignal(pid, signal);
  for (const child of descendants) trySignal(child, signal);
}

/** True while process `pid` exists (EPERM: it exists but is not ours). */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** True while any member of the process group led by `pgid` is alive. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Groups whose leader we spawned and that may still have members. If the engine's own
 * process exits (normally or via `process.exit`), they are killed so nothing is orphaned.
 */
const liveGroups = new Set<number>();
let exitHookInstalled = false;

export function trackGroup(pgid: number): void {
  liveGroups.add(pgid);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const group of liveGroups) signalTree(group, 'SIGKILL');
    });
  }
}

export function untrackGroup(pgid: number): void {
  liveGroups.delete(pgid);
}
