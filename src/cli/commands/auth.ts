/**
 * `auth add | list | revoke`: the principals of the server on this machine, kept in its
 * history store (the same `--log-dir` as `serve` and `history`). A running server looks each
 * token up on every request, so what is done here takes effect there at once.
 */
import { userInfo } from 'node:os';
import { historyPathOf } from '../../config.js';
import { ExecutionError } from '../../errors.js';
import { HistoryStore } from '../../history/store.js';
import { didYouMean } from '../../nearest-name.js';
import { AuditTrail } from '../../services/audit.js';
import { checkPrincipalName, type Principal, Principals } from '../../services/principals.js';
import { printable } from '../../sinks/control-chars.js';
import { ROLES } from '../../vocabulary.js';
import { engineConfig } from '../engine-config.js';
import { CliExit, EXIT } from '../exit.js';
import type { EngineOptions } from '../options.js';
import { openStore } from './history.js';

export interface AuthOptions extends EngineOptions {
  role?: string;
  json?: boolean;
}

/** Who ran the command: the account on this machine (there is no principal on the command line). */
function localUser(): string | null {
  try {
    return userInfo().username;
  } catch {
    return null;
  }
}

/** Run `fn` over the principals of the store, recording what changed in the audit trail; the store is closed after. */
function withPrincipals<T>(store: HistoryStore, fn: (principals: Principals, audit: AuditTrail) => T): T {
  try {
    return fn(new Principals(store), new AuditTrail(store));
  } catch (err) {
    // Naming a principal that exists already is the caller's mistake, as is a bad name.
    if (err instanceof ExecutionError && err.code === 'DuplicateId') throw new CliExit(EXIT.BAD_INPUT, err.message);
    throw err;
  } finally {
    store.close();
  }
}

const write = (line: string) => process.stdout.write(`${line}\n`);

export function authAddCommand(name: string, options: AuthOptions): number {
  const role = options.role;
  if (role === undefined) throw new CliExit(EXIT.BAD_INPUT, `auth add needs --role (one of ${ROLES.join(', ')})`);
  if (!(ROLES as readonly string[]).includes(role)) {
    throw new CliExit(
      EXIT.BAD_INPUT,
      `--role must be one of ${ROLES.join(', ')} (got "${printable(role)}")${didYouMean(role, ROLES)}`,
    );
  }
  checkPrincipalName(name);
  // The first principal may come before the server ever ran: the store is made here then.
  const store = HistoryStore.open(historyPathOf(engineConfig(options)));
  const user = localUser();
  const { principal, token } = withPrincipals(store, (principals, audit) => {
    const added = principals.add(name, role, user);
    audit.record({
      principal: null,
      action: 'principal_added',
      object: name,
      source: 'cli',
      detail: { role, local_user: user },
    });
    return added;
  });
  if (options.json) {
    write(JSON.stringify({ principal, token, token_shown_once: true }));
    return EXIT.OK;
  }
  write(`Added ${principal.name} (role ${principal.role}). Its API token:`);
  write(token);
  write('The token is shown only now (the store keeps only its hash): hand it over safely.');
  write(
    `Use it as "Authorization: Bearer <token>" (or CLOUDOPS_EXEC_TOKEN), or sign in to the dashboard at /login. Revoke it with: cloudops-exec auth revoke ${principal.name}`,
  );
  return EXIT.OK;
}

export function authListCommand(options: AuthOptions): number {
  const list = withPrincipals(openStore(options), (principals) => principals.list());
  if (options.json) {
    write(JSON.stringify(list));
    return EXIT.OK;
  }
  if (list.length === 0) {
    write(
      'no principals yet (the server token signs in as admin); add one with: cloudops-exec auth add NAME --role ROLE',
    );
    return EXIT.OK;
  }
  const rows: string[][] = [
    ['NAME', 'ROLE', 'CREATED', 'BY', 'REVOKED'],
    ...list.map((p: Principal) =>
      [p.name, p.role, p.created_at, p.created_by ?? '-', p.revoked_at ?? '-'].map((v) => printable(v)),
    ),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const row of rows)
    write(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
  return EXIT.OK;
}

export function authRevokeCommand(name: string, options: AuthOptions): number {
  const revoked = withPrincipals(openStore(options), (principals, audit) => {
    const principal = principals.revoke(name);
    audit.record({
      principal: null,
      action: 'principal_revoked',
      object: name,
      source: 'cli',
      detail: { role: principal.role, local_user: localUser() },
    });
    return principal;
  });
  if (options.json) {
    write(JSON.stringify(revoked));
    return EXIT.OK;
  }
  write(
    `Revoked ${printable(revoked.name)} at ${revoked.revoked_at}: its token and browser sessions stop working at once.`,
  );
  return EXIT.OK;
}
