/** `history` and `search`: the embedded history store, filtered or full-text searched. */
import { existsSync } from 'node:fs';
import { historyPathOf } from '../../config.js';
import {
  type ExecutionFilter,
  type ExecutionRecord,
  HistoryStore,
  MAX_LIST_LIMIT,
  MAX_SEARCH_LIMIT,
} from '../../history/store.js';
import { didYouMean } from '../../nearest-name.js';
import { printable } from '../../sinks/control-chars.js';
import {
  EXECUTION_STATUSES,
  type ExecutionKind,
  ExecutionKindSchema,
  type ExecutionStatus,
  RESULT_ERROR_CODES,
  type ResultErrorCode,
  RISK_LEVELS,
  type RiskLevel,
} from '../../vocabulary.js';
import { engineConfig } from '../engine-config.js';
import { CliExit, EXIT } from '../exit.js';
import { optionalIntOption } from '../int-option.js';
import type { EngineOptions } from '../options.js';
import { colorEnabled, formatDuration, makeStyle } from '../style.js';
import { statusColor } from '../views/view.js';

export interface HistoryOptions extends EngineOptions {
  status?: string;
  risk?: string;
  errorCode?: string;
  conversation?: string;
  kind?: string;
  from?: string;
  to?: string;
  limit?: string;
  offset?: string;
  json?: boolean;
  color?: boolean;
}

/** The history store of `--log-dir` (or CLOUDOPS_LOG_DIR), which must exist: bad input naming the path otherwise. */
export function openStore(options: EngineOptions): HistoryStore {
  const path = historyPathOf(engineConfig(options));
  if (!existsSync(path))
    throw new CliExit(
      EXIT.BAD_INPUT,
      `no history at ${path} (set --log-dir or CLOUDOPS_LOG_DIR to where executions ran)`,
    );
  return HistoryStore.open(path);
}

/** `value` of `option` when it is one of `words` (the vocabulary's), else bad input naming them. */
function oneOf<W extends string>(option: string, value: string | undefined, words: readonly W[]): W | null {
  if (value === undefined) return null;
  if (!(words as readonly string[]).includes(value)) {
    throw new CliExit(
      EXIT.BAD_INPUT,
      `${option} must be one of ${words.join(', ')} (got "${value}")${didYouMean(value, words)}`,
    );
  }
  return value as W;
}

function filterOf(options: HistoryOptions): ExecutionFilter {
  const status = oneOf<ExecutionStatus>('--status', options.status, EXECUTION_STATUSES);
  const risk = oneOf<RiskLevel>('--risk', options.risk, RISK_LEVELS);
  const errorCode = oneOf<ResultErrorCode>('--error-code', options.errorCode, RESULT_ERROR_CODES);
  const kind = oneOf<ExecutionKind>('--kind', options.kind, ExecutionKindSchema.options);
  for (const [flag, value] of [
    ['--from', options.from],
    ['--to', options.to],
  ] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value)))
      throw new CliExit(EXIT.BAD_INPUT, `${flag} must be a date or RFC 3339 time (got "${value}")`);
  }
  return {
    status,
    risk_level: risk,
    error_code: errorCode,
    conversation_id: options.conversation ?? null,
    kind,
    from_date: options.from ? new Date(options.from) : null,
    to_date: options.to ? new Date(options.to) : null,
    limit: optionalIntOption('--limit', options.limit, { max: MAX_LIST_LIMIT }, 20),
    offset: optionalIntOption('--offset', options.offset, {}, 0),
  };
}

/** How much of a user prompt one listing line shows (`--json` has all of it). */
const PROMPT_PREVIEW_CHARS = 100;

/** A prompt on one line, cut to PROMPT_PREVIEW_CHARS characters with `…` where it was cut. */
function promptPreview(prompt: string): string {
  const line = prompt.replace(/\s+/g, ' ').trim();
  return line.length > PROMPT_PREVIEW_CHARS ? `${line.slice(0, PROMPT_PREVIEW_CHARS - 1)}…` : line;
}

function print(records: ExecutionRecord[], options: { json?: boolean; color?: boolean }, empty: string): number {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(records)}\n`);
    return EXIT.OK;
  }
  if (records.length === 0) {
    process.stdout.write(`${empty}\n`);
    return EXIT.OK;
  }
  const style = makeStyle(colorEnabled(process.stdout, options.color));
  for (const r of records) {
    const duration = r.duration_ms !== null ? formatDuration(r.duration_ms) : '';
    // Every field is shown through `printable`: commands are submitted text, and a record's
    // other fields are whatever the store file holds.
    const risk = printable(r.risk_level ?? '');
    const status = printable(r.status);
    process.stdout.write(
      `${printable(r.id)}  ${style.paint(statusColor(r.status), status.padEnd(11))} ${risk.padEnd(11)} ${printable(r.submitted_at).padEnd(24)} ${duration.padStart(7)}  ${r.kind === 'plan' ? 'plan: ' : ''}${printable(r.command)}\n`,
    );
    // What the person asked, under the line of the work it led to (a plan's commands have their plan's).
    if (r.user_prompt)
      process.stdout.write(`    ${style.paint('dim', 'asked:')} ${printable(promptPreview(r.user_prompt))}\n`);
  }
  return EXIT.OK;
}

export function historyCommand(options: HistoryOptions): number {
  const filter = filterOf(options);
  const store = openStore(options);
  try {
    return print(store.list(filter), options, 'no executions match');
  } finally {
    store.close();
  }
}

export function searchCommand(query: string, options: HistoryOptions): number {
  const store = openStore(options);
  try {
    const limit = optionalIntOption('--limit', options.limit, { max: MAX_SEARCH_LIMIT }, 20);
    const found = store.search(query, { limit, conversation_id: options.conversation ?? null });
    return print(found, options, `nothing matches "${printable(query)}"`);
  } finally {
    store.close();
  }
}
