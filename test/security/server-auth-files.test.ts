/**
 * Attacks on the server's front door and its files: an open redirect through `/login?next=`,
 * a token file another user planted or can read, a token visible in `ps`, and a default log
 * dir shared with other users.
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, test } from 'vitest';
import { defaultLogDir, logDirOf } from '../../src/config.js';
import { ExecutionEngine, ValidationError } from '../../src/index.js';
import { sameOriginPath } from '../../src/server/auth.js';
import { buildServer } from '../../src/server/index.js';
import { makeEngine, tempDir, until } from '../helpers.js';
import { startTestServer, TOKEN } from '../support/server.js';

const root = fileURLToPath(new URL('../..', import.meta.url));
const BIN = join(root, 'dist/cli/main.js');
const isRoot = process.getuid?.() === 0;

const saved = { token: process.env.CLOUDOPS_EXEC_TOKEN, xdg: process.env.XDG_STATE_HOME, home: process.env.HOME };
const children: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const [name, value] of [
    ['CLOUDOPS_EXEC_TOKEN', saved.token],
    ['XDG_STATE_HOME', saved.xdg],
    ['HOME', saved.home],
  ] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

test('/login?next= only ever redirects to a path on this server', async () => {
  const { url } = await startTestServer();
  const offSite = [
    '//evil.example',
    '///evil.example',
    '/\\evil.example',
    '\\/evil.example',
    '/\\/evil.example',
    '/%2F%2Fevil.example',
    '/%2f/evil.example',
    '/%5Cevil.example',
    '/%5c%5cevil.example',
    '/.//evil.example',
    '/./\\evil.example',
    '/..//evil.example',
    '/../..//evil.example',
    '/a/..//evil.example',
    '/%2e//evil.example',
    '/%2e%2e//evil.example',
    '/\t/evil.example',
    '/\n/evil.example',
    '/\r\n/evil.example',
    '/%09/evil.example',
    '/ /evil.example',
    '/\u3000/evil.example',
    'http://evil.example/',
    'https:evil.example',
    'HTTP://evil.example',
    'javascript:alert(1)',
    'evil.example',
    ' //evil.example',
    '',
  ];
  for (const next of offSite) {
    const response = await fetch(`${url}/login?token=${TOKEN}&next=${encodeURIComponent(next)}`, {
      redirect: 'manual',
    });
    expect(response.status, JSON.stringify(next)).toBe(303);
    expect(response.headers.get('location'), JSON.stringify(next)).toBe('/');
    expect(sameOriginPath(next), JSON.stringify(next)).toBe('/');
  }
  // Two `next` parameters: neither is taken.
  const twice = await fetch(`${url}/login?token=${TOKEN}&next=/a&next=//evil.example`, { redirect: 'manual' });
  expect(twice.headers.get('location')).toBe('/');
  // Paths on this server are kept.
  for (const [next, location] of [
    ['/', '/'],
    ['/#/approvals/abc', '/#/approvals/abc'],
    ['/#/executions?x=1', '/#/executions?x=1'],
    ['/assets/app.js?v=2', '/assets/app.js?v=2'],
    ['/a/./b', '/a/b'],
    ['/a//b', '/a//b'],
  ]) {
    const response = await fetch(`${url}/login?token=${TOKEN}&next=${encodeURIComponent(next!)}`, {
      redirect: 'manual',
    });
    expect(response.headers.get('location'), next).toBe(location);
  }
  expect(sameOriginPath(undefined)).toBe('/');
  expect(sameOriginPath(['/a'])).toBe('/');
});

function reasonOf(err: unknown): string {
  expect(err).toBeInstanceOf(ValidationError);
  return (err as ValidationError).reason;
}

test('a token file readable or writable by group or others is refused, naming the file and chmod 600', async () => {
  delete process.env.CLOUDOPS_EXEC_TOKEN;
  for (const mode of [0o644, 0o640, 0o604, 0o620, 0o602, 0o660]) {
    const dir = tempDir();
    const file = join(dir, 'token');
    writeFileSync(file, 'a-token-of-enough-length-123456\n');
    chmodSync(file, mode);
    const reason = reasonOf(await buildServer(makeEngine(), { tokenFile: file }).catch((e: unknown) => e));
    expect(reason).toContain(file);
    expect(reason).toContain(`chmod 600 ${file}`);
  }
  // The generated one in the log dir, found with a wider mode at the next start.
  const logDir = tempDir();
  const first = await buildServer(makeEngine({ log_dir: logDir }));
  await first.close();
  const generated = join(logDir, 'server-token');
  expect(statSync(generated).mode & 0o777).toBe(0o600);
  chmodSync(generated, 0o644);
  const reason = reasonOf(await buildServer(makeEngine({ log_dir: logDir })).catch((e: unknown) => e));
  expect(reason).toContain(`chmod 600 ${generated}`);
  chmodSync(generated, 0o600);
  const again = await buildServer(makeEngine({ log_dir: logDir }));
  await again.close();
  expect(again.token).toEqual({ token: first.token.token, source: 'file' });
});

test.skipIf(!isRoot)(
  'a token file another user owns is refused (planted in a shared log dir), even with mode 0600',
  async () => {
    delete process.env.CLOUDOPS_EXEC_TOKEN;
    const logDir = tempDir();
    const planted = join(logDir, 'server-token');
    writeFileSync(planted, 'attacker-chosen-token-0123456789\n', { mode: 0o600 });
    chownSync(planted, 65534, 65534);
    const reason = reasonOf(await buildServer(makeEngine({ log_dir: logDir })).catch((e: unknown) => e));
    expect(reason).toContain(planted);
    expect(reason).toMatch(/owned by uid 65534/);
    expect(reason).toContain('chmod 600');
  },
);

test('a symbolic link or a FIFO planted as the server token file is refused, without hanging', async () => {
  delete process.env.CLOUDOPS_EXEC_TOKEN;
  const mine = join(tempDir(), 'real');
  writeFileSync(mine, 'a-token-of-enough-length-123456\n', { mode: 0o600 });
  const linkDir = tempDir();
  symlinkSync(mine, join(linkDir, 'server-token'));
  expect(reasonOf(await buildServer(makeEngine({ log_dir: linkDir })).catch((e: unknown) => e))).toMatch(
    /symbolic link/,
  );
  // A dangling link is not followed to create a file elsewhere.
  const danglingDir = tempDir();
  const target = join(tempDir(), 'created-through-link');
  symlinkSync(target, join(danglingDir, 'server-token'));
  await expect(buildServer(makeEngine({ log_dir: danglingDir }))).rejects.toBeTruthy();
  expect(existsSync(target)).toBe(false);

  const fifoDir = tempDir();
  expect(spawnSync('mkfifo', [join(fifoDir, 'server-token')]).status).toBe(0);
  expect(reasonOf(await buildServer(makeEngine({ log_dir: fifoDir })).catch((e: unknown) => e))).toMatch(
    /not a regular file/,
  );
});

async function serve(logDir: string, args: string[]) {
  const env = { ...process.env };
  delete env.CLOUDOPS_EXEC_TOKEN;
  const child = spawn(process.execPath, [BIN, '--log-dir', logDir, 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  children.push(child);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await until(() => /serving on/.test(stderr) || child.exitCode !== null, 20_000, 'server started');
  return { child, exited, stderr: () => stderr, url: /serving on (http:\/\/\S+)/.exec(stderr)?.[1] ?? '' };
}

test('serve --token-file keeps the token out of ps and the terminal; a loose file, or with --token, is exit 2', async () => {
  const dir = tempDir();
  const file = join(dir, 'token');
  const token = 'file-token-0123456789abcdef-xyz';
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  const server = await serve(tempDir(), [
    '--token-file',
    file,
    '--approve',
    'none',
    '--allow-env',
    'NODE_OPTIONS',
    '--allow-env',
    'PATH',
  ]);
  expect(server.url).toMatch(/^http:/);
  expect(readFileSync(`/proc/${server.child.pid}/cmdline`, 'utf8')).not.toContain(token);
  // The sign-in line is written after the address: wait for it, then look at all of stderr.
  const signIn = `sign in with the token from ${file}`;
  await until(() => server.stderr().includes(signIn), 5_000, 'the sign-in line on stderr');
  expect(server.stderr()).not.toContain(token);
  expect(server.stderr()).toContain(signIn);
  const health = await fetch(`${server.url}/api/health`, { headers: { authorization: `Bearer ${token}` } });
  expect(health.status).toBe(200);
  // --allow-env reached the server: allowed names pass, others are refused.
  const post = (env: Record<string, string>) =>
    fetch(`${server.url}/api/executions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ command: { type: 'exec', program: 'true', args: [] }, env }),
    });
  expect((await post({ NODE_OPTIONS: '--max-old-space-size=64', PATH: '/usr/bin:/bin' })).status).toBe(202);
  expect(((await (await post({ LD_PRELOAD: '/x.so' })).json()) as any).error.field).toBe('env.LD_PRELOAD');
  server.child.kill('SIGTERM');
  expect(await server.exited).toBe(0);

  chmodSync(file, 0o644);
  const loose = spawnSync(
    process.execPath,
    [BIN, '--log-dir', tempDir(), 'serve', '--port', '0', '--token-file', file],
    { encoding: 'utf8' },
  );
  expect(loose.status).toBe(2);
  expect(loose.stderr).toContain(`chmod 600 ${file}`);
  expect(loose.stderr).not.toContain(token);
  const missing = spawnSync(
    process.execPath,
    [BIN, '--log-dir', tempDir(), 'serve', '--port', '0', '--token-file', join(dir, 'nope')],
    { encoding: 'utf8' },
  );
  expect(missing.status).toBe(2);
  expect(missing.stderr).toContain(join(dir, 'nope'));
  const both = spawnSync(
    process.execPath,
    [BIN, '--log-dir', tempDir(), 'serve', '--port', '0', '--token', token, '--token-file', file],
    { encoding: 'utf8' },
  );
  expect(both.status).toBe(2);
  expect(both.stderr).toContain('--token or --token-file');
});

test('the default log dir is per user: $XDG_STATE_HOME, else ~/.local/state, made 0700; the token and history go there', async () => {
  delete process.env.CLOUDOPS_EXEC_TOKEN;
  const xdg = tempDir();
  process.env.XDG_STATE_HOME = xdg;
  const expected = join(xdg, 'cloudops-execution-engine');
  expect(defaultLogDir()).toBe(expected);
  expect(statSync(expected).mode & 0o777).toBe(0o700);
  const engine = new ExecutionEngine({ kill_grace_ms: 500 });
  try {
    expect(logDirOf(engine.config)).toBe(expected);
    const server = await buildServer(engine);
    await server.close();
    expect(existsSync(join(expected, 'server-token'))).toBe(true);
    expect(existsSync(join(expected, 'history.sqlite'))).toBe(true);
  } finally {
    await engine.shutdown();
    engine.close();
  }

  const home = tempDir();
  delete process.env.XDG_STATE_HOME;
  process.env.HOME = home;
  expect(defaultLogDir()).toBe(join(home, '.local', 'state', 'cloudops-execution-engine'));
  expect(statSync(join(home, '.local', 'state', 'cloudops-execution-engine')).mode & 0o777).toBe(0o700);
  // A relative XDG_STATE_HOME is ignored, as the XDG spec says.
  process.env.XDG_STATE_HOME = 'relative/state';
  expect(defaultLogDir()).toBe(join(home, '.local', 'state', 'cloudops-execution-engine'));
});
