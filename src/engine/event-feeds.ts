/**
 * The engine's event iterators (`events(id?)`): a late subscriber first gets what it missed
 * (the lifecycle events, with every output line read back from the log in its place), then
 * the live events; each iterator ends when its execution finishes or the engine shuts down.
 */
import type { ExecutionRecord } from '../history/store.js';
import type { EventBus } from '../sinks/event-bus.js';
import { concatEvents, iterateEvents } from '../sinks/event-iterator.js';
import { type LineSource, mergeReplay } from '../sinks/log-replay.js';
import type { ExecutionEvent } from '../wire/types.js';
import { historyReplayOf } from './history-replay.js';
import type { TrackedExecution } from './tracked.js';

export interface EventFeedOptions {
  bufferLimit: number;
  /** Without line events, a replay reads no lines from the logs either. */
  streamOutput: boolean;
}

export class EventFeeds {
  /** Ends of open iterators, by execution id (null: those over every execution). */
  private readonly closers = new Map<string | null, Set<() => void>>();

  constructor(
    private readonly bus: EventBus,
    private readonly options: EventFeedOptions,
  ) {}

  /** Every execution's events from now on; `finished`: nothing more will come. */
  all(finished: boolean): AsyncIterableIterator<ExecutionEvent> {
    return iterateEvents(this.bus, {
      filter: () => true,
      replay: [],
      finished,
      bufferLimit: this.options.bufferLimit,
      registerCloser: this.register(null),
    });
  }

  /** One tracked execution's (or plan's) events: what it missed, then live. `lookup` finds a plan's commands. */
  of(
    state: TrackedExecution,
    lookup: (id: string) => TrackedExecution | undefined,
  ): AsyncIterableIterator<ExecutionEvent> {
    const id = state.id;
    const commands = state.kind === 'plan' ? [...state.commandIds].map(lookup) : [state];
    const filter =
      state.kind === 'plan'
        ? (e: ExecutionEvent) =>
            'plan_id' in e ? e.plan_id === id : e.execution_id === id || state.commandIds.has(e.execution_id)
        : (e: ExecutionEvent) => 'execution_id' in e && e.execution_id === id;
    // Snapshot and subscription in one synchronous step: the replay ends exactly where the live part begins.
    const sources = new Map<string, LineSource>();
    for (const c of commands) {
      if (c?.kind !== 'command') continue;
      sources.set(c.id, {
        path: c.logPath,
        count: this.options.streamOutput ? c.linesLogged : 0,
        settled: () => c.finished,
      });
    }
    const replay = mergeReplay([...state.replay], sources);
    const live = iterateEvents(this.bus, {
      filter,
      replay: [],
      finished: state.finished,
      bufferLimit: this.options.bufferLimit,
      registerCloser: this.register(id),
    });
    return concatEvents(replay, live);
  }

  /** An execution no engine tracks any more, replayed from its history records and its logs. */
  fromHistory(records: ExecutionRecord[]): AsyncIterableIterator<ExecutionEvent> {
    const { entries, sources } = historyReplayOf(records);
    if (!this.options.streamOutput) for (const source of sources.values()) source.count = 0;
    return mergeReplay(entries, sources);
  }

  /** End the iterators of one execution (it finished), or of every execution (`null`: shutdown). */
  end(id: string | null): void {
    const closers = this.closers.get(id);
    if (!closers) return;
    for (const close of closers) close();
    this.closers.delete(id);
  }

  private register(key: string | null) {
    return (close: () => void) => {
      let set = this.closers.get(key);
      if (!set) this.closers.set(key, (set = new Set()));
      set.add(close);
      return () => set.delete(close);
    };
  }
}
