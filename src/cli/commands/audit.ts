/**
 * `audit`: the audit trail in the history store, read on the server's machine; `--verify`
 * recomputes the hash chain and names the first entry that does not hold.
 */
import { MAX_LIST_LIMIT } from '../../history/store.js';
import { type AuditEntry, AuditTrail } from '../../services/audit.js';
import { printable } from '../../sinks/control-chars.js';
import { CliExit, EXIT } from '../exit.js';
import { optionalIntOption } from '../int-option.js';
import type { EngineOptions } from '../options.js';
import { colorEnabled, makeStyle } from '../style.js';
import { openStore } from './history.js';

export interface AuditOptions extends EngineOptions {
  json?: boolean;
  verify?: boolean;
  limit?: string;
  after?: string;
  color?: boolean;
}

export function auditCommand(options: AuditOptions): number {
  if (options.verify && (options.limit !== undefined || options.after !== undefined))
    throw new CliExit(EXIT.BAD_INPUT, '--verify checks the whole trail: leave out -n and --after');
  const limit = optionalIntOption('--limit', options.limit, { max: MAX_LIST_LIMIT }, 20);
  const after = optionalIntOption('--after', options.after);
  const store = openStore(options);
  try {
    const trail = new AuditTrail(store);
    return options.verify ? verify(trail, options) : print(entriesOf(trail, limit, after), options);
  } finally {
    store.close();
  }
}

/** `-n 0`: every entry, read a page at a time. */
function entriesOf(trail: AuditTrail, limit: number, after: number | undefined): AuditEntry[] {
  if (limit > 0) return trail.list({ limit, ...(after !== undefined ? { after } : {}) });
  const all: AuditEntry[] = [];
  for (let page = trail.list({ after: after ?? 0, limit: MAX_LIST_LIMIT }); page.length > 0; ) {
    all.push(...page);
    page = trail.list({ after: page.at(-1)!.seq, limit: MAX_LIST_LIMIT });
  }
  return all;
}

function verify(trail: AuditTrail, options: AuditOptions): number {
  const verdict = trail.verify();
  if (options.json) {
    process.stdout.write(`${JSON.stringify(verdict)}\n`);
    return verdict.ok ? EXIT.OK : EXIT.FAILED;
  }
  if (verdict.ok) {
    process.stdout.write(`${verdict.entries} ${verdict.entries === 1 ? 'entry' : 'entries'}, chain intact\n`);
    return EXIT.OK;
  }
  process.stderr.write(
    `cloudops-exec: audit trail broken at entry ${verdict.seq} (${verdict.problem.replaceAll('_', ' ')}): ${verdict.reason}\n`,
  );
  return EXIT.FAILED;
}

function print(entries: AuditEntry[], options: AuditOptions): number {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(entries)}\n`);
    return EXIT.OK;
  }
  if (entries.length === 0) {
    process.stdout.write('no audit entries\n');
    return EXIT.OK;
  }
  const style = makeStyle(colorEnabled(process.stdout, options.color));
  for (const e of entries) {
    // Through `printable`: names, objects and details are whatever clients sent and the file holds.
    const detail = Object.keys(e.detail).length > 0 ? `  ${printable(JSON.stringify(e.detail))}` : '';
    const columns = [
      String(e.seq).padStart(6),
      printable(e.at).padEnd(24),
      printable(e.principal ?? '-').padEnd(16),
      style.paint('bold', printable(e.action).padEnd(17)),
      printable(e.object ?? '-'),
    ];
    const source = e.source ? `  from ${printable(e.source)}` : '';
    process.stdout.write(`${columns.join(' ')}${source}${detail}\n`);
  }
  return EXIT.OK;
}
