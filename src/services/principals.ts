/**
 * Named principals, each with one role and its own API token. A token reads
 * `cee_<token_id>_<secret>`: the public `token_id` finds the row, and only the sha256 of the
 * secret is stored, compared in constant time. Nothing is cached: every check reads the store,
 * so `auth revoke` from another process takes effect on a running server at once.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { ValidationError } from '../errors.js';
import type { HistoryStore, PrincipalRow } from '../history/store.js';
import { didYouMean } from '../nearest-name.js';
import { ROLES, type Role } from '../vocabulary.js';

export interface Principal {
  name: string;
  role: Role;
  created_at: string;
  created_by: string | null;
  revoked_at: string | null;
}

/** The server's bootstrap token (`--token`, CLOUDOPS_EXEC_TOKEN, or generated) signs in as this admin; never stored. */
export const BOOTSTRAP_PRINCIPAL = 'admin';

const NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;
const TOKEN_PATTERN = /^cee_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** Compared against when no row has the token's id, so an unknown id costs what a known one does. */
const DUMMY_HASH = createHash('sha256').update('no principal has this token').digest();

const sha256 = (text: string): Buffer => createHash('sha256').update(text).digest();

function publicView(row: PrincipalRow): Principal {
  return {
    name: row.name,
    role: row.role,
    created_at: row.created_at,
    created_by: row.created_by,
    revoked_at: row.revoked_at,
  };
}

/** `name` when it can name a principal: lower-case letters, digits, `_.-`, at most 64, not the bootstrap admin's. */
export function checkPrincipalName(name: string): string {
  if (!NAME_PATTERN.test(name)) {
    throw ValidationError.of(
      'InvalidField',
      'name',
      'a principal name is 1 to 64 of a-z, 0-9, "_", "." and "-", starting with a letter or digit',
    );
  }
  if (name === BOOTSTRAP_PRINCIPAL) {
    throw ValidationError.of(
      'InvalidField',
      'name',
      `"${BOOTSTRAP_PRINCIPAL}" is the server's own token (--token / CLOUDOPS_EXEC_TOKEN); choose another name`,
    );
  }
  return name;
}

export function checkRole(role: string): Role {
  if (!(ROLES as readonly string[]).includes(role)) {
    throw ValidationError.of(
      'InvalidField',
      'role',
      `must be one of ${ROLES.join(', ')} (got "${role}")${didYouMean(role, ROLES)}`,
    );
  }
  return role as Role;
}

export class Principals {
  constructor(private readonly store: HistoryStore) {}

  /** A new principal and its token: the token is returned this once and is never stored or shown again. */
  add(name: string, role: string, createdBy: string | null): { principal: Principal; token: string } {
    const row: PrincipalRow = {
      name: checkPrincipalName(name),
      role: checkRole(role),
      token_id: randomBytes(8).toString('hex'),
      token_hash: '',
      created_at: new Date().toISOString(),
      created_by: createdBy,
      revoked_at: null,
    };
    const secret = randomBytes(32).toString('base64url');
    row.token_hash = sha256(secret).toString('hex');
    this.store.insertPrincipal(row);
    return { principal: publicView(row), token: `cee_${row.token_id}_${secret}` };
  }

  /** Every principal, revoked ones included, oldest first; never a token or its hash. */
  list(): Principal[] {
    return this.store.principals().map(publicView);
  }

  /** The principal named `name` while it is not revoked, else null. */
  active(name: string): Principal | null {
    const row = this.store.principal(name);
    return row && row.revoked_at === null ? publicView(row) : null;
  }

  /** Revoke `name`: its token and sessions stop working at once. Revoking twice is refused, naming when. */
  revoke(name: string): Principal {
    const row = this.store.principal(name);
    if (!row) {
      const known = this.store.principals().map((p) => p.name);
      const hint = name === BOOTSTRAP_PRINCIPAL ? ': the bootstrap admin is the server token; change that instead' : '';
      throw ValidationError.of('InvalidField', 'name', `no principal named "${name}"${hint}${didYouMean(name, known)}`);
    }
    if (row.revoked_at !== null)
      throw ValidationError.of('InvalidField', 'name', `principal "${name}" was already revoked at ${row.revoked_at}`);
    this.store.revokePrincipal(name, new Date().toISOString());
    return publicView(this.store.principal(name)!);
  }

  /** The principal a token belongs to, or null (malformed, unknown, wrong secret, or revoked). */
  authenticate(token: string): Principal | null {
    const m = TOKEN_PATTERN.exec(token);
    if (!m) return null;
    const row = this.store.principalByTokenId(m[1]!);
    // One comparison whether or not the id is known: the answer takes as long either way.
    const stored = row ? Buffer.from(row.token_hash, 'hex') : DUMMY_HASH;
    const matches = stored.length === DUMMY_HASH.length && timingSafeEqual(sha256(m[2]!), stored);
    if (!row || !matches || row.revoked_at !== null) return null;
    return publicView(row);
  }
}
