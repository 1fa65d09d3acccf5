/** `cloudops-execution-engine/server`: the HTTP + WebSocket server and dashboard (kept apart so the core does not load fastify). */

export { type ResolvedToken, TOKEN_ENV } from './auth.js';
export type { ErrorBody } from './http-errors.js';
export { buildServer, DEFAULT_PORT, type RunningServer, type ServerOptions, startServer } from './server.js';
