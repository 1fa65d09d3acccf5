/**
 * Where client regexes run: RE2 (re2-wasm) in a worker thread, never on the event loop.
 *
 * Why RE2: retry patterns come from clients and run on command output. A backtracking
 * engine (JavaScript's RegExp) takes exponential time on patterns like `/(a+)+$/`, and
 * one such match froze the whole server. RE2 matches in time linear in the text, so no
 * pattern can stall it indefinitely; substrings alone would be safe too, but `/5\d\d/`-style
 * patterns are part of the retry policy's contract.
 *
 * Why a worker: linear is not cheap. In this WebAssembly build a pattern whose DFA blows up
 * falls back to RE2's NFA, which took seconds per pattern on 64 KiB of text, and compiling
 * a pattern with large `{n,m}` counts took 50 s (retry-pattern.ts caps both). Its heap is a
 * fixed 16 MiB: exhausting it aborts the module for good, and each live compiled pattern
 * keeps up to ~2 MiB of DFA cache. So: compile, use and free each pattern inside one job,
 * keep no compiled patterns alive, and run every job in a worker that is replaced when it
 * aborts or overruns its deadline.
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import type { RegexPattern } from '../wire/retry-pattern.js';

/** A job (compile check, or a match over every pattern) that takes longer is abandoned. */
export const RE2_JOB_DEADLINE_MS = 10_000;

type Compilable = Pick<RegexPattern, 're2Source' | 'ignoreCase' | 'multiline' | 'dotAll'>;
type Job =
  | { kind: 'check'; patterns: Compilable[] }
  | { kind: 'match'; patterns: Compilable[]; texts: string[] }
  | { kind: 'capture'; patterns: Compilable[]; text: string };

/**
 * The worker's code, evaluated as a CommonJS script: it runs the same from sources (tests)
 * and from dist/. It uses re2-wasm's compiled class directly, because the RE2 wrapper class
 * offers no way to free what it allocates (and leaks it when a pattern does not compile).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
// RE2 and the module report to stderr ("DFA out of memory"): not the engine's output. The
// module binds console at load, so it is silenced before the require, here in the worker:
// reading the streams on the host side would keep the process alive.
const quiet = () => true;
console.log = console.info = console.warn = console.error = console.debug = () => undefined;
process.stdout.write = quiet;
process.stderr.write = quiet;
const { WrappedRE2 } = require(workerData.re2Path);
function compile(p) {
  const re = new WrappedRE2(p.re2Source, p.ignoreCase, p.multiline, p.dotAll);
  if (re.ok()) return { re };
  const error = re.error();
  re.delete();
  return { error };
}
function run(job) {
  if (job.kind === 'check') {
    return job.patterns.map((p) => {
      const { re, error } = compile(p);
      if (re) re.delete();
      return error === undefined ? null : error;
    });
  }
  if (job.kind === 'capture') {
    return job.patterns.map((p) => {
      const { re } = compile(p);
      if (!re) return null;
      try {
        const found = re.match(job.text, 0, true);
        return found.index >= 0 && typeof found.groups[0] === 'string' ? found.groups[0] : null;
      } finally {
        re.delete();
      }
    });
  }
  for (let k = 0; k < job.patterns.length; k++) {
    const { re } = compile(job.patterns[k]);
    if (!re) continue;
    try {
      for (const text of job.texts) if (re.match(text, 0, false).index >= 0) return k;
    } finally {
      re.delete();
    }
  }
  return -1;
}
parentPort.on('message', (job) => {
  try {
    parentPort.postMessage({ ok: true, reply: run(job) });
  } catch (err) {
    // An abort (out of its fixed heap) leaves the module unusable: a fresh worker takes over.
    const fatal = err instanceof WebAssembly.RuntimeError;
    parentPort.postMessage({ ok: false, fatal, error: String((err && err.message) || err) });
    if (fatal) process.exit(1);
  }
});
`;

const re2Path = createRequire(import.meta.url).resolve('re2-wasm/build/wasm/re2.js');

/** Why a job produced no answer: RE2 failed, or the job overran its deadline. */
export class Re2JobFailed extends Error {
  constructor(
    readonly reason: 'deadline' | 'failed',
    message: string,
  ) {
    super(message);
    this.name = 'Re2JobFailed';
  }
}

interface Pending {
  job: Job;
  resolve: (reply: unknown) => void;
  reject: (err: Re2JobFailed) => void;
}

/** A worker left idle this long is stopped (a new one starts with the next job). */
const IDLE_MS = 30_000;

/** One worker, one job at a time, each with its own deadline (time spent queued does not count). */
class Re2Host {
  private worker: Worker | null = null;
  private readonly queue: Pending[] = [];
  private current: { pending: Pending; timer: NodeJS.Timeout } | null = null;
  private idle: NodeJS.Timeout | null = null;

  run(job: Job): Promise<unknown> {
    return new Promise((resolve, reject) => {
      this.queue.push({ job, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.current) return;
    if (this.idle) clearTimeout(this.idle);
    this.idle = null;
    if (this.queue.length === 0) {
      const worker = this.worker;
      if (worker) {
        worker.unref();
        this.idle = setTimeout(() => this.stop(worker), IDLE_MS).unref();
      }
      return;
    }
    const pending = this.queue.shift()!;
    const worker = this.ensureWorker();
    const timer = setTimeout(() => {
      this.fail(worker, new Re2JobFailed('deadline', `RE2 did not finish within ${RE2_JOB_DEADLINE_MS / 1000} s`));
    }, RE2_JOB_DEADLINE_MS);
    this.current = { pending, timer };
    // Referenced only while a job is outstanding: an idle worker never keeps the process alive.
    worker.ref();
    worker.postMessage(pending.job);
  }

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    // Its stdio is piped but never read (nor written: the worker silences itself), so none
    // of it reaches the engine's output and no open stream keeps the process alive. No
    // inherited node flags: under the host's `--input-type=module` this CommonJS source fails.
    const worker = new Worker(WORKER_SOURCE, {
      eval: true,
      execArgv: [],
      workerData: { re2Path },
      stdout: true,
      stderr: true,
    });
    worker.on('message', (message: { ok: boolean; fatal?: boolean; reply?: unknown; error?: string }) => {
      if (worker !== this.worker || !this.current) return;
      const { pending, timer } = this.current;
      clearTimeout(timer);
      this.current = null;
      if (message.fatal) {
        // It is exiting: the next job goes to a fresh worker.
        this.worker = null;
        void worker.terminate().catch(() => undefined);
      }
      if (message.ok) pending.resolve(message.reply);
      else pending.reject(new Re2JobFailed('failed', `RE2 failed: ${message.error}`));
      this.next();
    });
    worker.on('error', (err) => this.fail(worker, new Re2JobFailed('failed', `RE2 worker failed: ${err.message}`)));
    worker.on('exit', (code) => this.fail(worker, new Re2JobFailed('failed', `RE2 worker exited (code ${code})`)));
    this.worker = worker;
    return worker;
  }

  /** Stop the worker now if it is idle (a busy one is left to finish its job). */
  stopIfIdle(): void {
    if (this.worker) this.stop(this.worker);
  }

  private stop(worker: Worker): void {
    if (worker !== this.worker || this.current) return;
    this.worker = null;
    void worker.terminate().catch(() => undefined);
  }

  /** Drop `worker` (if still ours), fail the job it was running, and go on with a fresh one. */
  private fail(worker: Worker, err: Re2JobFailed): void {
    if (worker !== this.worker) return;
    this.worker = null;
    void worker.terminate().catch(() => undefined);
    const current = this.current;
    this.current = null;
    if (current) {
      clearTimeout(current.timer);
      current.pending.reject(err);
    }
    this.next();
  }
}

/**
 * Checks (compiling only, bounded by retry-pattern.ts's size limits) have their own worker,
 * so a submission's validation never waits behind another command's slow match.
 */
const checker = new Re2Host();
const matcher = new Re2Host();

/**
 * Each pattern's verdict, settled or on its way: a pattern is compiled once, even when a
 * plan's commands are checked all at once. Bounded, so clients cannot grow it; a check RE2
 * gave no answer for is forgotten.
 */
const VERDICT_CACHE_SIZE = 1024;
const verdicts = new Map<string, Promise<string | null>>();

function cacheKey(p: Compilable): string {
  return `${p.ignoreCase ? 'i' : ''}${p.multiline ? 'm' : ''}${p.dotAll ? 's' : ''}/${p.re2Source}`;
}

/** Per pattern: null when RE2 compiles it, else RE2's reason. Rejects with Re2JobFailed when RE2 gives no answer. */
export function re2CompileErrors(patterns: readonly Compilable[]): Promise<Array<string | null>> {
  const answers = new Map<string, Promise<string | null>>();
  const unknown: Compilable[] = [];
  const seen = new Set<string>();
  for (const p of patterns) {
    const key = cacheKey(p);
    if (seen.has(key)) continue;
    seen.add(key);
    const known = verdicts.get(key);
    if (known) answers.set(key, known);
    else unknown.push(p);
  }
  if (unknown.length > 0) {
    const job = checker.run({ kind: 'check', patterns: unknown.map(plain) }) as Promise<Array<string | null>>;
    unknown.forEach((p, k) => {
      const key = cacheKey(p);
      const verdict = job.then((errors) => errors[k] ?? null);
      verdict.catch(() => {
        if (verdicts.get(key) === verdict) verdicts.delete(key);
      });
      if (verdicts.size >= VERDICT_CACHE_SIZE) verdicts.delete(verdicts.keys().next().value!);
      verdicts.set(key, verdict);
      answers.set(key, verdict);
    });
  }
  return Promise.all(patterns.map((p) => answers.get(cacheKey(p))!));
}

/** Index of the first pattern that matches any of `texts`, or -1. Throws Re2JobFailed when RE2 gives no answer. */
export async function re2FirstMatch(patterns: readonly Compilable[], texts: readonly string[]): Promise<number> {
  return (await matcher.run({ kind: 'match', patterns: patterns.map(plain), texts: [...texts] })) as number;
}

/**
 * Per pattern, its first capture group in the first match in `text`, or null (no match, or
 * the group took no part). Step outputs (`{regex: ...}`) are read this way. Throws
 * Re2JobFailed when RE2 gives no answer.
 */
export async function re2FirstCaptures(patterns: readonly Compilable[], text: string): Promise<Array<string | null>> {
  return (await matcher.run({ kind: 'capture', patterns: patterns.map(plain), text })) as Array<string | null>;
}

/**
 * Stops the RE2 workers that have no job (an engine shutting down calls this). They are
 * shared by every engine in the process, so a busy one is left alone; the next job starts
 * a fresh worker.
 */
export function stopIdleRe2Workers(): void {
  checker.stopIfIdle();
  matcher.stopIfIdle();
}

/** Only what the worker needs crosses the thread boundary. */
function plain(p: Compilable): Compilable {
  return { re2Source: p.re2Source, ignoreCase: p.ignoreCase, multiline: p.multiline, dotAll: p.dotAll };
}
