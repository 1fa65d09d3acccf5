/**
 * A closed output (`cloudops-exec run plan.yaml | head -2`) is a normal end, as for any shell
 * tool: nothing more is written, what is running is cancelled the way Ctrl-C cancels it (so the
 * history says `cancelled`, not `interrupted`), and the process exits 0 — the reader chose to
 * stop, nothing failed. (A shell reports 141 for a program killed by SIGPIPE; Node ignores
 * SIGPIPE, and 0 keeps `set -o pipefail` scripts from failing because `head` was used.)
 */
import { EXIT } from './exit.js';

type Stop = () => unknown;

const stops = new Set<Stop>();
let closed = false;
/** Longest wait for the running work to end once the reader has gone (kill grace included). */
const STOP_WAIT_MS = 30_000;

/** True once stdout or stderr has been closed by its reader. */
export function outputClosed(): boolean {
  return closed;
}

/**
 * Call `stop` when the reader goes away (at once if it already has). While one is registered,
 * the command ends by its own path (its summary write goes nowhere) and exits 0; with none,
 * the process exits 0 at once. Returns the function that unregisters it.
 */
export function onOutputClosed(stop: Stop): () => void {
  if (closed) void Promise.resolve().then(stop);
  else stops.add(stop);
  return () => stops.delete(stop);
}

/** Install the EPIPE handling on stdout and stderr (once, at start). */
export function stopWhenOutputCloses(): void {
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      if (closed) return;
      closed = true;
      if (stops.size === 0) process.exit(EXIT.OK);
      for (const stop of [...stops]) {
        try {
          void Promise.resolve(stop()).catch(() => undefined);
        } catch {
          // The command still ends by its own path, or by the timer below.
        }
      }
      setTimeout(() => process.exit(EXIT.OK), STOP_WAIT_MS).unref();
    });
  }
}
