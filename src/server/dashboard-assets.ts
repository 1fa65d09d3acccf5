/**
 * The web dashboard: a few static files (no build step), read once at start and served
 * from memory behind the same token as the API, with a strict Content-Security-Policy.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

/** Next to this module: `src/server/dashboard` under tests, `dist/server/dashboard` when built. */
export const DASHBOARD_DIR = fileURLToPath(new URL('./dashboard/', import.meta.url));

export function registerDashboard(app: FastifyInstance, dir = DASHBOARD_DIR): void {
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type) files.set(name, { body: readFileSync(join(dir, name)), type });
  }
  const index = files.get('index.html');
  if (!index) throw new Error(`dashboard files missing: no index.html in ${dir}`);

  // Anyone signed in may load the page; what it shows and does is up to the API's own checks.
  const read = { config: { access: 'read' as const } };
  app.get('/', read, async (_request, reply) =>
    reply.headers(SECURITY_HEADERS).header('cache-control', 'no-cache').type(index.type).send(index.body),
  );
  app.get('/assets/:name', read, async (request, reply) => {
    const file = files.get((request.params as { name: string }).name);
    if (!file) return reply.code(404).send({ error: { code: 'NotFound', message: 'No such dashboard file' } });
    return reply.headers(SECURITY_HEADERS).header('cache-control', 'no-cache').type(file.type).send(file.body);
  });
}
