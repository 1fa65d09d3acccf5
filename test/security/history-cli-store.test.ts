/**
 * Attacks on the history store: who can read it (file modes), what a search can cost (query
 * length), and what a corrupt file does to a running engine and server (it degrades, loudly,
 * to a history in memory; results of what the engine tracks are still answered).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, openSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { type ExecutionRecord, ftsQuery, HistoryStore, MAX_SEARCH_WORDS } from '../../src/history/store.js';
import { ValidationError } from '../../src/index.js';
import { exec, makeEngine, sh, tempDir, until } from '../helpers.js';
import { commandRecord } from '../support/records.js';
import { startTestServer } from '../support/server.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));
const modeOf = (path: string) => statSync(path).mode & 0o777;
const storeFiles = (path: string) => ['', '-wal', '-shm'].map((s) => `${path}${s}`).filter(existsSync);

const record = (n: number, over: Partial<ExecutionRecord> = {}) =>
  commandRecord(n, { engine_pid: 1, engine_id: 'e', ...over });

/** Overwrite a whole file with random bytes (its size kept), as a failing disk or a hostile writer would. */
function garbage(path: string): void {
  const size = statSync(path).size;
  const fd = openSync(path, 'r+');
  try {
    writeSync(fd, randomBytes(size), 0, size, 0);
  } finally {
    closeSync(fd);
  }
}

/** Warnings emitted while a test runs. */
let warnings: Error[] = [];
const onWarning = (w: Error) => warnings.push(w);
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});
const historyWarnings = () =>
  warnings.filter((w) => (w as Error & { code?: string }).code === 'CLOUDOPS_HISTORY').map((w) => w.message);

describe('the store files are owner-only (0600)', () => {
  test.each([0o022, 0o000])('a new store and its -wal and -shm under umask %o', (umask) => {
    const previous = process.umask(umask);
    try {
      const path = join(tempDir(), 'history.sqlite');
      const store = HistoryStore.open(path);
      expect(modeOf(path)).toBe(0o600); // before anything is written
      store.store(record(1, { command: 'aws s3 cp secret-report.csv s3://bucket/' }));
      expect(storeFiles(path)).toHaveLength(3);
      for (const file of storeFiles(path)) expect(modeOf(file), file).toBe(0o600);
      store.close();
    } finally {
      process.umask(previous);
    }
  });

  test('an existing store made readable by others is tightened when opened', () => {
    const path = join(tempDir(), 'history.sqlite');
    const first = HistoryStore.open(path);
    first.store(record(1));
    // The other files exist while a connection is open: widen them all, as an older version left them.
    for (const file of storeFiles(path)) chmodSync(file, 0o666);
    const second = HistoryStore.open(path);
    for (const file of storeFiles(path)) expect(modeOf(file), file).toBe(0o600);
    expect(second.get(record(1).id)?.command).toBe('echo 1');
    second.close();
    first.close();
  });

  test("an engine's history and its log files (command and plan) are 0600, even under umask 0", async () => {
    const previous = process.umask(0);
    try {
      const engine = makeEngine();
      const id = await engine.execute(sh('echo hi'));
      await engine.wait(id);
      const planId = await engine.executePlan({ commands: [sh('true')] });
      await engine.waitPlan(planId);
      const history = engine.history!;
      for (const file of storeFiles(history.path)) expect(modeOf(file), file).toBe(0o600);
      expect(modeOf(engine.getLogPath(id))).toBe(0o600);
      expect(modeOf(engine.getLogPath(planId))).toBe(0o600);
    } finally {
      process.umask(previous);
    }
  });
});

describe('search cost is bounded by its query', () => {
  const words = Array.from({ length: MAX_SEARCH_WORDS }, (_, i) => `word${i}`);
  let store: HistoryStore;
  beforeEach(() => {
    store = HistoryStore.open(join(tempDir(), 'history.sqlite'));
    // Rows whose output repeats every query word many times: the case that made ranking quadratic.
    store.storeMany(Array.from({ length: 60 }, (_, i) => record(i, { output: `${words.join(' ')} `.repeat(200) })));
  });
  afterEach(() => store.close());

  test('a 1,000-word query is refused with a ValidationError naming the query; nothing is searched', () => {
    for (const query of [
      Array.from({ length: 1000 }, () => 'word0').join(' '),
      Array.from({ length: 1000 }, (_, i) => `w${i}`).join(' '),
    ]) {
      let err: unknown;
      try {
        store.search(query);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe('query');
      expect((err as ValidationError).reason).toMatch(/at most (32 words \(got 1000\)|1000 characters)/);
    }
  });

  test('33 short words are refused naming the query and the limit', () => {
    const query = Array.from({ length: 33 }, (_, i) => `w${i}`).join(' ');
    expect(query.length).toBeLessThan(1000);
    expect(() => store.search(query)).toThrow(
      expect.objectContaining({ field: 'query', reason: expect.stringMatching(/at most 32 words \(got 33\)/) }),
    );
  });

  test('a query over 1,000 characters (even one word) is refused naming the query', () => {
    expect(() => store.search('x'.repeat(1001))).toThrow(
      expect.objectContaining({ field: 'query', reason: expect.stringMatching(/at most 1000 characters/) }),
    );
    expect(() => store.search(`${'x'.repeat(999)}`)).not.toThrow();
  });

  test('a 32-word query whose words fill every row completes, and finds them', () => {
    const found = store.search(words.join(' '), { limit: 5 });
    expect(found).toHaveLength(5);
    expect(store.search([...words.slice(0, 31), 'absent'].join(' '))).toEqual([]);
  });

  test('repeated words (any case) are one phrase: a repeat costs nothing more', () => {
    expect(ftsQuery('word1 WORD1 Word1 word2 word1')).toBe('"word1" "word2"');
    expect(
      store.search(Array.from({ length: 32 }, (_, i) => (i % 2 ? 'WORD3' : 'word3')).join(' '), { limit: 1000 }),
    ).toHaveLength(60);
  });

  test('over HTTP: a 1,000-word query is a 400 naming the query, and the server keeps answering', async () => {
    const { api } = await startTestServer();
    const q = encodeURIComponent(Array.from({ length: 1000 }, (_, i) => `w${i}`).join(' '));
    const res = await api('GET', `/api/search?q=${q}`);
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('query');
    expect((await api('GET', '/api/health')).status).toBe(200);
    expect((await api('GET', `/api/search?q=${encodeURIComponent(words.join(' '))}`)).status).toBe(200);
  });
});

describe('a corrupt store degrades to a history in memory, loudly, and never fails what the engine tracks', () => {
  /** A store of earlier runs, larger than SQLite's page cache, so reading it goes to the file. */
  function earlierRuns(logDir: string): void {
    const store = HistoryStore.open(join(logDir, 'history.sqlite'));
    store.storeMany(Array.from({ length: 400 }, (_, i) => record(i, { output: `earlier output ${i} `.repeat(500) })));
    store.close();
  }
  const corruptions: Array<[string, string, (path: string) => void]> = [
    ['every file overwritten', 'SQLITE_NOTADB', (path) => storeFiles(path).forEach(garbage)],
    [
      'every page but the header overwritten',
      'SQLITE_CORRUPT',
      (path) => {
        const size = statSync(path).size;
        const fd = openSync(path, 'r+');
        writeSync(fd, randomBytes(size - 4096), 0, size - 4096, 4096);
        closeSync(fd);
      },
    ],
  ];

  test.each(corruptions)(
    'while the engine runs (%s): commands run, results and records are answered, one warning names the file and %s',
    async (_name, code, corrupt) => {
      const logDir = tempDir();
      earlierRuns(logDir);
      const engine = makeEngine({ log_dir: logDir });
      const before = await engine.execute(exec('echo', 'before-corruption'));
      await engine.wait(before);
      const path = engine.history!.path;
      corrupt(path);

      const after = await engine.execute(exec('echo', 'after-corruption'));
      expect((await engine.wait(after)).stdout).toBe('after-corruption\n');
      const planId = await engine.executePlan({ commands: [exec('echo', 'plan-step')] });
      expect((await engine.waitPlan(planId)).status).toBe('completed');
      for (const id of [before, after]) {
        expect((await engine.getResult(id)).status).toBe('completed');
        expect(await engine.getStatus(id)).toBe('completed');
        expect(engine.history!.get(id)?.status).toBe('completed'); // the tracked executions are in the in-memory store
      }
      expect(engine.history!.list({ plan_id: planId })).toHaveLength(1);
      // Reading what only the file had (earlier runs) answers too: from memory, without them.
      expect(engine.history!.list({ limit: 10_000 }).map((r) => r.id)).toEqual(
        expect.arrayContaining([before, after, planId]),
      );
      expect((await engine.searchExecutions('after-corruption')).map((r) => r.id)).toEqual([after]);
      expect(await engine.readLogs(after)).toContain('[stdout] after-corruption');

      const said = historyWarnings();
      expect(said).toHaveLength(1);
      expect(said[0]).toContain(path);
      expect(said[0]).toContain(`is corrupt (${code}`);
      expect(engine.history!.lost).toContain(path);
    },
  );

  test('over HTTP: after the file is corrupted, results, details, listings and search answer 200', async () => {
    const { api, engine } = await startTestServer({ approval: null });
    const first = (await api('POST', '/api/executions', exec('echo', 'one'))).body.id as string;
    await engine.wait(first);
    corruptions[0]![2](engine.history!.path);
    const second = (await api('POST', '/api/executions', exec('echo', 'two'))).body.id as string;
    expect((await api('GET', `/api/executions/${second}/result?wait=true`)).status).toBe(200);
    for (const id of [first, second]) {
      const result = await api('GET', `/api/executions/${id}/result`);
      expect(result.status, JSON.stringify(result.body)).toBe(200);
      expect(result.body.status).toBe('completed');
      expect((await api('GET', `/api/executions/${id}`)).status).toBe(200);
    }
    const listing = await api('GET', '/api/executions');
    expect(listing.status).toBe(200);
    expect(listing.body.executions.map((e: { id: string }) => e.id)).toEqual(expect.arrayContaining([first, second]));
    expect((await api('GET', '/api/search?q=two')).body.executions.map((e: { id: string }) => e.id)).toEqual([second]);
    expect(historyWarnings()).toHaveLength(1);
  });

  test.each([
    ['not a database at all', 'SQLITE_NOTADB', (path: string) => writeFileSync(path, randomBytes(64 * 1024))],
    [
      'a valid header over garbage pages',
      'SQLITE_CORRUPT',
      (path: string) => {
        const store = HistoryStore.open(path);
        store.storeMany(Array.from({ length: 200 }, (_, i) => record(i, { output: 'x'.repeat(500) })));
        store.close();
        const fd = openSync(path, 'r+');
        const size = statSync(path).size;
        writeSync(fd, randomBytes(size - 4096), 0, size - 4096, 4096);
        closeSync(fd);
      },
    ],
  ])(
    'at start on a file that is %s: the warning names the file and %s, and the engine runs without it',
    async (_name, code, corrupt) => {
      const logDir = tempDir();
      const path = join(logDir, 'history.sqlite');
      corrupt(path);
      const engine = makeEngine({ log_dir: logDir });
      await new Promise((resolve) => setImmediate(resolve)); // warnings are emitted on the next tick
      const said = historyWarnings();
      expect(said).toHaveLength(1);
      expect(said[0]).toContain(`history store ${path} is corrupt (${code}`);
      expect(engine.history?.lost).toContain(path);
      const id = await engine.execute(exec('echo', 'still-runs'));
      expect((await engine.wait(id)).stdout).toBe('still-runs\n');
      expect(engine.history!.get(id)?.status).toBe('completed');
    },
  );

  test('in memory, the store keeps a bounded number of finished records, the newest', () => {
    const store = HistoryStore.inMemory('/nonexistent/history.sqlite', 'test');
    store.keepRunningInMemory({ maxRecords: 10, onCorrupt: () => [] });
    for (let i = 0; i < 500; i++) store.store(record(i));
    expect(store.count()).toBeLessThanOrEqual(10 + 64);
    expect(store.get(record(499).id)).not.toBeNull();
    expect(store.get(record(0).id)).toBeNull();
    store.close();
  });

  test('`history` in the CLI on a corrupt file says the file is corrupt (no raw SQLite message alone)', () => {
    const logDir = tempDir();
    writeFileSync(join(logDir, 'history.sqlite'), randomBytes(8192));
    const child = spawnSyncCli(['--log-dir', logDir, 'history']);
    expect(child.status).not.toBe(0);
    expect(child.stderr).toContain(`history store ${join(logDir, 'history.sqlite')} is corrupt (SQLITE_NOTADB`);
  });

  test('`serve` on a corrupt store starts, and says the store is corrupt (not that store_history is off)', async () => {
    const logDir = tempDir();
    const path = join(logDir, 'history.sqlite');
    writeFileSync(path, randomBytes(8192));
    const child = spawn(
      process.execPath,
      [BIN, '--log-dir', logDir, 'serve', '--port', '0', '--token', 'corrupt-store-test-token-0123456789'],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      await until(() => stderr.includes('serving on') || child.exitCode !== null, 20_000, 'serve to start');
      expect(stderr).toContain('serving on');
      expect(stderr).toContain(`history store ${path} is corrupt (SQLITE_NOTADB`);
      expect(stderr).not.toContain('store_history');
      const url = /serving on (http:\/\/\S+)/.exec(stderr)![1]!;
      const health = await fetch(`${url}/api/health`, {
        headers: { authorization: 'Bearer corrupt-store-test-token-0123456789' },
      });
      expect(health.status).toBe(200);
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  });
});

function spawnSyncCli(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 30_000 });
}
