/** `history` and `search`: the embedded history store, filtered or full-text searched. */
import { existsSync } from 'node:fs';
import { historyPathOf } from '../../config.js';
import { HistoryStore, type ExecutionFilter, type ExecutionRecord } from '../../history/store.js';
import { RISK_LEVELS, type RiskLevel } from '../../policy/risk.js';
import { CliExit, EXIT } from '../exit.js';
import { engineConfig, type EngineOptions } from '../options.js';
import { colorEnabled, formatDuration, makeStyle } from '../style.js';
import { statusColor } from '../views/view.js';
import { printable } from '../../sinks/control-chars.js';

export interface HistoryOptions extends EngineOptions {
  status?: string;
  risk?: string;
  conversation?: string;
  kind?: string;
  from?: string;
  to?: string;
  limit?: string;
  offset?: string;
  json?: boolean;
  color?: boolean;
}

function openStore(options: EngineOptions): HistoryStore {
  const path = historyPathOf(engineConfig(options));
  if (!existsSync(path)) throw new CliExit(EXIT.BAD_INPUT, `no history at ${path} (set --log-dir or CLOUDOPS_LOG_DIR to where executions ran)`);
  return HistoryStore.open(path);
}

function count(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new CliExit(EXIT.BAD_INPUT, `${flag} must be a non-negative integer (got "${value}")`);
  return Number(value);
}

function filterOf(options: HistoryOptions): ExecutionFilter {
  if (options.risk !== undefined && !(RISK_LEVELS as readonly string[]).includes(options.risk)) {
    throw new CliExit(EXIT.BAD_INPUT, `--risk must be one of ${RISK_LEVELS.join(', ')} (got "${options.risk}")`);
  }
  if (options.kind !== undefined && options.kind !== 'command' && options.kind !== 'plan') {
    throw new CliExit(EXIT.BAD_INPUT, `--kind must be command or plan (got "${options.kind}")`);
  }
  for (const [flag, value] of [['--from', options.from], ['--to', options.to]] as const) {
    if (value !== undefined && Number.isNaN(Date.parse(value))) throw new CliExit(EXIT.BAD_INPUT, `${flag} must be a date or RFC 3339 time (got "${value}")`);
  }
  return {
    status: options.status ?? null,
    risk_level: (options.risk as RiskLevel | undefined) ?? null,
    conversation_id: options.conversation ?? null,
    kind: (options.kind as 'command' | 'plan' | undefined) ?? null,
    from_date: options.from ? new Date(options.from) : null,
    to_date: options.to ? new Date(options.to) : null,
    limit: count(options.limit, '--limit', 20),
    offset: count(options.offset, '--offset', 0),
  };
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
    return print(store.search(query, { limit: count(options.limit, '--limit', 20) }), options, `nothing matches "${printable(query)}"`);
  } finally {
    store.close();
  }
}
