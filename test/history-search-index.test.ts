/**
 * The history's search index since schema version 18: contentless (the text lives in the
 * executions rows only), written by the store after the rows of each transaction. A store of
 * version 17 is upgraded in place; every way a row changes (inserted, rewritten, patched,
 * deleted, its rowid used again) leaves the index finding exactly the records whose text matches.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { expect, test } from 'vitest';
import { LATEST_VERSION } from '../src/history/migrations.js';
import { type ExecutionRecord, HistoryStore } from '../src/history/store.js';
import { tempDir } from './helpers.js';
import { storeAtVersion } from './support/old-store.js';
import { commandRecord } from './support/records.js';

const ids = (records: ExecutionRecord[]) => records.map((r) => Number(r.id.slice(-12))).sort((a, b) => a - b);

/** Tables in the store's file (FTS5 keeps a `_content` table only when it stores its own copy). */
function tables(path: string): string[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
  } finally {
    db.close();
  }
}

/** FTS5's own consistency check of the index (throws SQLITE_CORRUPT_VTAB when it is not). */
function checkIndex(path: string): void {
  const db = new Database(path);
  try {
    db.exec("INSERT INTO executions_fts (executions_fts) VALUES ('integrity-check')");
  } finally {
    db.close();
  }
}

test('a version-17 store is upgraded in place: its records are listed and searchable, and the index keeps no copy', () => {
  const path = join(tempDir(), 'v17.sqlite');
  const old = storeAtVersion(path, 17);
  // Rows and search entries as version 17 wrote them: the entry a copy of the text, with the id.
  const insert = old.prepare(
    `INSERT INTO executions (id, kind, plan_id, status, command, description, output, user_prompt, error_code, submitted_at, log_path)
     VALUES (?, 'command', ?, ?, ?, ?, ?, ?, ?, ?, '/x.log')`,
  );
  for (let n = 1; n <= 6; n++) {
    const r = commandRecord(n);
    insert.run(
      r.id,
      n === 6 ? commandRecord(1).id : null,
      n % 2 === 0 ? 'failed' : 'completed',
      `aws s3 ls bucket-${n}`,
      n === 3 ? 'nightly walrus check' : null,
      `object-${n} narwhal`,
      n === 4 ? 'list the penguins' : null,
      n % 2 === 0 ? 'exit' : null,
      r.submitted_at,
    );
  }
  old.exec(
    `INSERT INTO executions_fts (rowid, id, command, description, output, user_prompt)
       SELECT rowid, id, command, description, output, user_prompt FROM executions`,
  );
  old.close();
  expect(tables(path)).toContain('executions_fts_content');

  const store = HistoryStore.open(path);
  expect(store.schemaVersion).toBe(LATEST_VERSION);
  expect(ids(store.list())).toEqual([1, 2, 3, 4, 5, 6]);
  expect(ids(store.list({ status: 'failed' }))).toEqual([2, 4, 6]);
  expect(ids(store.list({ error_code: 'exit' }))).toEqual([2, 4, 6]); // through the partial index
  expect(ids(store.list({ plan_id: commandRecord(1).id }))).toEqual([6]);
  expect(ids(store.search('narwhal'))).toEqual([1, 2, 3, 4, 5, 6]);
  expect(ids(store.search('bucket-5'))).toEqual([5]);
  expect(ids(store.search('walrus'))).toEqual([3]);
  expect(ids(store.search('penguins'))).toEqual([4]);
  expect(ids(store.search('object-2', { status: 'failed' }))).toEqual([2]);
  // An upgraded record rewritten: found by its new text only.
  expect(store.update(commandRecord(2).id, { output: 'otter' })).toBe(true);
  expect(ids(store.search('object-2'))).toEqual([]);
  expect(ids(store.search('otter'))).toEqual([2]);
  store.close();
  expect(tables(path)).not.toContain('executions_fts_content');
  checkIndex(path);
});

test('every change to a row leaves the index finding exactly the records whose text matches', () => {
  const path = join(tempDir(), 'h.sqlite');
  const store = HistoryStore.open(path);
  const rec = (n: number, output: string | null, over: Partial<ExecutionRecord> = {}) =>
    commandRecord(n, { output, ...over });
  // The engine's pattern: a record when submitted (no output), again when finished, in one batch
  // and across batches, with status patches between.
  store.writeBatch([{ record: rec(1, null, { status: 'running' }) }, { record: rec(2, null, { status: 'running' }) }]);
  store.writeBatch([
    { id: commandRecord(1).id, patch: { status: 'running', started_at: '2026-01-01T00:00:02.000Z' } },
    { record: rec(1, 'alpha shared') },
    { record: rec(3, null, { status: 'running' }) },
    { record: rec(3, 'gamma shared') }, // submitted and finished in the same batch
  ]);
  store.writeBatch([{ record: rec(2, 'beta shared') }]);
  expect(ids(store.search('shared'))).toEqual([1, 2, 3]);
  expect(ids(store.search('echo'))).toEqual([1, 2, 3]); // the command `echo n`, indexed from the first write
  // Rewritten by a patch of searched text, and by a whole record.
  store.update(commandRecord(1).id, { output: 'delta' });
  store.store(rec(2, 'epsilon', { description: 'rotate keys' }));
  expect(ids(store.search('alpha'))).toEqual([]);
  expect(ids(store.search('beta'))).toEqual([]);
  expect(ids(store.search('delta'))).toEqual([1]);
  expect(ids(store.search('rotate epsilon'))).toEqual([2]);
  expect(ids(store.search('shared'))).toEqual([3]);
  // A status patch leaves the entry as it is.
  store.update(commandRecord(3).id, { status: 'failed', error: 'x', error_code: 'exit' });
  expect(ids(store.search('gamma', { status: 'failed' }))).toEqual([3]);
  // Deleted: the newest row (the largest rowid), whose rowid the next insert is given again.
  store.store(rec(9, 'zeta old', { submitted_at: '2020-01-01T00:00:00.000Z' }));
  expect(store.cleanup('2021-01-01T00:00:00.000Z')).toBe(1);
  store.store(rec(10, 'eta new'));
  expect(ids(store.search('zeta'))).toEqual([]);
  expect(ids(store.search('old'))).toEqual([]);
  expect(ids(store.search('eta'))).toEqual([10]);
  expect(ids(store.search('echo'))).toEqual([1, 2, 3, 10]);
  // Many records in one transaction, some of them written twice.
  store.storeMany([
    ...Array.from({ length: 50 }, (_, i) => rec(100 + i, `bulk word-${i}`)),
    ...Array.from({ length: 10 }, (_, i) => rec(100 + i, `bulk rewritten-${i}`)),
  ]);
  expect(store.search('bulk', { limit: 100 })).toHaveLength(50);
  expect(ids(store.search('word-3'))).toEqual([]); // rewritten in the same transaction
  expect(ids(store.search('rewritten-3'))).toEqual([103]);
  expect(ids(store.search('word-13'))).toEqual([113]);
  store.close();
  checkIndex(path);
});

test('a failed transaction leaves neither its rows nor their search entries', () => {
  const path = join(tempDir(), 'h.sqlite');
  const store = HistoryStore.open(path);
  store.store(commandRecord(1, { output: 'kept' }));
  // The second record breaks a constraint (kind): the whole batch is rolled back.
  expect(() =>
    store.writeBatch([
      { record: commandRecord(2, { output: 'lost' }) },
      { record: commandRecord(3, { kind: 'bogus' as never }) },
    ]),
  ).toThrow();
  expect(ids(store.list())).toEqual([1]);
  expect(ids(store.search('lost'))).toEqual([]);
  store.store(commandRecord(2, { output: 'again' }));
  expect(ids(store.search('again'))).toEqual([2]);
  expect(ids(store.search('kept'))).toEqual([1]);
  store.close();
  checkIndex(path);
});
