/**
 * `audit`: the audit trail in the history store, read on the server's machine; `--verify`
 * recomputes the hash chain and names the first entry that does not hold, and prints where the
 * chain ends (an anchor the operator keeps elsewhere, checked later with `--expect-last`).
 */
import { MAX_LIST_LIMIT } from '../../history/store.js';
import { type AuditAnchor, type AuditEntry, AuditTrail, MIN_ANCHOR_HASH_PREFIX } from '../../services/audit.js';
import { printable } from '../../sinks/control-chars.js';
import { CliExit, EXIT } from '../exit.js';
import { optionalIntOption } from '../int-option.js';
import type { EngineOptions } from '../options.js';
import { colorEnabled, makeStyle } from '../style.js';
import { openStore } from './history.js';

export interface AuditOptions extends EngineOptions {
  json?: boolean;
  verify?: boolean;
  /** `N:HASH`, as `--verify` printed it: entry N must still be in the chain with that hash. */
  expectLast?: string;
  limit?: string;
  after?: string;
  color?: boolean;
}

export function auditCommand(options: AuditOptions): number {
  if (options.verify && (options.limit !== undefined || options.after !== undefined))
    throw new CliExit(EXIT.BAD_INPUT, '--verify checks the whole trail: leave out -n and --after');
  const anchor = options.expectLast === undefined ? undefined : parseAnchor(options.expectLast);
  if (anchor && !options.verify) throw new CliExit(EXIT.BAD_INPUT, '--expect-last goes with --verify');
  const limit = optionalIntOption('--limit', options.limit, { max: MAX_LIST_LIMIT }, 20);
  const after = optionalIntOption('--after', options.after);
  const store = openStore(options);
  try {
    const trail = new AuditTrail(store);
    return options.verify ? verify(trail, options, anchor) : print(entriesOf(trail, limit, after), options);
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

/** `N:HASH` (the hash in full or its first 12 hex digits or more). */
function parseAnchor(raw: string): AuditAnchor {
  const m = /^(\d+):([0-9a-f]+)$/i.exec(raw.trim());
  if (!m || Number(m[1]) < 1 || m[2]!.length < MIN_ANCHOR_HASH_PREFIX || m[2]!.length > 64)
    throw new CliExit(
      EXIT.BAD_INPUT,
      `--expect-last takes N:HASH as --verify printed it (an entry number, then at least ${MIN_ANCHOR_HASH_PREFIX} hex digits of its hash)`,
    );
  return { seq: Number(m[1]), hash: m[2]!.toLowerCase() };
}

function verify(trail: AuditTrail, options: AuditOptions, anchor: AuditAnchor | undefined): number {
  const verdict = trail.verify(anchor);
  if (options.json) {
    process.stdout.write(`${JSON.stringify(verdict)}\n`);
    return verdict.ok ? EXIT.OK : EXIT.FAILED;
  }
  if (verdict.ok) {
    process.stdout.write(`${verdict.entries} ${verdict.entries === 1 ? 'entry' : 'entries'}, chain intact\n`);
    // The anchor to keep elsewhere: `--expect-last N:HASH` later shows whether the chain was rewritten since.
    if (verdict.last) process.stdout.write(`last entry ${verdict.last.seq}, hash ${verdict.last.hash}\n`);
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
