/** Who may sign in: the principals, for admins (they are added and revoked with `cloudops-exec auth` on the server's machine). */
import { z } from 'zod';
import { BOOTSTRAP_PRINCIPAL } from '../../services/principals.js';
import { RoleSchema } from '../../vocabulary.js';
import type { ServerContext } from '../context.js';
import { type RouteSpec, route } from '../route-spec.js';

export const PrincipalView = z.object({
  name: z.string(),
  role: RoleSchema,
  created_at: z.string(),
  created_by: z.string().nullable(),
  revoked_at: z.string().nullable(),
});

export function principalRoutes(ctx: ServerContext): RouteSpec[] {
  return [
    route({
      method: 'GET',
      url: '/api/principals',
      operationId: 'listPrincipals',
      summary: `Every principal with its role, revoked ones too (never a token); the server's own token is \`${BOOTSTRAP_PRINCIPAL}\`, not listed`,
      tag: 'server',
      access: 'admin',
      responses: {
        200: { description: 'The principals', schema: z.object({ principals: z.array(PrincipalView) }) },
        403: { description: 'Not an admin (`Forbidden`)', schema: 'Error' },
      },
      handler: async () => ({ principals: ctx.principals.list() }),
    }),
  ];
}
