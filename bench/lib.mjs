// Helpers shared by the benchmark cases (child side) and the runner (parent side).
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';

/**
 * The engine under test: the build in dist/, or another build named by BENCH_ENGINE (a path
 * to its index.js), to compare a change against the baseline with the same suite.
 */
export function loadEngine() {
  const alt = process.env.BENCH_ENGINE;
  return import(alt ? pathToFileURL(resolve(alt)).href : '../dist/index.js');
}

/** Monotonic milliseconds (CLOCK_MONOTONIC, comparable across processes on Linux). */
export const nowMs = () => Number(process.hrtime.bigint()) / 1e6;

/** `BENCH_SCALE` (default 1) shrinks every case; a per-case variable overrides it. */
export const SCALE = Number(process.env.BENCH_SCALE ?? 1);

export function sized(envName, full, min = 1) {
  const explicit = process.env[envName];
  if (explicit !== undefined && explicit !== '') return Number(explicit);
  return Math.max(min, Math.round(full * SCALE));
}

export function intEnv(envName, fallback) {
  const v = process.env[envName];
  return v === undefined || v === '' ? fallback : Number(v);
}

/** A temp dir removed when `remove()` is called (and at exit, if forgotten). */
const tempDirs = new Set();
export function tempDir(prefix = 'cee-bench-') {
  const path = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(path);
  return {
    path,
    remove() {
      rmSync(path, { recursive: true, force: true });
      tempDirs.delete(path);
    },
  };
}
process.once('exit', () => {
  for (const path of tempDirs) rmSync(path, { recursive: true, force: true });
});

/** Run `task(i)` for i in 0..n-1, at most `width` at a time. */
export async function pool(n, width, task) {
  let next = 0;
  const worker = async () => {
    while (next < n) {
      const i = next++;
      await task(i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

/** Spawn and resolve on 'close' (stdout/stderr piped and drained, as the engine does). */
export function spawnDone(file, args, options = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
    child.stdout?.on('data', () => {});
    child.stderr?.on('data', () => {});
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

// ---- processes, /proc ----

/** Gone = no /proc entry, or a zombie (dead, waiting to be reaped by whoever is its parent now). */
export function procGone(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

function parentOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
  } catch {
    return undefined;
  }
}

/** Live (non-zombie) descendants of `root`, by walking /proc/<pid>/stat ppid fields. */
export function descendants(root = process.pid) {
  const children = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const ppid = parentOf(entry);
    if (ppid === undefined) continue;
    if (!children.has(ppid)) children.set(ppid, []);
    children.get(ppid).push(Number(entry));
  }
  const out = [];
  const stack = [root];
  while (stack.length > 0) {
    for (const c of children.get(stack.pop()) ?? []) {
      if (!procGone(c)) out.push(c);
      stack.push(c);
    }
  }
  return out;
}

/** SIGKILL every live descendant of this process; returns how many there were. */
export function killDescendants() {
  const left = descendants(process.pid);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  return left.length;
}

/** Poll (every ~1 ms, without blocking the event loop) until every pid is gone; ms waited, or null on timeout. */
export async function waitGone(pids, timeoutMs, t0 = nowMs()) {
  for (;;) {
    if (pids.every(procGone)) return nowMs() - t0;
    if (nowMs() - t0 > timeoutMs) return null;
    await sleep(1);
  }
}

// ---- CPU ----

/**
 * CPU time so far, in ms: this process (all its threads, so libuv's thread pool too) and its
 * reaped children (cutime + cstime from /proc/self/stat, 10 ms ticks: fine over many commands).
 */
export function cpuTimes() {
  const { user, system } = process.cpuUsage();
  let children = NaN;
  try {
    const stat = readFileSync('/proc/self/stat', 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    children = ((Number(f[13]) + Number(f[14])) * 1000) / 100; // fields 16, 17; USER_HZ = 100
    children += helperCpu();
  } catch {}
  return { self: (user + system) / 1000, children };
}

/**
 * CPU of the live children that outlast commands (the engine's spawn server): their own time
 * and that of the commands they reaped, which would otherwise be missing from `children` until
 * the helper exits. Counted with the children: it is CPU spent outside this process.
 */
function helperCpu() {
  let ms = 0;
  for (const pid of descendants(process.pid)) {
    if (parentOf(pid) !== process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ms += ((Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14])) * 1000) / 100; // utime stime cutime cstime
    } catch {}
  }
  return ms;
}

export function cpuSince(before) {
  const now = cpuTimes();
  return { self: now.self - before.self, children: now.children - before.children };
}

// ---- memory ----

export function vmHWM() {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'latin1'));
  return m ? Number(m[1]) * 1024 : NaN;
}

/**
 * Peak RSS of this process from now on: resets the kernel's high-water mark
 * (/proc/self/clear_refs "5") and samples process.memoryUsage().rss every `everyMs`.
 * The sampler runs on the event loop, so a busy loop delays it; VmHWM catches what it misses.
 */
export function rssTracker(everyMs = 50) {
  let hwmReset = true;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
  } catch {
    hwmReset = false;
  }
  const baseline = process.memoryUsage().rss;
  let peakSampled = baseline;
  let samples = 0;
  const timer = setInterval(() => {
    samples++;
    peakSampled = Math.max(peakSampled, process.memoryUsage().rss);
  }, everyMs);
  return {
    baseline,
    stop() {
      clearInterval(timer);
      peakSampled = Math.max(peakSampled, process.memoryUsage().rss);
      const hwm = vmHWM();
      const peak = hwmReset ? Math.max(peakSampled, hwm) : peakSampled;
      return { baseline, peakSampled, vmHWM: hwm, hwmReset, peak, growth: peak - baseline, samples };
    },
  };
}

export async function fullGc() {
  if (typeof global.gc !== 'function') throw new Error('run with --expose-gc');
  for (let i = 0; i < 4; i++) {
    global.gc();
    await sleep(20);
  }
}
