/** `cloudops-execution-engine/server`: the HTTP + WebSocket server and dashboard (kept apart so the core does not load fastify). */
export { buildServer, startServer, DEFAULT_PORT, type RunningServer, type ServerOptions } from './server.js';
export { TOKEN_ENV, type ResolvedToken } from './auth.js';
export type { ErrorBody } from './http-errors.js';
