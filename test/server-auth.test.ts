/** The server's front door: token, cookie login, origin check, loopback binding, request limits. */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import WebSocket from 'ws';
import { ValidationError } from '../src/index.js';
import { buildServer, startServer } from '../src/server/index.js';
import { makeEngine, tempDir } from './helpers.js';
import { startTestServer, TOKEN } from './support/server.js';

const savedEnv = process.env.CLOUDOPS_EXEC_TOKEN;
afterEach(() => {
  if (savedEnv === undefined) delete process.env.CLOUDOPS_EXEC_TOKEN;
  else process.env.CLOUDOPS_EXEC_TOKEN = savedEnv;
});

const SOME_ID = '00000000-0000-4000-8000-00000000abcd';

test('every documented route refuses a request without the token, or with a wrong one', async () => {
  const { url, api } = await startTestServer();
  const doc = (await api('GET', '/api/openapi.json')).body;
  const operations = Object.entries(doc.paths as Record<string, Record<string, unknown>>).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => [method.toUpperCase(), path.replace('{id}', SOME_ID)] as const),
  );
  expect(operations.length).toBeGreaterThanOrEqual(17);
  for (const [method, path] of [
    ...operations,
    ['GET', '/'],
    ['GET', '/assets/app.js'],
    ['GET', '/api/no-such-route'],
  ] as const) {
    for (const headers of [
      {},
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: `Basic ${TOKEN}` },
    ] as Array<Record<string, string>>) {
      const response = await fetch(`${url}${path}`, {
        method,
        headers: { ...headers, ...(method === 'POST' ? { 'content-type': 'application/json' } : {}) },
        body: method === 'POST' ? '{}' : undefined,
      });
      expect(response.status, `${method} ${path} with ${JSON.stringify(headers)}`).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
  }
});

test('the WebSocket handshake is refused without the token', async () => {
  const { url } = await startTestServer();
  const status = await new Promise<number>((resolve) => {
    const socket = new WebSocket(`${url.replace('http', 'ws')}/api/ws`);
    socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    socket.on('open', () => resolve(101));
    socket.on('error', () => {});
  });
  expect(status).toBe(401);
});

test('a browser without the token gets a sign-in page; /login trades the token for a strict HttpOnly cookie', async () => {
  const { url } = await startTestServer();
  const page = await fetch(`${url}/`, { headers: { accept: 'text/html' } });
  expect(page.status).toBe(401);
  expect(await page.text()).toContain('<form method="get" action="/login">');

  expect((await fetch(`${url}/login?token=not-the-token`, { redirect: 'manual' })).status).toBe(401);
  const login = await fetch(`${url}/login?token=${TOKEN}`, { redirect: 'manual' });
  expect(login.status).toBe(303);
  expect(login.headers.get('location')).toBe('/');
  const cookie = login.headers.get('set-cookie')!;
  expect(cookie).toMatch(/HttpOnly/i);
  expect(cookie).toMatch(/SameSite=Strict/i);
  const jar = cookie.split(';')[0]!;

  const withCookie = await fetch(`${url}/api/health`, { headers: { cookie: jar } });
  expect(withCookie.status).toBe(200);
  const dashboard = await fetch(`${url}/`, { headers: { cookie: jar } });
  expect(dashboard.status).toBe(200);
  expect(dashboard.headers.get('content-security-policy')).toContain("script-src 'self'");
  // A page on another origin cannot ride on the cookie.
  const crossSite = await fetch(`${url}/api/plans`, {
    method: 'POST',
    headers: { cookie: jar, origin: 'http://evil.example', 'content-type': 'application/json' },
    body: JSON.stringify({ commands: [{ command: { type: 'shell', command: 'touch /tmp/pwned' } }] }),
  });
  expect(crossSite.status).toBe(403);
  // An open redirect is not offered.
  const offsite = await fetch(`${url}/login?token=${TOKEN}&next=//evil.example/`, { redirect: 'manual' });
  expect(offsite.headers.get('location')).toBe('/');
});

test('a sign-in link followed from another site signs nobody in until the person confirms who as (login CSRF)', async () => {
  const { url } = await startTestServer();
  const link = `${url}/login?token=${TOKEN}&next=/%23/approvals`;
  const fromElsewhere = await fetch(link, { redirect: 'manual', headers: { 'sec-fetch-site': 'cross-site' } });
  expect(fromElsewhere.status).toBe(200);
  expect(fromElsewhere.headers.get('set-cookie')).toBeNull();
  // The confirmation cannot be framed (a hidden frame could trick the click).
  expect(fromElsewhere.headers.get('x-frame-options')).toBe('DENY');
  expect(fromElsewhere.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
  const page = await fromElsewhere.text();
  expect(page).toContain('asks to sign this browser in as <strong>admin (admin)</strong>');
  expect(page).toContain('<input type="hidden" name="next" value="/#/approvals">');
  // The confirmation is a form on this server: submitting it is a same-origin request, which signs in.
  const confirmed = await fetch(link, { redirect: 'manual', headers: { 'sec-fetch-site': 'same-origin' } });
  expect(confirmed.status).toBe(303);
  expect(confirmed.headers.get('set-cookie')).toMatch(/^cloudops_exec_session=/);
  // Typed into the address bar (or opened from a terminal): no confirmation needed.
  const typed = await fetch(link, { redirect: 'manual', headers: { 'sec-fetch-site': 'none' } });
  expect(typed.status).toBe(303);
});

test('binds to 127.0.0.1 by default', async () => {
  const { server } = await startTestServer();
  expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect((server.app.server.address() as { address: string }).address).toBe('127.0.0.1');
});

test('the token is generated at first start, saved with mode 0600, and reused at the next start', async () => {
  delete process.env.CLOUDOPS_EXEC_TOKEN;
  const logDir = tempDir();
  const first = await buildServer(makeEngine({ log_dir: logDir }));
  await first.close();
  expect(first.token.source).toBe('generated');
  expect(first.token.token.length).toBeGreaterThanOrEqual(32);
  const file = join(logDir, 'server-token');
  expect(readFileSync(file, 'utf8').trim()).toBe(first.token.token);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  const second = await buildServer(makeEngine({ log_dir: logDir }));
  await second.close();
  expect(second.token).toEqual({ token: first.token.token, source: 'file' });
});

test('CLOUDOPS_EXEC_TOKEN is used when set; a short token is refused, naming where it came from', async () => {
  process.env.CLOUDOPS_EXEC_TOKEN = 'env-token-0123456789abcdef';
  const fromEnv = await buildServer(makeEngine());
  await fromEnv.close();
  expect(fromEnv.token).toEqual({ token: 'env-token-0123456789abcdef', source: 'env' });
  process.env.CLOUDOPS_EXEC_TOKEN = 'short';
  await expect(buildServer(makeEngine())).rejects.toMatchObject({ field: 'CLOUDOPS_EXEC_TOKEN' });
  await expect(buildServer(makeEngine(), { token: 'also short' })).rejects.toMatchObject({ field: 'token' });
});

test('a server needs the history store, and says so', async () => {
  const err = await buildServer(makeEngine({ store_history: false })).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ValidationError);
  expect(err).toMatchObject({ field: 'config.store_history' });
});

test('an oversized body gets 413, malformed JSON and empty bodies 400, other content types 415', async () => {
  const { api } = await startTestServer({}, { bodyLimit: 4096 });
  const big = { commands: [{ command: { type: 'shell', command: `echo ${'x'.repeat(5000)}` } }] };
  const tooLarge = await api('POST', '/api/plans', big);
  expect(tooLarge.status).toBe(413);
  expect(tooLarge.body.error.code).toBe('PayloadTooLarge');

  const malformed = await api('POST', '/api/plans', '{"commands": [');
  expect(malformed.status).toBe(400);
  expect(malformed.body.error).toMatchObject({ code: 'Validation', field: '' });
  expect(malformed.body.error.message).toMatch(/JSON/);

  const empty = await api('POST', '/api/plans', '');
  expect(empty.status).toBe(400);

  // YAML is read on the submit routes (an empty plan is a 400 naming the field); other types are 415.
  const yaml = await api('POST', '/api/plans', 'commands: []', { 'content-type': 'text/yaml' });
  expect(yaml.status).toBe(400);
  expect(yaml.body.error.field).toBe('commands');
  const text = await api('POST', '/api/plans', '<commands/>', { 'content-type': 'application/xml' });
  expect(text.status).toBe(415);
});

test('a port in use is reported, not thrown as an unhandled error', async () => {
  const { server } = await startTestServer();
  const port = Number(new URL(server.url).port);
  await expect(startServer(makeEngine(), { port, token: TOKEN })).rejects.toMatchObject({ code: 'EADDRINUSE' });
});
