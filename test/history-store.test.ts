/** The history store on real SQLite files: filters, search, migrations, cleanup, recovery. */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LATEST_VERSION, MIGRATIONS } from '../src/history/migrations.js';
import { type ExecutionRecord, ftsQuery, HistoryStore, INDEXED_OUTPUT_CHARS } from '../src/history/store.js';
import { tempDir } from './helpers.js';
import { storeAtVersion } from './support/old-store.js';
import { commandRecord } from './support/records.js';

const CONV_A = 'aaaaaaaa-0000-4000-8000-000000000001';
const CONV_B = 'bbbbbbbb-0000-4000-8000-000000000002';

/** Record `id`: submitted a day apart from November 2026 on, by engine `e1`. */
function record(id: number, over: Partial<ExecutionRecord> = {}): ExecutionRecord {
  return commandRecord(id, {
    submitted_at: new Date(Date.UTC(2026, 10, 1 + id)).toISOString(),
    duration_ms: 5,
    log_path: `/nonexistent/${commandRecord(id).id}.log`,
    engine_pid: 1,
    engine_id: 'e1',
    ...over,
  });
}

function openStore(): HistoryStore {
  return HistoryStore.open(join(tempDir(), 'nested', 'history.sqlite'));
}

test('a record round-trips with every field; storing again replaces it; update patches', () => {
  const store = openStore();
  const full = record(1, {
    kind: 'plan',
    plan_id: null,
    conversation_id: CONV_A,
    risk_level: 'destructive',
    description: 'tear down',
    plan: { id: 'p', description: 'd' } as never,
    request: { id: 'r' } as never,
    approval: {
      approved_by: 'alice',
      approved_at: '2026-11-22T00:00:00.000Z',
      decision: { type: 'approve' },
      notes: null,
      risk_level: 'destructive',
    },
    tags: { team: 'ops' },
    output: 'hello',
    error: 'boom',
    exit_code: 3,
  });
  store.store(full);
  expect(store.get(full.id)).toEqual(full);
  store.store({ ...full, status: 'failed' });
  expect(store.get(full.id)!.status).toBe('failed');
  expect(store.update(full.id, { status: 'rolled_back', duration_ms: 9 })).toBe(true);
  expect(store.get(full.id)).toMatchObject({ status: 'rolled_back', duration_ms: 9, tags: { team: 'ops' } });
  expect(store.update('00000000-0000-4000-8000-999999999999', { status: 'failed' })).toBe(false);
  expect(store.get('00000000-0000-4000-8000-999999999999')).toBeNull();
  store.close();
});

describe('list filters', () => {
  // 12 records, each filter separates some of them; one store for the whole group.
  let store: HistoryStore;
  let dir: string;
  const data = Array.from({ length: 12 }, (_, i) =>
    record(i + 1, {
      status: i % 3 === 0 ? 'failed' : 'completed',
      ...(i % 3 === 0 ? { error_code: i % 2 === 0 ? 'exit' : 'spawn_failed', error: 'failed' } : {}),
      risk_level: (['read_only', 'modify', 'destructive'] as const)[i % 3],
      conversation_id: i < 6 ? CONV_A : CONV_B,
      kind: i % 4 === 0 ? 'plan' : 'command',
    }),
  );
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'cee-history-filters-'));
    store = HistoryStore.open(join(dir, 'history.sqlite'));
    for (const r of data) store.store(r);
  });
  afterAll(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const ids = (rs: ExecutionRecord[]) => rs.map((r) => Number(r.id.slice(-12)));

  test('no filter: newest first, default limit', () =>
    expect(ids(store.list())).toEqual([12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1]));
  test('status', () => expect(ids(store.list({ status: 'failed' }))).toEqual([10, 7, 4, 1]));
  test('risk level', () => expect(ids(store.list({ risk_level: 'destructive' }))).toEqual([12, 9, 6, 3]));
  test('conversation', () => expect(ids(store.list({ conversation_id: CONV_B }))).toEqual([12, 11, 10, 9, 8, 7]));
  test('kind', () => expect(ids(store.list({ kind: 'plan' }))).toEqual([9, 5, 1]));
  test('error code', () => {
    expect(ids(store.list({ error_code: 'spawn_failed' }))).toEqual([10, 4]);
    expect(ids(store.list({ error_code: 'exit' }))).toEqual([7, 1]);
    expect(store.count({ error_code: 'timeout' })).toBe(0);
    expect(store.get(data[0]!.id)!.error_code).toBe('exit');
    expect(store.get(data[1]!.id)!.error_code).toBeNull();
  });
  test('date range, inclusive at both ends, Date or string', () => {
    expect(ids(store.list({ from_date: data[3]!.submitted_at, to_date: new Date(data[5]!.submitted_at) }))).toEqual([
      6, 5, 4,
    ]);
  });
  test('limit and offset page through', () => {
    expect(ids(store.list({ limit: 3 }))).toEqual([12, 11, 10]);
    expect(ids(store.list({ limit: 3, offset: 3 }))).toEqual([9, 8, 7]);
  });
  test('filters combine', () => {
    expect(ids(store.list({ status: 'failed', conversation_id: CONV_A, risk_level: 'read_only' }))).toEqual([4, 1]);
    expect(store.count({ status: 'completed' })).toBe(8);
  });
  test('bad filter values are ValidationErrors naming the field', () => {
    expect(() => store.list({ limit: -1 })).toThrow(expect.objectContaining({ field: 'filter.limit' }));
    expect(() => store.list({ from_date: 'last tuesday' })).toThrow(
      expect.objectContaining({ field: 'filter.from_date' }),
    );
    expect(() => store.list({ risk_level: 'scary' as never })).toThrow(
      expect.objectContaining({ field: 'filter.risk_level' }),
    );
    expect(() => store.list({ status: 'exploded' as never })).toThrow(
      expect.objectContaining({ field: 'filter.status' }),
    );
    expect(() => store.list({ error_code: 'Process spawn failed' as never })).toThrow(
      expect.objectContaining({ field: 'filter.error_code' }),
    );
    expect(() => store.list({ kind: 'job' as never })).toThrow(expect.objectContaining({ field: 'filter.kind' }));
    expect(() => store.search('echo', { limit: -1 })).toThrow(expect.objectContaining({ field: 'limit' }));
  });
});

describe('search', () => {
  test('finds a command by a word of its output, best match first', () => {
    const store = openStore();
    store.store(
      record(1, { command: 'aws ec2 describe-instances', output: `${'noise '.repeat(500)}i-0abc123 running` }),
    );
    store.store(
      record(2, {
        command: 'aws ec2 terminate-instances --instance-ids i-0abc123',
        output: 'terminating i-0abc123\ni-0abc123 shutting-down',
      }),
    );
    store.store(record(3, { command: 'echo unrelated', output: 'nothing here' }));
    expect(store.search('i-0abc123').map((r) => r.id.slice(-1))).toEqual(['2', '1']);
    expect(store.search('shutting-down').map((r) => r.id.slice(-1))).toEqual(['2']);
    expect(store.search('running i-0abc123').map((r) => r.id.slice(-1))).toEqual(['1']); // every word required
    expect(store.search('')).toEqual([]);
  });

  test('user text is never query syntax', () => {
    const store = openStore();
    store.store(record(1, { command: 'rm -rf /tmp/x', output: 'say "hi" AND NEAR( * ' }));
    for (const q of ['rm -rf /tmp/x', '"hi"', 'AND', 'NEAR(', '*', 'a"b', "it's"])
      expect(() => store.search(q)).not.toThrow();
    expect(store.search('rm -rf /tmp/x')).toHaveLength(1);
    expect(store.search('NEAR(')).toHaveLength(1);
    expect(ftsQuery('a"b c')).toBe('"a""b" "c"');
  });

  test('description is searched; only a bounded part of huge output is indexed', () => {
    const store = openStore();
    const huge = `start-marker ${'x'.repeat(4 * INDEXED_OUTPUT_CHARS)} middle-marker ${'y'.repeat(4 * INDEXED_OUTPUT_CHARS)} end-marker`;
    store.store(record(1, { description: 'rotate the database credentials', output: huge }));
    expect(store.search('credentials')).toHaveLength(1);
    expect(store.search('start-marker')).toHaveLength(1);
    expect(store.search('end-marker')).toHaveLength(1);
    expect(store.search('middle-marker')).toHaveLength(0);
    expect(store.get(record(1).id)!.output!.length).toBeLessThanOrEqual(2 * INDEXED_OUTPUT_CHARS + 3);
  });
});

test('getByConversation lists a conversation oldest first', () => {
  const store = openStore();
  store.store(record(3, { conversation_id: CONV_A }));
  store.store(record(1, { conversation_id: CONV_A }));
  store.store(record(2, { conversation_id: CONV_B }));
  expect(store.getByConversation(CONV_A).map((r) => r.id.slice(-1))).toEqual(['1', '3']);
});

test('cleanup keeps a log file another record still uses, and survives a path it cannot remove', () => {
  const dir = tempDir();
  const store = openStore();
  const shared = join(dir, 'shared.log');
  writeFileSync(shared, 'log');
  store.store(record(1, { log_path: shared }));
  store.store(record(9, { log_path: shared }));
  store.store(record(2, { log_path: dir })); // a directory: cannot be removed as a file
  expect(store.cleanup(record(5).submitted_at)).toBe(2);
  expect(existsSync(shared)).toBe(true);
  expect(existsSync(dir)).toBe(true);
});

test('a record without an engine pid is interrupted with a message that says so', () => {
  const store = openStore();
  store.store(record(1, { status: 'running', engine_pid: null }));
  expect(store.markInterrupted(() => true)[0]).toMatchObject({
    error: 'Interrupted: the engine process ended before this execution finished',
    error_code: 'interrupted',
  });
});

test('cleanup removes old finished records and the log files they own, never unfinished ones', () => {
  const dir = tempDir();
  const store = openStore();
  const logs = [1, 2, 3, 4].map((i) => join(dir, `${i}.log`));
  for (const l of logs) writeFileSync(l, 'log');
  store.store(record(1, { log_path: logs[0]! }));
  store.store(record(2, { log_path: logs[1]!, status: 'running' }));
  store.store(record(3, { log_path: logs[2]!, status: 'failed' }));
  store.store(record(10, { log_path: logs[3]! }));
  expect(store.cleanup(record(5).submitted_at)).toBe(2);
  expect(store.list().map((r) => r.id.slice(-2))).toEqual(['10', '02']);
  expect(logs.map((l) => existsSync(l))).toEqual([false, true, false, true]);
  expect(store.search('echo 1')).toEqual([]); // the search entry went too
});

test('markInterrupted ends what dead engines left running or pending', () => {
  const store = openStore();
  store.store(record(1, { status: 'running', engine_pid: 111 }));
  store.store(record(2, { status: 'pending', engine_pid: 222 }));
  store.store(record(3, { status: 'running', engine_pid: 333 }));
  store.store(record(4, { status: 'completed', engine_pid: 111 }));
  const marked = store.markInterrupted((pid) => pid === 333, new Date('2026-11-22T12:00:00Z'));
  expect(marked.map((r) => r.id.slice(-1)).sort()).toEqual(['1', '2']);
  expect(store.get(record(1).id)).toMatchObject({
    status: 'interrupted',
    completed_at: '2026-11-22T12:00:00.000Z',
    error: expect.stringContaining('(pid 111)'),
    error_code: 'interrupted',
  });
  expect(
    store
      .list({ error_code: 'interrupted' })
      .map((r) => r.id.slice(-1))
      .sort(),
  ).toEqual(['1', '2']);
  expect(store.get(record(3).id)!.status).toBe('running');
  expect(store.get(record(4).id)!.status).toBe('completed');
});

test('WAL mode, and two connections on one file see each other', () => {
  const path = join(tempDir(), 'h.sqlite');
  const a = HistoryStore.open(path);
  const b = HistoryStore.open(path);
  a.store(record(1));
  expect(b.get(record(1).id)).not.toBeNull();
  const raw = new Database(path);
  expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
  raw.close();
  a.close();
  b.close();
});

describe('migrations', () => {
  test('a version-1 store is upgraded when opened, its rows intact', () => {
    const path = join(tempDir(), 'old.sqlite');
    const old = new Database(path);
    old.exec(MIGRATIONS[0]!.sql);
    old.pragma('user_version = 1');
    old
      .prepare(
        "INSERT INTO executions (id, kind, status, command, submitted_at, log_path) VALUES ('00000000-0000-4000-8000-000000000007', 'command', 'completed', 'echo old', '2026-01-01T00:00:00.000Z', '/x.log')",
      )
      .run();
    // Search entries share their record's rowid (the store's convention since version 1).
    old
      .prepare(
        'INSERT INTO executions_fts (rowid, id, command, description, output) SELECT rowid, id, command, description, output FROM executions',
      )
      .run();
    old.close();
    const store = HistoryStore.open(path);
    expect(store.schemaVersion).toBe(LATEST_VERSION);
    expect(LATEST_VERSION).toBeGreaterThan(1);
    expect(store.get('00000000-0000-4000-8000-000000000007')).toMatchObject({
      command: 'echo old',
      approval: null,
      engine_id: null,
      tags: {},
    });
    expect(store.search('old')).toHaveLength(1);
    store.close();
  });

  test('version 6 gives older records the error code a recorded fact states, and guesses none', () => {
    const path = join(tempDir(), 'v5.sqlite');
    const old = storeAtVersion(path, 5);
    const insert = old.prepare(
      `INSERT INTO executions (id, kind, plan_id, status, exit_code, error, plan_json, command, submitted_at, log_path)
       VALUES (?, ?, ?, ?, ?, ?, ?, 'x', '2026-01-01T00:00:00.000Z', '/x.log')`,
    );
    const id = (n: number) => record(n).id;
    const planOf = (...commands: number[]) =>
      JSON.stringify({ id: 'p', commands: commands.map((n) => ({ id: id(n) })) });
    const rows: Array<{
      kind?: 'command' | 'plan';
      plan?: number;
      status: string;
      exit?: number | null;
      error: string | null;
      planJson?: string | null;
      expected: string | null;
    }> = [
      { status: 'timeout', error: 'Execution timeout after 5ms', expected: 'timeout' },
      { status: 'cancelled', error: 'Execution cancelled', expected: 'cancelled' },
      { status: 'skipped', error: 'Skipped: a step it needs did not complete', expected: 'skipped' },
      { status: 'interrupted', error: 'Interrupted: the engine process ended', expected: 'interrupted' },
      // 5: the exit code says it exited.
      { status: 'failed', exit: 3, error: 'Command failed with exit code 3', expected: 'exit' },
      // 6: a signal, or a spawn failure: -1 says neither which; the message is not read.
      { status: 'failed', exit: -1, error: 'Process spawn failed: nope: ENOENT', expected: null },
      { status: 'completed', exit: 0, error: null, expected: null },
      // 8: a plan whose step 9 failed: step_failed.
      {
        kind: 'plan',
        status: 'failed',
        error: 'step 0 did not complete',
        planJson: planOf(9),
        expected: 'step_failed',
      },
      { plan: 8, status: 'failed', exit: 1, error: 'Command failed with exit code 1', expected: 'exit' },
      // 10: a plan whose rollback ran (12 is a rollback step: not among its commands) and failed.
      {
        kind: 'plan',
        status: 'failed',
        error: 'Rollback failed: x',
        planJson: planOf(11),
        expected: 'rollback_failed',
      },
      { plan: 10, status: 'completed', exit: 0, error: null, expected: null },
      { plan: 10, status: 'failed', exit: 2, error: 'Command failed with exit code 2', expected: 'exit' },
      // 13-15: a plan whose commands cannot be read stays null; a damaged one does not stop the upgrade.
      { kind: 'plan', status: 'failed', error: 'step 0 did not complete', planJson: null, expected: null },
      { kind: 'plan', status: 'failed', error: 'step 0 did not complete', planJson: '{"commands": [', expected: null },
      { kind: 'plan', status: 'failed', error: 'step 0 did not complete', planJson: '["x"]', expected: null },
    ];
    rows.forEach((r, i) =>
      insert.run(
        id(i + 1),
        r.kind ?? 'command',
        r.plan === undefined ? null : id(r.plan),
        r.status,
        r.exit ?? null,
        r.error,
        r.planJson ?? null,
      ),
    );
    old.close();
    const store = HistoryStore.open(path);
    expect(store.schemaVersion).toBe(LATEST_VERSION);
    store.close();
    // Read straight from the file: the damaged plans above are not records the store can return.
    const upgraded = new Database(path, { readonly: true });
    const codes = upgraded.prepare('SELECT error_code FROM executions WHERE id = ?').pluck();
    expect(rows.map((_, i) => codes.get(id(i + 1)))).toEqual(rows.map((r) => r.expected));
    upgraded.close();
  });

  test('a store from a newer version is refused with a clear message', () => {
    const path = join(tempDir(), 'new.sqlite');
    const db = new Database(path);
    db.pragma('user_version = 99');
    db.close();
    expect(() => HistoryStore.open(path)).toThrow(
      /schema version 99; this version of cloudops-execution-engine supports up to \d+/,
    );
  });
});
