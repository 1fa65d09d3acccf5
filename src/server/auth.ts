/**
 * One bearer token guards every route and the sockets. Scripts send it as
 * `Authorization: Bearer <token>`; a browser trades it once at `/login?token=` for an
 * HttpOnly, SameSite=Strict cookie, so the page, `fetch`, EventSource and WebSocket (which
 * cannot set headers) all carry it without the token living in page script. Requests
 * carrying only the cookie must come from the server's own origin.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

/** The token given, else the environment's, else the one saved at first start, else a new one saved for next time. */
export function resolveToken(given: string | null | undefined, tokenFile: string): ResolvedToken {
  const check = (token: string, field: string) => {
    if (token.length < MIN_TOKEN_LENGTH || /\s/.test(token)) {
      throw ValidationError.of('InvalidField', field, `an API token needs at least ${MIN_TOKEN_LENGTH} characters and no whitespace`);
    }
    return token;
  };
  if (given) return { token: check(given, 'token'), source: 'option' };
  const fromEnv = process.env[TOKEN_ENV];
  if (fromEnv) return { token: check(fromEnv, TOKEN_ENV), source: 'env' };
  try {
    const saved = readFileSync(tokenFile, 'utf8').trim();
    if (saved) return { token: check(saved, tokenFile), source: 'file' };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = randomBytes(32).toString('base64url');
  mkdirSync(dirname(tokenFile), { recursive: true });
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  chmodSync(tokenFile, 0o600); // an existing empty file keeps its old mode otherwise
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
    return refuse(request, reply, `Missing API token: send "Authorization: Bearer <token>" (printed by cloudops-exec serve, or set ${TOKEN_ENV})`);
  });

  // The browser's way in: the token once in the URL, then a cookie and a redirect that drops it.
  app.get('/login', { schema: { hide: true } as object }, async (request, reply) => {
    const query = request.query as Record<string, unknown>;
    const candidate = typeof query.token === 'string' ? query.token : undefined;
    if (!tokenMatches(candidate, token)) return refuse(request, reply, candidate === undefined ? 'Enter the API token' : 'Invalid API token');
    let next = '/';
    // Resolved the way a browser would (`\` is `/`, CR/LF/tab dropped): only a path on this server is followed.
    const target = typeof query.next === 'string' && URL.canParse(query.next, SAME_ORIGIN) ? new URL(query.next, SAME_ORIGIN) : null;
    if (target?.origin === SAME_ORIGIN) next = target.pathname + target.search + target.hash;
    reply.setCookie(TOKEN_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'strict' });
    return reply.code(303).header('cache-control', 'no-store').redirect(next);
  });
}
