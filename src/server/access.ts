/**
 * What each role may do. Every route declares the access it needs (its RouteSpec's `access`);
 * the auth hook refuses a principal whose role lacks it before the route sees the request.
 */
import { ExecutionError } from '../errors.js';
import { ROLES, type Role } from '../vocabulary.js';

/**
 * `read`: look at anything; `submit`: start work (or ask for its approval); `cancel`: stop or roll
 * back work (a submitter only its own); `decide`: approve or reject; `admin`: manage the server.
 */
export type Access = 'read' | 'submit' | 'cancel' | 'decide' | 'admin';

/** The signed-in identity a request acts as. */
export interface RequestPrincipal {
  name: string;
  role: Role;
}

const ROLE_ACCESS: Record<Role, readonly Access[]> = {
  viewer: ['read'],
  submitter: ['read', 'submit', 'cancel'],
  approver: ['read', 'decide', 'cancel'],
  admin: ['read', 'submit', 'cancel', 'decide', 'admin'],
};

const ACCESS_WORDS: Record<Access, string> = {
  read: 'read',
  submit: 'submit work',
  cancel: 'cancel or roll back work',
  decide: 'decide approvals',
  admin: 'do what only an admin may',
};

export function allows(role: Role, access: Access): boolean {
  return ROLE_ACCESS[role].includes(access);
}

/** The roles that have `access`, in the vocabulary's order. */
export function rolesWith(access: Access): Role[] {
  return ROLES.filter((role) => allows(role, access));
}

const orList = (words: readonly string[]) =>
  words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words.at(-1)}`;

/** 403 `Forbidden`: `principal` lacks `access` for `action` (`POST /api/plans`, say). */
export function forbiddenAccess(principal: RequestPrincipal, access: Access, action: string): ExecutionError {
  return ExecutionError.create('Forbidden', {
    who: `${principal.name} (role ${principal.role})`,
    what: `${ACCESS_WORDS[access]} (${action})`,
    needs: `needs role ${orList(rolesWith(access))}`,
  });
}

/**
 * May `principal` cancel or roll back work submitted by `owner` (null: not submitted over HTTP,
 * or before submitters were recorded)? Submitters only their own; approvers and admins anything.
 */
export function assertMayCancel(principal: RequestPrincipal, id: string, owner: string | null): void {
  if (!allows(principal.role, 'cancel')) throw forbiddenAccess(principal, 'cancel', id);
  if (principal.role !== 'submitter' || owner === principal.name) return;
  throw ExecutionError.create('Forbidden', {
    who: `${principal.name} (role ${principal.role})`,
    what: `cancel or roll back ${id}`,
    needs: `${owner === null ? 'no submitter is recorded for it' : `it was submitted by ${owner}`}; a submitter may only stop its own work (an approver or admin may stop any)`,
  });
}
