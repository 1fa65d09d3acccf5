/**
 * Reads back what log files say about their executions, so another process (the CLI's
 * `list`, `status`, `logs --follow`) can see runs it did not start. Only the head and the
 * tail of each file are read: logs can be huge.
 */
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { processAlive } from '../runner/kill-tree.js';
import { type ResultErrorCode, ResultErrorCodeSchema } from '../vocabulary.js';
import type { ExecutionStatus } from '../wire/types.js';
import { unescapeLogValue } from './control-chars.js';

export interface LogInfo {
  id: string;
  kind: 'command' | 'plan';
  plan_id: string | null;
  command: string;
  /**
   * The footer's status once the log is finished. Without a footer: `running` while the engine
   * that writes it (its `engine_pid`) is alive, `interrupted` once it is not.
   */
  status: ExecutionStatus;
  exit_code: number | null;
  started_at: string | null;
  completed_at: string | null;
  duration_ms: number | null;
  error: string | null;
  /** Why it is not a success (the footer's `error_code`); null when there is none, or a word outside the vocabulary. */
  error_code: ResultErrorCode | null;
  log_path: string;
}

const EDGE_BYTES = 16 * 1024;

function metaOf(lines: string[]): Map<string, string> {
  const meta = new Map<string, string>();
  for (const line of lines) {
    const m = /^# ([a-z_]+): (.*)$/.exec(line);
    if (m) meta.set(m[1]!, unescapeLogValue(m[2]!));
  }
  return meta;
}

/** What a log file says about its execution, or null if it is not one of ours. */
export async function readLogInfo(path: string): Promise<LogInfo | null> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch {
    return null;
  }
  try {
    const { size } = await handle.stat();
    const headBuf = Buffer.alloc(Math.min(size, EDGE_BYTES));
    await handle.read(headBuf, 0, headBuf.length, 0);
    const tailLength = Math.min(size, EDGE_BYTES);
    const tailBuf = Buffer.alloc(tailLength);
    await handle.read(tailBuf, 0, tailLength, size - tailLength);
    const headLines = headBuf.toString('utf8').split('\n');
    const header = metaOf(
      headLines.slice(
        0,
        headLines.findIndex((l) => !l.startsWith('# ')),
      ),
    );
    const tailLines = tailBuf.toString('utf8').split('\n');
    let footerStart = tailLines.length;
    while (footerStart > 0 && (tailLines[footerStart - 1]!.startsWith('# ') || tailLines[footerStart - 1] === ''))
      footerStart--;
    const footer = metaOf(tailLines.slice(footerStart));
    const id = header.get('execution_id');
    if (!id) return null;
    const pid = Number(header.get('engine_pid'));
    const finalStatus = footer.get('status') as ExecutionStatus | undefined;
    const status = finalStatus ?? (Number.isInteger(pid) && pid > 0 && processAlive(pid) ? 'running' : 'interrupted');
    const num = (v: string | undefined) => (v === undefined ? null : Number(v));
    return {
      id,
      kind: header.get('kind') === 'plan' ? 'plan' : 'command',
      plan_id: header.get('plan_id') ?? null,
      command: header.get('command') ?? '',
      status,
      exit_code: num(footer.get('exit_code')),
      started_at: header.get('started_at') ?? null,
      completed_at: footer.get('completed_at') ?? null,
      duration_ms: num(footer.get('duration_ms')),
      error: footer.get('error') ?? null,
      error_code: ResultErrorCodeSchema.safeParse(footer.get('error_code')).data ?? null,
      log_path: path,
    };
  } finally {
    await handle.close();
  }
}

/** Every execution logged in `dir`, most recently started first. */
export async function listLogs(dir: string): Promise<LogInfo[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  const infos = await Promise.all(names.filter((n) => n.endsWith('.log')).map((n) => readLogInfo(join(dir, n))));
  return infos
    .filter((i): i is LogInfo => i !== null)
    .sort((a, b) => (b.started_at ?? '').localeCompare(a.started_at ?? ''));
}
