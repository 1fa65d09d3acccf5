/**
 * Attacks on what the history store keeps and how it is opened: secrets in decided approvals,
 * reused approval ids overwriting an old audit record, searches whose words differ only in
 * punctuation, and links planted next to the store file.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, test } from 'vitest';
import { type ExecutionRecord, HistoryStore } from '../../src/history/store.js';
import { ExecutionError } from '../../src/index.js';
import { ApprovalQueue } from '../../src/services/approval-queue.js';
import { exec, makeEngine, tempDir } from '../helpers.js';
import { decideAs } from '../support/approvals.js';
import { commandRecord } from '../support/records.js';
import { startTestServer } from '../support/server.js';

const APPROVAL = {
  approval: { auto_approve_readonly: true, require_approval_modify: true, require_approval_destructive: true },
};

/** The approvals table as SQLite holds it, read with a connection of our own. */
function approvalRows(path: string): Array<{ id: string; state: string; row: string }> {
  const db = new Database(path, { readonly: true });
  try {
    return (
      db
        .prepare('SELECT id, state, plan_json, request_json, decision_json, votes_json, edit_json FROM approvals')
        .all() as Array<Record<string, string | null>>
    ).map((r) => ({
      id: r.id as string,
      state: r.state as string,
      row: [r.plan_json, r.request_json, r.decision_json, r.votes_json, r.edit_json].map((c) => c ?? '').join('\n'),
    }));
  } finally {
    db.close();
  }
}

describe('decided approvals keep no secrets in the history file', () => {
  test('approve, edit-and-approve and reject over HTTP: the pending row held the env (it must run after a restart), the decided rows hold none', async () => {
    const dir = tempDir();
    // One approval starts a destructive plan here: this is about what the rows keep, not how many approve.
    const server = await startTestServer(
      { log_dir: dir, ...APPROVAL },
      { approvals: { required: { destructive: 1 } } },
    );
    const { api, engine } = server;
    const secrets = {
      token: `tok-${randomUUID()}`,
      rollback: `rb-${randomUUID()}`,
      edit: `ed-${randomUUID()}`,
      inArg: `arg-${randomUUID()}`,
    };
    const victim = join(dir, 'nothing');
    const plan = () => ({
      description: 'clean up',
      commands: [
        {
          ...exec('rm', '-f', victim),
          env: { API_TOKEN: secrets.token, PLAIN: 'x' },
          rollback: [{ ...exec('true'), env: { DB_PASSWORD: secrets.rollback } }],
        },
        // The secret's value also appears where no env names it: replaced there too.
        exec('rm', '-f', `${victim}-${secrets.token}`),
      ],
    });
    const path = engine.history!.path;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const submitted = await api('POST', '/api/plans', plan());
      expect(submitted.status).toBe(202);
      ids.push(submitted.body.approval_id);
    }
    // Waiting: the real env is kept, on purpose (after a restart it is approved from this row).
    for (const row of approvalRows(path)) expect(row.row).toContain(secrets.token);

    const decisions = [
      { type: 'approve' },
      {
        type: 'modify_and_approve',
        modified_plan: { commands: [{ ...exec('rm', '-f', victim), env: { SECRET_KEY: secrets.edit } }] },
      },
      { type: 'reject', reason: 'not today' },
    ];
    for (const [i, decision] of decisions.entries()) {
      const decided = await decideAs(server, ids[i]!, decision, {
        notes: `note ${secrets.token}`,
        accept_risk: 'destructive',
        confirmEdit: true,
      });
      expect(decided.status).toBe(200);
    }
    const rows = approvalRows(path);
    expect(rows.map((r) => r.state).sort()).toEqual(['approved', 'approved', 'rejected']);
    for (const row of rows) {
      for (const secret of Object.values(secrets)) expect(row.row).not.toContain(secret);
      expect(row.row).toContain('***');
    }
    // The record is still useful: what was decided, and on which commands.
    const rejected = rows.find((r) => r.state === 'rejected')!;
    expect(rejected.row).toContain('not today');
    expect(rejected.row).toContain('"PLAIN":"x"');
  });

  test('with redact_secrets: false (the engine configured to keep them) the decided row keeps the env', async () => {
    const engine = makeEngine({ ...APPROVAL, redact_secrets: false });
    const queue = new ApprovalQueue(engine);
    const secret = `tok-${randomUUID()}`;
    const approval = await queue.submit({
      commands: [{ ...exec('rm', '-f', join(tempDir(), 'x')), env: { API_TOKEN: secret } }],
    });
    await queue.decide(
      approval.id,
      { decision: { type: 'reject', reason: 'no' }, plan_sha256: approval.plan_sha256 },
      { name: 'bob' },
    );
    expect(approvalRows(engine.history!.path).find((r) => r.id === approval.id)!.row).toContain(secret);
  });
});

describe('an approval id is used once, even past the approvals kept in memory', () => {
  test('two engines on one store: an id rejected on one is refused on the other (409 naming the history), and the rejected record is intact', async () => {
    const dir = tempDir();
    // B starts first: it has nothing of A's in memory, only the shared file can tell it.
    const b = await startTestServer({ log_dir: dir, ...APPROVAL });
    const a = makeEngine({ log_dir: dir, ...APPROVAL });
    const queueA = new ApprovalQueue(a);
    const sentinel = join(dir, 'sentinel');
    writeFileSync(sentinel, 'keep');
    const old = await queueA.submit({ description: 'wipe it', commands: [exec('rm', '-f', sentinel)] });
    await queueA.decide(
      old.id,
      { decision: { type: 'reject', reason: 'NO: would wipe prod' }, plan_sha256: old.plan_sha256 },
      { name: 'alice' },
    );
    const before = approvalRows(b.engine.history!.path).find((r) => r.id === old.id)!;

    const attempts = [
      // The same plan id.
      { id: old.id, description: 'same id again', commands: [exec('rm', '-f', sentinel)] },
      // The old approval's id taken by a command of a new plan.
      { description: 'id as a command', commands: [{ ...exec('rm', '-f', sentinel), id: old.id }] },
    ];
    for (const plan of attempts) {
      const answer = await b.api('POST', '/api/plans', plan);
      expect(answer.status).toBe(409);
      expect(answer.body.error.code).toBe('DuplicateId');
      expect(answer.body.error.message).toContain(`Id ${old.id} is already used by an approval in the history`);
    }
    const after = approvalRows(b.engine.history!.path).find((r) => r.id === old.id)!;
    expect(after).toEqual(before);
    expect(after.state).toBe('rejected');
    expect(after.row).toContain('NO: would wipe prod');
    expect(after.row).toContain('wipe it');
    expect(existsSync(sentinel)).toBe(true);
  });

  test('the store itself refuses a second approval under an existing id (a plain insert, not an upsert), and a decided row is never rewritten', async () => {
    const engine = makeEngine(APPROVAL);
    const queue = new ApprovalQueue(engine);
    const first = await queue.submit({ description: 'first', commands: [exec('rm', '-f', join(tempDir(), 'x'))] });
    await queue.decide(
      first.id,
      { decision: { type: 'reject', reason: 'first reason' }, plan_sha256: first.plan_sha256 },
      { name: 'alice' },
    );
    const store = engine.history!;
    const rogue = {
      ...first,
      state: 'pending' as const,
      decision: null,
      plan: { ...first.plan, description: 'rogue' },
    };
    let err: unknown;
    try {
      store.insertApproval(rogue);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ExecutionError);
    expect((err as ExecutionError).code).toBe('DuplicateId');
    // A second "decision" of an already decided row changes nothing.
    expect(store.updateApproval({ ...first, state: 'approved', plan: { ...first.plan, description: 'rogue' } })).toBe(
      false,
    );
    const row = approvalRows(store.path).find((r) => r.id === first.id)!;
    expect(row.state).toBe('rejected');
    expect(row.row).toContain('first reason');
    expect(row.row).not.toContain('rogue');
  });
});

function record(n: number, output: string): ExecutionRecord {
  return commandRecord(n, { command: `yes ${n}`, output, engine_pid: 1, engine_id: 'e' });
}

describe('search words are repeats when their tokens are, not their spelling', () => {
  test('32 punctuation and case variants of one word complete and find what the one word finds', () => {
    const store = HistoryStore.open(join(tempDir(), 'history.sqlite'));
    try {
      store.storeMany(
        Array.from({ length: 40 }, (_, i) => record(i, i % 4 === 0 ? 'nothing here ' : 'a '.repeat(20_000))),
      );
      const variants = [
        'a',
        'a.',
        'a,',
        '(a)',
        'a;',
        'a:',
        '[a]',
        '{a}',
        'a!',
        'a?',
        'A-',
        '-a',
        'a_',
        '_a',
        'a/',
        '/a',
        'a+',
        '+a',
        'a=',
        '=a',
        'a*',
        '*A',
        'a&',
        '&a',
        'a%',
        '%a',
        'a$',
        '$a',
        'a#',
        '#a',
        'a@',
        '"a"',
      ];
      expect(variants).toHaveLength(32);
      const one = store.search('a', { limit: 1000 }).map((r) => r.id);
      expect(one).toHaveLength(30);
      expect(store.search(variants.join(' '), { limit: 1000 }).map((r) => r.id)).toEqual(one);
      // A word of only separators matches nothing and is dropped, not searched for.
      expect(store.search('-- a ...', { limit: 1000 }).map((r) => r.id)).toEqual(one);
      expect(store.search('-- ...')).toEqual([]);
    } finally {
      store.close();
    }
  });

  test('the bound is on tokens: one word hiding 33 tokens is refused naming the query; a distinct-word search still needs every word', () => {
    const store = HistoryStore.open(join(tempDir(), 'history.sqlite'));
    try {
      store.storeMany([record(1, 'alpha beta'), record(2, 'alpha gamma')]);
      expect(() => store.search(Array.from({ length: 33 }, () => 'a').join('-'))).toThrow(
        expect.objectContaining({
          field: 'query',
          reason: expect.stringMatching(/at most 32 distinct words.*\(got 33\)/),
        }),
      );
      expect(() => store.search(Array.from({ length: 32 }, () => 'a').join('-'))).not.toThrow();
      expect(store.search('Alpha, (beta)').map((r) => r.output)).toEqual(['alpha beta']);
      expect(
        store
          .search('alpha. ALPHA')
          .map((r) => r.output)
          .sort(),
      ).toEqual(['alpha beta', 'alpha gamma']);
    } finally {
      store.close();
    }
  });
});

describe('links planted next to the store are not followed', () => {
  for (const suffix of ['-wal', '-shm', '-journal']) {
    test(`a ${suffix} link to another file: the store is refused naming the link, and the target keeps its mode and content`, () => {
      const dir = tempDir();
      const path = join(dir, 'history.sqlite');
      HistoryStore.open(path).close();
      const target = join(dir, 'victim.txt');
      writeFileSync(target, 'precious');
      chmodSync(target, 0o644);
      symlinkSync(target, `${path}${suffix}`);
      let err: unknown;
      try {
        HistoryStore.open(path).close();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ExecutionError);
      expect((err as ExecutionError).message).toContain(`${path}${suffix} is a symbolic link`);
      expect(statSync(target).mode & 0o777).toBe(0o644);
      expect(statSync(target).size).toBe('precious'.length);
    });
  }

  test('the database file as a link (the user may make one): opened, its target not re-moded', () => {
    const dir = tempDir();
    const real = join(dir, 'real.sqlite');
    HistoryStore.open(real).close();
    chmodSync(real, 0o640);
    const link = join(dir, 'history.sqlite');
    symlinkSync(real, link);
    const store = HistoryStore.open(link);
    store.close();
    expect(statSync(real).mode & 0o777).toBe(0o640);
  });
});
