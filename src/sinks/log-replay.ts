/**
 * Replays an execution's output from its log file, so a subscriber who arrives late (or
 * after a restart) gets every line, not just what fits in memory. The log keeps lines in
 * exactly the order their events were published, so a lifecycle event remembered with the
 * number of lines logged before it can be put back in its place among them.
 */
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ExecutionEvent } from '../wire/types.js';

/** A lifecycle event and how many output lines its execution had logged when it happened. */
export interface ReplayEntry {
  event: ExecutionEvent;
  linesBefore: number;
}

export interface LoggedLine {
  stream: 'stdout' | 'stderr';
  line: string;
  timestamp: string;
}

/** Where a command's lines are, how many of them to replay, and whether its log is complete. */
export interface LineSource {
  path: string;
  /** Lines to replay: what had been logged when the subscriber arrived. */
  count: number;
  /** True once the writer has closed the file (nothing more will be flushed to it). */
  settled: () => boolean;
}

const CHUNK_BYTES = 256 * 1024;
const POLL_MS = 10;
/** How long to wait for lines the writer has counted but not yet flushed, before giving up. */
const PATIENCE_MS = 5_000;
const ENTRY = /^(\S+) \[(stdout|stderr)\] /;

/**
 * The first `source.count` output lines of a log, in order. Lines still in the writer's
 * buffer are waited for (briefly); a log that is missing or shorter than counted (the
 * disk failed, the file was removed) yields what it has.
 */
export async function* readLoggedLines(source: LineSource): AsyncGenerator<LoggedLine> {
  if (source.count <= 0) return;
  let handle;
  try {
    handle = await open(source.path, 'r');
  } catch {
    return;
  }
  try {
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    let position = 0;
    let pending: Buffer = Buffer.alloc(0);
    let yielded = 0;
    let idleSince = Date.now();
    while (yielded < source.count) {
      const settledBefore = source.settled();
      const { bytesRead } = await handle.read(chunk, 0, CHUNK_BYTES, position);
      if (bytesRead === 0) {
        // A settled log has nothing more coming; otherwise the writer may still flush.
        if (settledBefore || Date.now() - idleSince > PATIENCE_MS) return;
        await sleep(POLL_MS);
        continue;
      }
      idleSince = Date.now();
      position += bytesRead;
      const data =
        pending.length > 0 ? Buffer.concat([pending, chunk.subarray(0, bytesRead)]) : chunk.subarray(0, bytesRead);
      let start = 0;
      for (let nl = data.indexOf(10, start); nl !== -1 && yielded < source.count; nl = data.indexOf(10, start)) {
        const entry = parseEntry(data.subarray(start, nl));
        start = nl + 1;
        if (entry) {
          yielded++;
          yield entry;
        }
      }
      // Copy the partial line: `chunk` is reused by the next read.
      pending = Buffer.from(data.subarray(start));
    }
  } finally {
    await handle.close();
  }
}

/** `<timestamp> [stdout|stderr] <line>`; header, footer and `[engine]` notes are not output. */
function parseEntry(raw: Buffer): LoggedLine | null {
  // The prefix is ASCII; decode only enough of it to match, then the line as UTF-8 (as events do).
  const head = raw.subarray(0, 64).toString('latin1');
  const m = ENTRY.exec(head);
  if (!m) return null;
  return { stream: m[2] as LoggedLine['stream'], timestamp: m[1]!, line: raw.subarray(m[0].length).toString('utf8') };
}

/**
 * Lifecycle events in their order, each preceded by the output lines its execution logged
 * before it, then the remaining counted lines of every source. `sources` maps execution ids
 * to their logs; events of executions without one (a plan's own) pass straight through.
 */
export async function* mergeReplay(
  entries: readonly ReplayEntry[],
  sources: ReadonlyMap<string, LineSource>,
): AsyncGenerator<ExecutionEvent> {
  const readers = new Map<string, { lines: AsyncGenerator<LoggedLine>; emitted: number }>();
  const reader = (id: string) => {
    let r = readers.get(id);
    if (!r) readers.set(id, (r = { lines: readLoggedLines(sources.get(id)!), emitted: 0 }));
    return r;
  };
  async function* linesOf(id: string, upTo: number): AsyncGenerator<ExecutionEvent> {
    const r = reader(id);
    while (r.emitted < upTo) {
      const next = await r.lines.next();
      if (next.done) {
        r.emitted = upTo; // the log has fewer lines than counted: nothing more to wait for
        return;
      }
      r.emitted++;
      yield { event_type: next.value.stream, execution_id: id, line: next.value.line, timestamp: next.value.timestamp };
    }
  }
  try {
    for (const { event, linesBefore } of entries) {
      const id = 'execution_id' in event ? event.execution_id : null;
      if (id !== null && sources.has(id)) yield* linesOf(id, linesBefore);
      yield event;
    }
    for (const [id, source] of sources) yield* linesOf(id, source.count);
  } finally {
    for (const r of readers.values()) await r.lines.return(undefined);
  }
}
