/** `logs ID [--follow]`, `list`, `status ID`: what the log directory says, across processes. */
import { existsSync } from 'node:fs';
import { open, readdir } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { historyPathOf, logDirOf, logPathOf } from '../../config.js';
import { HistoryStore } from '../../history/store.js';
import { printable } from '../../sinks/control-chars.js';
import { type LogInfo, listLogs, readLogInfo } from '../../sinks/log-index.js';
import { engineConfig } from '../engine-config.js';
import { CliExit, EXIT } from '../exit.js';
import { optionalIntOption } from '../int-option.js';
import type { EngineOptions } from '../options.js';
import { colorEnabled, formatDuration, makeStyle } from '../style.js';
import { statusColor } from '../views/view.js';

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FOLLOW_POLL_MS = 200;

const ID_PREFIX = /^[0-9a-f][0-9a-f-]{0,35}$/i;
/** How many candidates an ambiguous prefix lists. */
const MAX_CANDIDATES = 10;

/**
 * The full id an id or a unique prefix of one names (like git's short hashes), from the log
 * files of the log directory; an ambiguous prefix is bad input listing the candidates. The log
 * file is always found by the engine's own rule, never from a path taken from input.
 */
export async function resolveId(id: string, options: EngineOptions): Promise<string> {
  if (ID.test(id)) return id.toLowerCase();
  if (!ID_PREFIX.test(id))
    throw new CliExit(EXIT.BAD_INPUT, `"${id}" is not an execution id (expected a UUID or the start of one)`);
  const dir = logDirOf(engineConfig(options));
  const prefix = id.toLowerCase();
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    // No log directory: nothing matches.
  }
  const matches = names
    .filter((n) => n.endsWith('.log') && ID.test(n.slice(0, -4)) && n.toLowerCase().startsWith(prefix))
    .map((n) => n.slice(0, -4).toLowerCase())
    .sort();
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0)
    throw new CliExit(
      EXIT.BAD_INPUT,
      `no execution id starts with "${id}" in ${dir} (set --log-dir or CLOUDOPS_LOG_DIR if it ran elsewhere)`,
    );
  const shown = matches.slice(0, MAX_CANDIDATES).map((m) => `  ${m}`);
  if (matches.length > MAX_CANDIDATES) shown.push(`  ... and ${matches.length - MAX_CANDIDATES} more`);
  throw new CliExit(EXIT.BAD_INPUT, `"${id}" is ambiguous: ${matches.length} ids start with it:\n${shown.join('\n')}`);
}

async function infoOf(id: string, options: EngineOptions): Promise<LogInfo> {
  const path = logPathOf(engineConfig(options), id);
  const info = await readLogInfo(path);
  if (!info)
    throw new CliExit(
      EXIT.BAD_INPUT,
      `no log for execution ${id} (looked for ${path}; set --log-dir or CLOUDOPS_LOG_DIR if it ran elsewhere)`,
    );
  return info;
}

/** Copy a log file to stdout; with `follow`, until its execution ends. */
async function printLog(path: string, follow: boolean): Promise<void> {
  const handle = await open(path, 'r');
  try {
    let position = 0;
    const buffer = Buffer.alloc(64 * 1024);
    for (;;) {
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
      if (bytesRead > 0) {
        position += bytesRead;
        if (!process.stdout.write(buffer.subarray(0, bytesRead)))
          await new Promise((r) => process.stdout.once('drain', r));
        continue;
      }
      if (!follow) break;
      const now = await readLogInfo(path);
      // Stop once the footer is written (or the writer died); read once more to get the footer itself.
      if (!now || (now.status !== 'running' && (await handle.stat()).size === position)) break;
      await sleep(FOLLOW_POLL_MS);
    }
  } finally {
    await handle.close();
  }
}

/**
 * A plan's commands in plan order, each with its log: from the history store's copy of the
 * plan when there is one (a step a resume carried over has the log of the execution that ran it),
 * else from the order its schedule log names them in.
 */
async function commandLogsOf(
  planId: string,
  planLog: string,
  options: EngineOptions,
): Promise<Array<{ id: string; path: string }>> {
  const config = engineConfig(options);
  const historyPath = historyPathOf(config);
  if (existsSync(historyPath)) {
    let store: HistoryStore | undefined;
    try {
      store = HistoryStore.open(historyPath);
      const plan = store.get(planId)?.plan;
      if (plan)
        // By the engine's rule, never a path read from a record: a carried step's is its first run's.
        return plan.commands.map((c) => ({
          id: c.id,
          path: logPathOf(config, store!.get(c.id)?.carried_from ?? c.id),
        }));
    } catch {
      // An unreadable history: the schedule log still says the order.
    } finally {
      store?.close();
    }
  }
  const handle = await open(planLog, 'r');
  try {
    const byIndex = new Map<number, string>();
    for await (const line of handle.readLines()) {
      const m = /\[engine\] command (\d+) \(([0-9a-f-]{36})\)/.exec(line);
      if (m && !byIndex.has(Number(m[1]))) byIndex.set(Number(m[1]), m[2]!);
    }
    return [...byIndex.entries()].sort((a, b) => a[0] - b[0]).map(([, id]) => ({ id, path: logPathOf(config, id) }));
  } finally {
    await handle.close();
  }
}

export async function logsCommand(id: string, options: EngineOptions & { follow?: boolean }): Promise<number> {
  const info = await infoOf(await resolveId(id, options), options);
  await printLog(info.log_path, Boolean(options.follow));
  if (info.kind !== 'plan') return EXIT.OK;
  // A plan: its schedule, then each command's output in plan order (those that started).
  const commands = await commandLogsOf(info.id, info.log_path, options);
  for (const [index, { id: commandId, path }] of commands.entries()) {
    if (!existsSync(path)) continue;
    process.stdout.write(`\n==> command ${index} (${commandId}) <==\n`);
    await printLog(path, Boolean(options.follow));
  }
  return EXIT.OK;
}

export async function listCommand(
  options: EngineOptions & { json?: boolean; limit?: string; color?: boolean },
): Promise<number> {
  const dir = logDirOf(engineConfig(options));
  const limit = optionalIntOption('--limit', options.limit, {}, 20);
  const infos = (await listLogs(dir)).slice(0, limit || undefined);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(infos)}\n`);
    return EXIT.OK;
  }
  if (infos.length === 0) {
    process.stdout.write(`no executions logged in ${dir}\n`);
    return EXIT.OK;
  }
  const style = makeStyle(colorEnabled(process.stdout, options.color));
  for (const i of infos) {
    const duration = i.duration_ms !== null ? formatDuration(i.duration_ms) : '';
    // A log's header and footer hold submitted text (the command, its error): shown through `printable`.
    process.stdout.write(
      `${printable(i.id)}  ${style.paint(statusColor(i.status), printable(i.status).padEnd(11))} ${printable(i.started_at ?? '').padEnd(24)} ${duration.padStart(7)}  ${i.kind === 'plan' ? 'plan: ' : ''}${printable(i.command)}\n`,
    );
  }
  return EXIT.OK;
}

export async function statusCommand(
  id: string,
  options: EngineOptions & { json?: boolean; color?: boolean },
): Promise<number> {
  const info = await infoOf(await resolveId(id, options), options);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(info)}\n`);
    return EXIT.OK;
  }
  const style = makeStyle(colorEnabled(process.stdout, options.color));
  const rows: Array<[string, string | number | null]> = [
    ['id', info.id],
    ['kind', info.kind],
    ['status', style.paint(statusColor(info.status), printable(info.status))],
    ['command', info.command],
    ['plan_id', info.plan_id],
    ['exit_code', info.exit_code],
    ['started_at', info.started_at],
    ['completed_at', info.completed_at],
    ['duration', info.duration_ms !== null ? formatDuration(info.duration_ms) : null],
    ['error', info.error],
    ['error_code', info.error_code],
    ['log', info.log_path],
  ];
  // Values come from the log's header and footer (submitted text): control characters are shown escaped.
  for (const [k, v] of rows)
    if (v !== null) process.stdout.write(`${k.padEnd(13)}${k === 'status' ? v : printable(String(v))}\n`);
  return EXIT.OK;
}
