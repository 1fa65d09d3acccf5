/**
 * Fixtures for the reliability suite, on top of the unit suite's (engines that are always
 * shut down and closed, temp dirs, process probes).
 */
import { readdirSync, readFileSync } from 'node:fs';
import type { ExecutionEngine, ExecutionEvent } from '../src/index.js';

export {
  exec,
  isAlive,
  makeEngine,
  processGroupOf,
  READ_HOST_PID,
  sh,
  tempDir,
  until,
  validationErrorOf,
} from '../test/helpers.js';

/** One event as a handler saw it, numbered in delivery order (which is publish order for a sync handler). */
export interface Recorded {
  seq: number;
  event: ExecutionEvent;
}

/**
 * Record every event the engine publishes, in order, with a synchronous handler (a sync
 * handler is called while the event is published, so `seq` is the engine's own order).
 */
export function recordEvents(engine: ExecutionEngine): Recorded[] {
  const seen: Recorded[] = [];
  engine.withEventHandler((event) => {
    seen.push({ seq: seen.length, event });
  });
  return seen;
}

export function executionIdOf(event: ExecutionEvent): string | null {
  return 'execution_id' in event ? event.execution_id : null;
}

/** Pids of every live process whose process group is `pgid` (Linux /proc). */
export function groupMembers(pgid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'latin1');
      const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      // rest[0] = state, rest[1] = ppid, rest[2] = pgrp
      if (Number(rest[2]) === pgid && rest[0] !== 'Z' && rest[0] !== 'X') out.push(Number(entry));
    } catch {
      // gone while we looked
    }
  }
  return out;
}
