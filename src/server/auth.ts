/**
 * One bearer token guards every route and the sockets. Scripts send it as
 * `Authorization: Bearer <token>`; a browser trades it once at `/login?token=` for an
 * HttpOnly, SameSite=Strict cookie, so the page, `fetch`, EventSource and WebSocket (which
 * cannot set headers) all carry it without the token living in page script. Requests
 * carrying only the cookie must come from the server's own origin.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ValidationError } from '../errors.js';
import { loginPage } from './login-page.js';

export const TOKEN_COOKIE = 'cloudops_exec_token';
export const TOKEN_ENV = 'CLOUDOPS_EXEC_TOKEN';
const MIN_TOKEN_LENGTH = 16;

export interface ResolvedToken {
  token: string;
  /** Where it came from: `option`, `env` (CLOUDOPS_EXEC_TOKEN), `file` (an earlier start), `generated` (now, saved to the file). */
  source: 'option' | 'env' | 'file' | 'generated';
}

/** Long enough not to be guessed, and no whitespace (it travels in a header and a cookie). `field` names where it came from. */
export function checkToken(token: string, field: string): string {
  if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
    throw ValidationError.of(
      'InvalidField',
      field,
      `an API token needs at least ${MIN_TOKEN_LENGTH} characters and no whitespace`,
    );
  }
  return token;
}

export interface TokenFileOptions {
  /** Follow a symbolic link (a file the operator named); the default token file never is one. */
  followSymlinks?: boolean;
  /** The option or setting that named the file, for the error. */
  field?: string;
}

/**
 * The token in `path`, or null when there is no such file. Whoever can write the file chooses
 * the token, and whoever can read it has it: a file that is not a regular file owned by this
 * user, or that group or others may read or write, is refused, naming the fix. Checked on the
 * opened file (no swap between check and read); opened non-blocking so a FIFO cannot hang us.
 */
export function readTokenFile(path: string, options: TokenFileOptions = {}): string | null {
  const field = options.field ?? 'tokenFile';
  const flags = constants.O_RDONLY | constants.O_NONBLOCK | (options.followSymlinks ? 0 : constants.O_NOFOLLOW);
  let fd: number;
  try {
    fd = openSync(path, flags);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP')
      throw ValidationError.of(
        'InvalidField',
        field,
        `token file ${path} is a symbolic link; the server's own token file never is one: remove it`,
      );
    throw ValidationError.of('InvalidField', field, `cannot read token file ${path}: ${(err as Error).message}`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw ValidationError.of('InvalidField', field, `token file ${path} is not a regular file`);
    const uid = process.getuid?.();
    if (uid !== undefined && stat.uid !== uid) {
      throw ValidationError.of(
        'InvalidField',
        field,
        `token file ${path} is owned by uid ${stat.uid}, not by this user (uid ${uid}): another user could have chosen the token. Remove it (a new one is generated) or write your own, then chmod 600 ${path}`,
      );
    }
    if ((stat.mode & 0o077) !== 0) {
      throw ValidationError.of(
        'InvalidField',
        field,
        `token file ${path} is readable or writable by group or others (mode ${(stat.mode & 0o777).toString(8).padStart(4, '0')}): run chmod 600 ${path}`,
      );
    }
    return readFileSync(fd, 'utf8').trim();
  } finally {
    closeSync(fd);
  }
}

/** Create `path` (which must not exist yet, not even as a dangling link) holding `token`, mode 0600. */
function writeNewTokenFile(path: string, token: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
  try {
    writeFileSync(fd, `${token}\n`);
  } finally {
    closeSync(fd);
  }
}

/** The token given, else the environment's, else the one saved at first start, else a new one saved for next time. */
export function resolveToken(given: string | null | undefined, tokenFile: string): ResolvedToken {
  if (given) return { token: checkToken(given, 'token'), source: 'option' };
  const fromEnv = process.env[TOKEN_ENV];
  if (fromEnv) return { token: checkToken(fromEnv, TOKEN_ENV), source: 'env' };
  const saved = readTokenFile(tokenFile);
  if (saved) return { token: checkToken(saved, tokenFile), source: 'file' };
  const token = randomBytes(32).toString('base64url');
  // An empty file of ours (checked above) is replaced: O_EXCL below refuses anything already there.
  if (saved === '') rmSync(tokenFile);
  writeNewTokenFile(tokenFile, token);
  return { token, source: 'generated' };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/** Constant-time comparison (hashing first makes the lengths equal). */
export function tokenMatches(candidate: string | undefined, token: string): boolean {
  return candidate !== undefined && timingSafeEqual(digest(candidate), digest(token));
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m?.[1];
}

/** Same-origin check for cookie-only requests (a page elsewhere cannot ride on the cookie). */
function sameOrigin(request: FastifyRequest): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true; // not a browser cross-origin request
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

function refuse(request: FastifyRequest, reply: FastifyReply, message: string, status = 401): FastifyReply {
  reply.code(status).header('cache-control', 'no-store');
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="cloudops-exec"');
  // A person opening the dashboard gets a page to paste the token into; programs get JSON.
  if (request.method === 'GET' && (request.headers.accept ?? '').includes('text/html')) {
    return reply.type('text/html; charset=utf-8').send(loginPage(message));
  }
  return reply.send({ error: { code: status === 401 ? 'Unauthorized' : 'Forbidden', message } });
}

/** A base no request can name, so `next` resolving to it means a path on this server. */
const SAME_ORIGIN = 'http://same.invalid';

/**
 * Where `/login` may send the browser: a path on this server, else `/`. Browsers read a
 * Location of `//host`, `/\host` (backslash is a slash to them) or one with tabs and newlines
 * dropped as another site, and resolve dot segments first (`/.//host` is `//host`). So only
 * printable ASCII starting with one `/` is taken, with no backslash and no encoded slash,
 * backslash or control character, and the path as resolved must still not start with `//`.
 */
export function sameOriginPath(raw: unknown): string {
  if (typeof raw !== 'string' || raw.length > 2048) return '/';
  if (!/^\/[!-~]*$/.test(raw) || raw.startsWith('//') || raw.includes('\\')) return '/';
  if (/%(2f|5c|[01][0-9a-f]|7f)/i.test(raw)) return '/';
  if (!URL.canParse(raw, SAME_ORIGIN)) return '/';
  const target = new URL(raw, SAME_ORIGIN);
  if (target.origin !== SAME_ORIGIN) return '/';
  const path = target.pathname + target.search + target.hash;
  return path.startsWith('/') && !path.startsWith('//') && !path.startsWith('/\\') ? path : '/';
}

export function registerAuth(app: FastifyInstance, token: string): void {
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0];
    if (path === '/login') return; // checks the token itself
    const bearer = bearerOf(request);
    if (bearer !== undefined) {
      if (tokenMatches(bearer, token)) return;
      return refuse(request, reply, 'Invalid API token');
    }
    if (tokenMatches(request.cookies[TOKEN_COOKIE], token)) {
      if (sameOrigin(request)) return;
      return refuse(request, reply, 'Cross-origin request refused', 403);
    }
    return refuse(
      request,
      reply,
      `Missing API token: send "Authorization: Bearer <token>" (printed by cloudops-exec serve, or set ${TOKEN_ENV})`,
    );
  });

  // The browser's way in: the token once in the URL, then a cookie and a redirect that drops it.
  app.get('/login', { schema: { hide: true } as object }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const candidate = typeof query.token === 'string' ? query.token : undefined;
    if (!tokenMatches(candidate, token))
      return refuse(request, reply, candidate === undefined ? 'Enter the API token' : 'Invalid API token');
    const next = sameOriginPath(query.next);
    reply.setCookie(TOKEN_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'strict' });
    return reply.code(303).header('cache-control', 'no-store').redirect(next);
  });
}
