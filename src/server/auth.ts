/**
 * Every request acts as a principal: the server's bootstrap token is the `admin`, and each
 * principal added with `cloudops-exec auth add` has its own token. Scripts send it as
 * `Authorization: Bearer <token>`; a browser trades it once at `/login?token=` for a session
 * in an HttpOnly, SameSite=Strict cookie, so the page, `fetch`, EventSource and WebSocket (which
 * cannot set headers) all carry it without the token living in page script. Requests
 * carrying only the cookie must come from the server's own origin. Then the route's declared
 * access is checked against the principal's role, before the route sees the request.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { closeSync, constants, fstatSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ValidationError } from '../errors.js';
import { BOOTSTRAP_PRINCIPAL, type Principals } from '../services/principals.js';
import { type Access, allows, forbiddenAccess, type RequestPrincipal } from './access.js';
import { httpErrorOf } from './http-errors.js';
import { confirmSignInPage, LOGIN_PAGE_HEADERS, loginPage } from './login-page.js';
import { SESSION_COOKIE, type Sessions } from './sessions.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who sent the request: set on every request that reaches a route (all but `/login`). */
    principal: RequestPrincipal;
    /**
     * Who the request's token or session stands for now (null once the principal is revoked or
     * the session ended): a long-lived stream asks again on each heartbeat, not only at the handshake.
     */
    currentPrincipal: () => RequestPrincipal | null;
  }
  interface FastifyContextConfig {
    /** What the route needs (see access.ts); a route without it is for admins only. */
    access?: Access;
  }
}

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

/** The token of an `Authorization: Bearer <token>` header (one token, nothing after it), else undefined. */
export function bearerOf(request: FastifyRequest): string | undefined {
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
    return reply.headers(LOGIN_PAGE_HEADERS).type('text/html; charset=utf-8').send(loginPage(message));
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

export interface AuthOptions {
  /** The server's own token: the bootstrap `admin`. */
  token: string;
  principals: Principals;
  sessions: Sessions;
  /** Told of each browser sign-in (for the audit trail); `source` is the client's address. */
  onSignIn?: (principal: RequestPrincipal, source: string) => void;
}

const BOOTSTRAP: RequestPrincipal = Object.freeze({ name: BOOTSTRAP_PRINCIPAL, role: 'admin' });

/** The principal a token belongs to: the bootstrap admin, a principal that is not revoked, or null. */
function principalOfToken(options: AuthOptions, token: string): RequestPrincipal | null {
  if (tokenMatches(token, options.token)) return BOOTSTRAP;
  const principal = options.principals.authenticate(token);
  return principal ? { name: principal.name, role: principal.role } : null;
}

/** The principal a session cookie is bound to while that principal may still sign in, or null. */
function principalOfSession(options: AuthOptions, cookie: string | undefined): RequestPrincipal | null {
  const name = options.sessions.principalOf(cookie);
  if (name === null) return null;
  if (name === BOOTSTRAP_PRINCIPAL) return BOOTSTRAP;
  const principal = options.principals.active(name);
  return principal ? { name: principal.name, role: principal.role } : null;
}

export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  app.decorateRequest('principal', null as unknown as RequestPrincipal);
  app.decorateRequest('currentPrincipal', null as unknown as () => RequestPrincipal | null);
  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0];
    if (path === '/login') return; // checks the token itself
    const bearer = bearerOf(request);
    let principal: RequestPrincipal | null;
    if (bearer !== undefined) {
      principal = principalOfToken(options, bearer);
      if (!principal) return refuse(request, reply, 'Invalid API token');
      request.currentPrincipal = () => principalOfToken(options, bearer);
    } else {
      const cookie = request.cookies[SESSION_COOKIE];
      principal = principalOfSession(options, cookie);
      if (!principal) {
        return refuse(
          request,
          reply,
          cookie === undefined
            ? `Missing API token: send "Authorization: Bearer <token>" (printed by cloudops-exec serve or cloudops-exec auth add, or set ${TOKEN_ENV})`
            : 'Your session has ended; sign in again',
        );
      }
      if (!sameOrigin(request)) return refuse(request, reply, 'Cross-origin request refused', 403);
      request.currentPrincipal = () => principalOfSession(options, cookie);
    }
    request.principal = principal;
    // A path no route answers is told so (404) to anyone signed in; a route that declares no access is admins' only.
    if (request.is404) return;
    const access = request.routeOptions.config.access ?? 'admin';
    if (!allows(principal.role, access)) {
      const { status, body } = httpErrorOf(forbiddenAccess(principal, access, `${request.method} ${path}`));
      return reply.code(status).header('cache-control', 'no-store').send(body);
    }
  });

  // The browser's way in: the token once in the URL, then a session cookie and a redirect that drops it.
  app.get('/login', { schema: { hide: true } as object }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const candidate = typeof query.token === 'string' ? query.token : undefined;
    const principal = candidate === undefined ? null : principalOfToken(options, candidate);
    if (!principal)
      return refuse(request, reply, candidate === undefined ? 'Enter your API token' : 'Invalid API token');
    const next = sameOriginPath(query.next);
    // A link on another site (login CSRF): the person confirms on our page before the cookie is set.
    const site = request.headers['sec-fetch-site'];
    if (site === 'cross-site' || site === 'same-site') {
      return reply
        .code(200)
        .header('cache-control', 'no-store')
        .headers(LOGIN_PAGE_HEADERS)
        .type('text/html; charset=utf-8')
        .send(confirmSignInPage(principal, candidate as string, next));
    }
    options.onSignIn?.(principal, request.ip);
    reply.setCookie(SESSION_COOKIE, options.sessions.create(principal.name), {
      path: '/',
      httpOnly: true,
      sameSite: 'strict',
    });
    return reply.code(303).header('cache-control', 'no-store').redirect(next);
  });
}
