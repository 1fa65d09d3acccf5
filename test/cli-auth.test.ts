/** `cloudops-exec auth add | list | revoke` on real store files, and against a running `serve`. */
import { spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';
import { HistoryStore } from '../src/history/store.js';
import { AuditTrail } from '../src/services/audit.js';
import { Principals } from '../src/services/principals.js';
import { tempDir, until } from './helpers.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const BIN = join(root, 'dist/cli/main.js');
const TOKEN_SHAPE = /^cee_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/;

function cli(logDir: string, ...args: string[]) {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  delete env.CLOUDOPS_EXEC_TOKEN;
  const run = spawnSync(process.execPath, [BIN, '--log-dir', logDir, ...args], { encoding: 'utf8', env });
  return { code: run.status, stdout: run.stdout, stderr: run.stderr };
}

/** Read the store the CLI wrote, as another process would. */
function withStore<T>(logDir: string, fn: (store: HistoryStore) => T): T {
  const store = HistoryStore.open(join(logDir, 'history.sqlite'));
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

test('auth add prints the token once, saying so; the store keeps only its hash', () => {
  const logDir = tempDir();
  const added = cli(logDir, 'auth', 'add', 'alice', '--role', 'approver');
  expect(added.code, added.stderr).toBe(0);
  const lines = added.stdout.trim().split('\n');
  expect(lines[0]).toBe('Added alice (role approver). Its API token:');
  const token = lines[1]!;
  expect(token).toMatch(TOKEN_SHAPE);
  expect(added.stdout).toMatch(/shown only now/);
  withStore(logDir, (store) => {
    const row = store.principal('alice')!;
    expect(row).toMatchObject({ role: 'approver', revoked_at: null, token_id: token.slice(4, 20) });
    expect(JSON.stringify(row)).not.toContain(token.slice(21));
    expect(new Principals(store).authenticate(token)).toMatchObject({ name: 'alice', role: 'approver' });
    expect(new AuditTrail(store).list()).toMatchObject([
      { action: 'principal_added', object: 'alice', source: 'cli', detail: { role: 'approver' } },
    ]);
  });
});

test('auth add --json is for scripts; auth list shows roles and dates, never a token or its hash', () => {
  const logDir = tempDir();
  const added = JSON.parse(cli(logDir, 'auth', 'add', 'ci-bot', '--role', 'submitter', '--json').stdout);
  expect(added).toMatchObject({ principal: { name: 'ci-bot', role: 'submitter', revoked_at: null } });
  expect(added.token).toMatch(TOKEN_SHAPE);
  expect(cli(logDir, 'auth', 'add', 'vera', '--role', 'viewer').code).toBe(0);

  const table = cli(logDir, 'auth', 'list');
  expect(table.code).toBe(0);
  const rows = table.stdout.trim().split('\n');
  expect(rows[0]).toMatch(/^NAME\s+ROLE\s+CREATED\s+BY\s+REVOKED$/);
  expect(rows.slice(1).map((r) => r.split(/\s+/).slice(0, 2))).toEqual([
    ['ci-bot', 'submitter'],
    ['vera', 'viewer'],
  ]);
  const listed = JSON.parse(cli(logDir, 'auth', 'list', '--json').stdout);
  expect(listed.map((p: { name: string }) => p.name)).toEqual(['ci-bot', 'vera']);
  const hash = withStore(logDir, (store) => store.principal('ci-bot')!.token_hash);
  for (const output of [table.stdout, JSON.stringify(listed)]) {
    expect(output).not.toContain(added.token.slice(4, 20)); // not even the token's public id
    expect(output).not.toContain(hash);
  }
  for (const key of Object.keys(listed[0]))
    expect(['name', 'role', 'created_at', 'created_by', 'revoked_at']).toContain(key);
});

test('auth revoke marks the principal revoked: its token no longer authenticates; the name stays taken', () => {
  const logDir = tempDir();
  const { token } = JSON.parse(cli(logDir, 'auth', 'add', 'alice', '--role', 'approver', '--json').stdout);
  const revoked = cli(logDir, 'auth', 'revoke', 'alice');
  expect(revoked.code, revoked.stderr).toBe(0);
  expect(revoked.stdout).toMatch(/^Revoked alice at \S+: its token and browser sessions stop working at once/);
  withStore(logDir, (store) => {
    expect(store.principal('alice')!.revoked_at).not.toBeNull();
    expect(new Principals(store).authenticate(token)).toBeNull();
    expect(new AuditTrail(store).list().map((e) => [e.action, e.object])).toEqual([
      ['principal_added', 'alice'],
      ['principal_revoked', 'alice'],
    ]);
  });
  const listed = JSON.parse(cli(logDir, 'auth', 'list', '--json').stdout);
  expect(listed[0].revoked_at).not.toBeNull();

  const again = cli(logDir, 'auth', 'revoke', 'alice');
  expect(again.code).toBe(2);
  expect(again.stderr).toMatch(/already revoked/);
  const taken = cli(logDir, 'auth', 'add', 'alice', '--role', 'viewer');
  expect(taken.code).toBe(2);
  expect(taken.stderr).toMatch(/A principal named alice already exists/);
});

test('bad input exits 2 and says what is wrong', () => {
  const logDir = tempDir();
  const cases: Array<[string[], RegExp]> = [
    [
      ['auth', 'add', 'bob', '--role', 'aprover'],
      /--role must be one of viewer, submitter, approver, admin.*did you mean "approver"/,
    ],
    [['auth', 'add', 'bob'], /needs --role/],
    [['auth', 'add', 'Bob', '--role', 'viewer'], /principal name is 1 to 64 of a-z/],
    [['auth', 'add', 'admin', '--role', 'viewer'], /"admin" is the server's own token/],
    [['auth', 'add'], /missing required argument 'name'/],
  ];
  for (const [args, message] of cases) {
    const run = cli(logDir, ...args);
    expect(run.code, args.join(' ')).toBe(2);
    expect(run.stderr, args.join(' ')).toMatch(message);
  }
  expect(cli(logDir, 'auth', 'add', 'alice', '--role', 'viewer').code).toBe(0);
  const unknown = cli(logDir, 'auth', 'revoke', 'alcie');
  expect(unknown.code).toBe(2);
  expect(unknown.stderr).toMatch(/no principal named "alcie".*did you mean "alice"/);
  const bootstrap = cli(logDir, 'auth', 'revoke', 'admin');
  expect(bootstrap.code).toBe(2);
  expect(bootstrap.stderr).toMatch(/the bootstrap admin is the server token/);
  // A log dir with no store: list and revoke name the path instead of making an empty store.
  const nowhere = join(tempDir(), 'nothing-here');
  const list = cli(nowhere, 'auth', 'list');
  expect(list.code).toBe(2);
  expect(list.stderr).toContain(`no history at ${join(nowhere, 'history.sqlite')}`);
});

const children: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

test('on a running server, a principal added with the CLI signs in at once and is refused the moment it is revoked', async () => {
  const logDir = tempDir();
  const env = { ...process.env };
  delete env.CLOUDOPS_EXEC_TOKEN;
  const server = spawn(process.execPath, [BIN, '--log-dir', logDir, 'serve', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  children.push(server);
  let stderr = '';
  server.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  server.stdout.resume();
  await until(() => /API token: \S+/.test(stderr) || server.exitCode !== null, 20_000, 'server started');
  const url = /serving on (http:\/\/\S+)/.exec(stderr)![1]!;
  expect(stderr).toContain('cloudops-exec auth add NAME --role ROLE');
  const whoami = (token: string) => fetch(`${url}/api/whoami`, { headers: { authorization: `Bearer ${token}` } });

  const { token } = JSON.parse(cli(logDir, 'auth', 'add', 'sam', '--role', 'submitter', '--json').stdout);
  const signedIn = await whoami(token);
  expect(signedIn.status).toBe(200);
  expect(await signedIn.json()).toEqual({ name: 'sam', role: 'submitter' });

  expect(cli(logDir, 'auth', 'revoke', 'sam').code).toBe(0);
  const refused = await whoami(token);
  expect(refused.status).toBe(401);
  server.kill('SIGINT');
});
