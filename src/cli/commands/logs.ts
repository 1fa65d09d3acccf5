/** `logs ID [--follow]`, `list`, `status ID`: what the log directory says, across processes. */
import { open } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { logDirOf, logPathOf } from '../../config.js';
import { printable } from '../../sinks/control-chars.js';
import { type LogInfo, listLogs, readLogInfo } from '../../sinks/log-index.js';
import { CliExit, EXIT } from '../exit.js';
import { optionalIntOption } from '../int-option.js';
import { type EngineOptions, engineConfig } from '../options.js';
import { colorEnabled, formatDuration, makeStyle } from '../style.js';
import { statusColor } from '../views/view.js';

const ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const FOLLOW_POLL_MS = 200;

/** The log file of `id`, resolved by the engine's own rule (never a path taken from input). */
function logFileOf(id: string, options: EngineOptions): string {
  if (!ID.test(id)) throw new CliExit(EXIT.BAD_INPUT, `"${id}" is not an execution id (expected a UUID)`);
  return logPathOf(engineConfig(options), id);
}

async function infoOf(id: string, options: EngineOptions): Promise<LogInfo> {
  const path = logFileOf(id, options);
  const info = await readLogInfo(path);
  if (!info)
    throw new CliExit(
      EXIT.BAD_INPUT,
      `no log for execution ${id} (looked for ${path}; set --log-dir or CLOUDOPS_LOG_DIR if it ran elsewhere)`,
    );
  return info;
}

export async function logsCommand(id: string, options: EngineOptions & { follow?: boolean }): Promise<number> {
  const info = await infoOf(id, options);
  const handle = await open(info.log_path, 'r');
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
      if (!options.follow) break;
      const now = await readLogInfo(info.log_path);
      // Stop once the footer is written (or the writer died); read once more to get the footer itself.
      if (!now || (now.status !== 'running' && (await handle.stat()).size === position)) break;
      await sleep(FOLLOW_POLL_MS);
    }
  } finally {
    await handle.close();
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
  const info = await infoOf(id, options);
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
