/**
 * Browser sessions: `/login?token=` trades a token for a random session id in an HttpOnly
 * cookie, bound to the principal that signed in. The token itself never sits in the cookie;
 * the session holds a name, and the principal is looked up again on every request (a revoked
 * one's sessions stop at once). Sessions live in memory: a restarted server signs everyone out.
 */
import { createHash, randomBytes } from 'node:crypto';

export const SESSION_COOKIE = 'cloudops_exec_session';
const DEFAULT_TTL_MS = 12 * 60 * 60 * 1000;
/** Sign-ins kept at most; the oldest goes first (a principal signing in in a loop cannot grow memory). */
const MAX_SESSIONS = 10_000;

const keyOf = (id: string) => createHash('sha256').update(id).digest('hex');

export class Sessions {
  /** By the hash of the cookie's value (a lookup's timing tells nothing about a valid id). */
  private readonly sessions = new Map<string, { principal: string; expires: number }>();

  constructor(private readonly ttlMs = DEFAULT_TTL_MS) {}

  /** A new session for `principal`: the value the cookie carries. */
  create(principal: string): string {
    const id = randomBytes(32).toString('base64url');
    if (this.sessions.size >= MAX_SESSIONS) this.sessions.delete(this.sessions.keys().next().value!);
    this.sessions.set(keyOf(id), { principal, expires: Date.now() + this.ttlMs });
    return id;
  }

  /** The principal name a cookie's session is bound to, or null (unknown or expired). */
  principalOf(id: string | undefined): string | null {
    if (id === undefined || id.length > 128) return null;
    const key = keyOf(id);
    const session = this.sessions.get(key);
    if (!session) return null;
    if (session.expires <= Date.now()) {
      this.sessions.delete(key);
      return null;
    }
    return session.principal;
  }
}
