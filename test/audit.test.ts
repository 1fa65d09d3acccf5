/**
 * The audit trail: append-only, hash-chained entries in the history store. Tampering with the
 * SQLite file directly (a row changed, deleted, renumbered) is found by `audit --verify`, which
 * names the first broken entry; processes appending at once never fork the chain; `GET /api/audit`
 * is for admins and viewers.
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { historyPathOf, resolveConfig } from '../src/config.js';
import { GENESIS_HASH } from '../src/history/audit-log.js';
import { HistoryStore } from '../src/history/store.js';
import { AuditTrail } from '../src/services/audit.js';
import { canonicalJson } from '../src/wire/canonical-json.js';
import { tempDir } from './helpers.js';
import { runCli, runNode } from './support/cli.js';
import { addPrincipal, startTestServer } from './support/server.js';

const root = fileURLToPath(new URL('..', import.meta.url));

const audit = (logDir: string, ...args: string[]) => runCli(['--log-dir', logDir, 'audit', ...args]);

/** A log dir whose history store holds `n` audit entries (the store closed again). */
function logDirWithEntries(n: number): { logDir: string; path: string } {
  const logDir = tempDir();
  const path = historyPathOf(resolveConfig({ log_dir: logDir }));
  const store = HistoryStore.open(path);
  const trail = new AuditTrail(store);
  for (let i = 1; i <= n; i++) {
    trail.record({
      principal: i % 2 ? 'alice' : 'bob',
      action: i % 2 ? 'submit' : 'approve',
      object: `plan-${i}`,
      source: '127.0.0.1',
      detail: { n: i, risk_level: 'destructive' },
    });
  }
  store.close();
  return { logDir, path };
}

function tamper(path: string, sql: string, ...params: unknown[]): void {
  const db = new Database(path);
  try {
    expect(db.prepare(sql).run(...params).changes).toBeGreaterThan(0);
  } finally {
    db.close();
  }
}

test('canonical JSON sorts keys at every depth (integer-like keys too), with no whitespace', () => {
  expect(canonicalJson({ b: 1, a: [{ d: null, c: 'x' }], 10: true, 9: false })).toBe(
    '{"10":true,"9":false,"a":[{"c":"x","d":null}],"b":1}',
  );
  expect(canonicalJson({ a: undefined, b: [undefined], when: new Date(0) })).toBe(
    '{"b":[null],"when":"1970-01-01T00:00:00.000Z"}',
  );
  // The same value built in another key order has the same text.
  expect(canonicalJson({ x: { q: 1, p: 2 }, y: 'é\n' })).toBe(canonicalJson({ y: 'é\n', x: { p: 2, q: 1 } }));
});

test('entries are numbered from 1 and chained: the first to 64 zeros, each hash over its content', () => {
  const { path } = logDirWithEntries(3);
  const store = HistoryStore.open(path);
  try {
    const trail = new AuditTrail(store);
    const entries = trail.list();
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(entries[0]).toMatchObject({
      principal: 'alice',
      action: 'submit',
      object: 'plan-1',
      source: '127.0.0.1',
      detail: { n: 1, risk_level: 'destructive' },
      prev_hash: GENESIS_HASH,
    });
    for (const [i, e] of entries.entries()) {
      if (i > 0) expect(e.prev_hash).toBe(entries[i - 1]!.hash);
      const { seq, at, principal, action, object, source, detail } = e;
      const content = canonicalJson({ seq, at, principal, action, object, source, detail });
      expect(e.hash).toBe(
        createHash('sha256')
          .update(e.prev_hash + content)
          .digest('hex'),
      );
    }
    // The latest `limit`, or the first `limit` after a number.
    expect(trail.list({ limit: 2 }).map((e) => e.seq)).toEqual([2, 3]);
    expect(trail.list({ after: 1, limit: 1 }).map((e) => e.seq)).toEqual([2]);
    expect(trail.verify()).toEqual({ ok: true, entries: 3, last: { seq: 3, hash: entries[2]!.hash } });
    expect(() => trail.record({ principal: 'alice', action: 'launch' as never })).toThrow();
  } finally {
    store.close();
  }
});

test('audit --verify: an intact chain exits 0; the CLI lists entries, as text and as JSON', async () => {
  const { logDir } = logDirWithEntries(3);
  const verified = await audit(logDir, '--verify');
  expect(verified.stderr).toBe('');
  expect(verified.stdout).toMatch(/^3 entries, chain intact\nlast entry 3, hash [0-9a-f]{64}\n$/);
  expect(verified.status).toBe(0);

  const listed = await audit(logDir, '-n', '2');
  expect(listed.status).toBe(0);
  const lines = listed.stdout.trimEnd().split('\n');
  expect(lines).toHaveLength(2);
  expect(lines[0]).toMatch(/^\s+2 \S+\s+bob\s+approve\s+plan-2 {2}from 127\.0\.0\.1 {2}\{"n":2,/);

  const json = await audit(logDir, '--json', '-n', '0');
  expect(json.status).toBe(0);
  expect((JSON.parse(json.stdout) as Array<{ seq: number }>).map((e) => e.seq)).toEqual([1, 2, 3]);

  const empty = logDirWithEntries(0);
  expect((await audit(empty.logDir, '--verify')).stdout).toBe('0 entries, chain intact\n');
  expect((await audit(empty.logDir, '--verify', '--expect-last', '3:abc')).status).toBe(2);
  expect((await audit(logDir, '--verify', '-n', '2')).status).toBe(2);
});

test('a row changed with SQLite directly: --verify exits 1 naming that entry', async () => {
  const { logDir, path } = logDirWithEntries(4);
  tamper(path, 'UPDATE audit_log SET detail_json = ? WHERE seq = 2', '{"n":2,"risk_level":"read_only"}');
  const verified = await audit(logDir, '--verify');
  expect(verified.status).toBe(1);
  expect(verified.stdout).toBe('');
  expect(verified.stderr).toContain('audit trail broken at entry 2 (changed)');

  const json = await audit(logDir, '--verify', '--json');
  expect(json.status).toBe(1);
  expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, seq: 2, problem: 'changed' });
});

test('a row changed with its own hash recomputed is still found: the next entry no longer chains to it', async () => {
  const { logDir, path } = logDirWithEntries(4);
  const store = HistoryStore.open(path);
  const [, second] = new AuditTrail(store).list();
  store.close();
  // A careful forger rewrites entry 2 and its hash; entry 3 still names the old one.
  const forged = { ...second!, principal: 'mallory' };
  const { seq, at, principal, action, object, source, detail } = forged;
  const hash = createHash('sha256')
    .update(forged.prev_hash + canonicalJson({ seq, at, principal, action, object, source, detail }))
    .digest('hex');
  tamper(path, 'UPDATE audit_log SET principal = ?, hash = ? WHERE seq = 2', 'mallory', hash);
  const verified = await audit(logDir, '--verify');
  expect(verified.status).toBe(1);
  expect(verified.stderr).toContain('audit trail broken at entry 3 (changed): it does not chain to entry 2');
});

test('a row deleted: --verify names the entry after the gap; a deleted last entry shows at the next append', async () => {
  const { logDir, path } = logDirWithEntries(4);
  tamper(path, 'DELETE FROM audit_log WHERE seq = 2');
  const verified = await audit(logDir, '--verify');
  expect(verified.status).toBe(1);
  expect(verified.stderr).toContain('audit trail broken at entry 3 (deleted): entry 2 is missing before it');

  // The last entry deleted: nothing follows it yet, but the next entry keeps the number it would have had.
  const tail = logDirWithEntries(3);
  tamper(tail.path, 'DELETE FROM audit_log WHERE seq = 3');
  const store = HistoryStore.open(tail.path);
  expect(new AuditTrail(store).record({ principal: 'alice', action: 'cancel', object: 'plan-9' }).seq).toBe(4);
  store.close();
  const after = await audit(tail.logDir, '--verify');
  expect(after.status).toBe(1);
  expect(after.stderr).toContain('audit trail broken at entry 4 (deleted): entry 3 is missing before it');

  // The first entries deleted.
  const head = logDirWithEntries(3);
  tamper(head.path, 'DELETE FROM audit_log WHERE seq <= 2');
  expect((await audit(head.logDir, '--verify')).stderr).toContain(
    'broken at entry 3 (deleted): entries 1-2 are missing before it',
  );
});

test('the last entries deleted, or every entry: --verify exits 1 naming the missing numbers', async () => {
  const tail = logDirWithEntries(4);
  tamper(tail.path, 'DELETE FROM audit_log WHERE seq >= 3');
  const cut = await audit(tail.logDir, '--verify');
  expect(cut.status).toBe(1);
  expect(cut.stderr).toContain('audit trail broken at entry 4 (deleted): entries 3-4 are missing at the end');
  const json = await audit(tail.logDir, '--verify', '--json');
  expect(JSON.parse(json.stdout)).toMatchObject({ ok: false, seq: 4, problem: 'deleted', entries: 2 });

  const emptied = logDirWithEntries(2);
  tamper(emptied.path, 'DELETE FROM audit_log');
  const none = await audit(emptied.logDir, '--verify');
  expect(none.status).toBe(1);
  expect(none.stdout).toBe('');
  expect(none.stderr).toContain('audit trail broken at entry 2 (deleted): entries 1-2 are missing at the end');
});

test('--expect-last: the anchor --verify printed holds while entries are appended; a rewritten chain fails', async () => {
  const { logDir, path } = logDirWithEntries(3);
  const first = await audit(logDir, '--verify');
  const anchor = /last entry (\d+), hash ([0-9a-f]{64})/.exec(first.stdout);
  expect(anchor?.[1]).toBe('3');
  const recorded = `${anchor![1]}:${anchor![2]}`;
  expect((await audit(logDir, '--verify', '--expect-last', recorded)).status).toBe(0);

  let store = HistoryStore.open(path);
  new AuditTrail(store).record({ principal: 'alice', action: 'cancel', object: 'plan-9' });
  store.close();
  // Appended since: entry 3 is still in the chain, and a 12-digit prefix is taken too.
  expect((await audit(logDir, '--verify', '--expect-last', recorded.slice(0, 2 + 12))).status).toBe(0);

  // A forger empties the table, resets SQLite's counter and writes a fresh, self-consistent chain.
  const db = new Database(path);
  db.exec("DELETE FROM audit_log; DELETE FROM sqlite_sequence WHERE name = 'audit_log'");
  db.close();
  store = HistoryStore.open(path);
  const forged = new AuditTrail(store);
  for (let i = 1; i <= 4; i++) forged.record({ principal: 'mallory', action: 'submit', object: `plan-${i}` });
  store.close();
  expect((await audit(logDir, '--verify')).status).toBe(0); // consistent on its own
  const checked = await audit(logDir, '--verify', '--expect-last', recorded);
  expect(checked.status).toBe(1);
  expect(checked.stderr).toContain(`audit trail broken at entry 3 (changed): entry 3 has hash`);
  expect(checked.stderr).toContain(`not ${anchor![2]} as recorded (the chain was rewritten)`);

  const short = await audit(logDir, '--verify', '--expect-last', `9:${anchor![2]}`);
  expect(short.status).toBe(1);
  expect(short.stderr).toContain('(deleted): the chain ends at entry 4, but it reached entry 9 before');
  expect((await audit(logDir, '--verify', '--expect-last', '3:abcdef')).status).toBe(2);
});

test('two rows swapped by their numbers: --verify names the first one out of order', async () => {
  const { logDir, path } = logDirWithEntries(4);
  const db = new Database(path);
  db.transaction(() => {
    db.prepare('UPDATE audit_log SET seq = 100 WHERE seq = 2').run();
    db.prepare('UPDATE audit_log SET seq = 2 WHERE seq = 3').run();
    db.prepare('UPDATE audit_log SET seq = 3 WHERE seq = 100').run();
  })();
  db.close();
  const verified = await audit(logDir, '--verify');
  expect(verified.status).toBe(1);
  expect(verified.stderr).toContain('audit trail broken at entry 2 (out of order): it was entry 3');
});

test('processes appending at the same time never fork the chain', async () => {
  const { logDir, path } = logDirWithEntries(0);
  const script = `
    const { HistoryStore } = await import(${JSON.stringify(join(root, 'dist/history/store.js'))});
    const { AuditTrail } = await import(${JSON.stringify(join(root, 'dist/services/audit.js'))});
    const store = HistoryStore.open(${JSON.stringify(path)});
    const trail = new AuditTrail(store);
    for (let i = 0; i < 50; i++) trail.record({ principal: 'p' + process.pid, action: 'submit', object: String(i) });
    store.close();
  `;
  const writers = await Promise.all(Array.from({ length: 4 }, () => runNode(['--input-type=module', '-e', script])));
  for (const writer of writers) expect(writer.stderr).toBe('');
  const verified = await audit(logDir, '--verify');
  expect(verified.stderr).toBe('');
  expect(verified.stdout).toMatch(/^200 entries, chain intact\nlast entry 200, hash /);
});

test('GET /api/audit over HTTP: admins and viewers read it; submitters and approvers get 403 Forbidden', async () => {
  const ts = await startTestServer();
  const trail = new AuditTrail(ts.engine.history!);
  trail.record({ principal: 'alice', action: 'reject', object: 'plan-x', detail: { reason: 'wrong account' } });
  trail.record({ principal: 'admin', action: 'cancel', object: 'plan-y' });
  const viewer = ts.as(addPrincipal(ts, 'vera', 'viewer'));
  const submitter = ts.as(addPrincipal(ts, 'ci-bot', 'submitter'));
  const approver = ts.as(addPrincipal(ts, 'alice', 'approver'));

  for (const api of [ts.api, viewer]) {
    const listed = await api('GET', '/api/audit?limit=1000');
    expect(listed.status).toBe(200);
    const rejected = (listed.body.entries as Array<{ action: string }>).filter((e) => e.action === 'reject');
    expect(rejected).toEqual([
      expect.objectContaining({ principal: 'alice', object: 'plan-x', detail: { reason: 'wrong account' } }),
    ]);
  }
  for (const [api, who] of [
    [submitter, 'ci-bot (role submitter)'],
    [approver, 'alice (role approver)'],
  ] as const) {
    const refused = await api('GET', '/api/audit');
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('Forbidden');
    expect(refused.body.error.message).toContain(`${who} may not read the audit trail`);
  }
  // Paging forward from a number, and a bad query naming the field.
  const all = (await ts.api('GET', '/api/audit?limit=1000')).body.entries as Array<{ seq: number }>;
  expect(all.length).toBeGreaterThanOrEqual(2);
  const page = await ts.api('GET', `/api/audit?after=${all[0]!.seq}&limit=1`);
  expect(page.body.entries.map((e: { seq: number }) => e.seq)).toEqual([all[1]!.seq]);
  const bad = await ts.api('GET', '/api/audit?limit=0');
  expect(bad.status).toBe(400);
  expect(bad.body.error.field).toBe('limit');
});
