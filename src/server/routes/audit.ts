/** The audit trail over HTTP: who did what, for the people who oversee the server (admins and viewers). */
import { z } from 'zod';
import { ExecutionError } from '../../errors.js';
import { MAX_LIST_LIMIT } from '../../history/store.js';
import { AuditActionSchema, type Role } from '../../vocabulary.js';
import type { ServerContext } from '../context.js';
import { queryInt, type RouteSpec, route } from '../route-spec.js';

/**
 * Narrower than `read`: the trail names every principal and what each did, which is for the
 * people who oversee the server, not for the submitters and approvers it records.
 */
const AUDIT_READERS: readonly Role[] = ['admin', 'viewer'];

export const AuditQuery = z.strictObject({
  /** How many entries (default 100). */
  limit: queryInt(1, MAX_LIST_LIMIT).default(100),
  /** Entries numbered above this one, oldest first (to page forward); without it, the latest `limit`. */
  after: queryInt(0, Number.MAX_SAFE_INTEGER).optional(),
});

export const AuditEntryView = z.object({
  seq: z.number().int(),
  at: z.string(),
  principal: z.string().nullable(),
  action: AuditActionSchema,
  object: z.string().nullable(),
  /** Where the action came from (the client's address, `cli`, …). */
  source: z.string().nullable(),
  detail: z.record(z.string(), z.unknown()),
  prev_hash: z.string(),
  hash: z.string(),
});

export function auditRoutes(ctx: ServerContext): RouteSpec[] {
  return [
    route({
      method: 'GET',
      url: '/api/audit',
      operationId: 'listAudit',
      summary:
        'The audit trail (admins and viewers): who did what, to which object, when and from where, oldest first, each entry chained to the one before by its hash',
      tag: 'server',
      access: 'read',
      query: AuditQuery,
      responses: {
        200: { description: 'Audit entries in order', schema: z.object({ entries: z.array(AuditEntryView) }) },
        400: { description: 'Invalid query; `error.field` names it', schema: 'Error' },
        403: { description: 'The role may not read the audit trail (`Forbidden`)', schema: 'Error' },
      },
      handler: async ({ query, request }) => {
        const { name, role } = request.principal;
        if (!AUDIT_READERS.includes(role)) {
          throw ExecutionError.create('Forbidden', {
            who: `${name} (role ${role})`,
            what: 'read the audit trail (GET /api/audit)',
            needs: `needs role ${AUDIT_READERS.join(' or ')}`,
          });
        }
        return { entries: ctx.audit.list({ limit: query.limit, after: query.after }) };
      },
    }),
  ];
}
