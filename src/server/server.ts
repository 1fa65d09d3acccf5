/**
 * `cloudops-exec serve`: the HTTP API, live events and the dashboard, as a thin adapter
 * over one engine. Everything the server knows comes from the engine and its history, so
 * the server adds no state of its own beyond the approvals waiting for a human.
 */

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import cookie from '@fastify/cookie';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import { z } from 'zod';
import { logDirOf } from '../config.js';
import type { ExecutionEngine } from '../engine/engine.js';
import { ValidationError } from '../errors.js';
import { redactData } from '../policy/redact-data.js';
import { type ApprovalGateInput, ApprovalQueue } from '../services/approval-queue.js';
import { AuditTrail } from '../services/audit.js';
import { Principals } from '../services/principals.js';
import { printable } from '../sinks/control-chars.js';
import { RoleSchema } from '../vocabulary.js';
import type { RequestPrincipal } from './access.js';
import { type ResolvedToken, registerAuth, resolveToken } from './auth.js';
import type { ServerContext } from './context.js';
import { registerDashboard } from './dashboard-assets.js';
import { DEFAULT_PORT } from './default-port.js';
import { httpErrorOf } from './http-errors.js';
import { MCP_PATH, registerMcp } from './mcp/route.js';
import { openApiDocument } from './openapi.js';
import { type RouteSpec, registerRoutes, route } from './route-spec.js';
import { approvalRoutes } from './routes/approvals.js';
import { auditRoutes } from './routes/audit.js';
import { eventRoutes, registerEventSocket, WS_OPTIONS } from './routes/events.js';
import { executionRoutes } from './routes/executions.js';
import { principalRoutes } from './routes/principals.js';
import { vocabularyRoutes } from './routes/vocabulary.js';
import { Sessions } from './sessions.js';
import { registerYamlBody } from './yaml-body.js';

export interface ServerOptions {
  /** Default 127.0.0.1: reachable from this machine only. */
  host?: string;
  /** Default 8787; 0 picks a free port. */
  port?: number;
  /**
   * The server's own API token, which signs in as the bootstrap principal `admin`; default
   * CLOUDOPS_EXEC_TOKEN, else the one saved in `tokenFile`, else a new one saved there. Other
   * principals have their own tokens (`cloudops-exec auth add`).
   */
  token?: string | null;
  /**
   * Where the token is kept: read from there when it exists (it must be a file of this user's
   * that group and others cannot read or write), else generated there with mode 0600.
   * Default `<log_dir>/server-token`.
   */
  tokenFile?: string;
  /** Largest request body in bytes; default 1 MiB. Larger requests get 413. */
  bodyLimit?: number;
  /**
   * Environment variables that change what a program loads or runs (`PATH`, `LD_PRELOAD`,
   * `NODE_OPTIONS`, …) are refused in requests sent over HTTP; these names are accepted
   * anyway (exact names). The approval policy still judges such commands.
   */
  allow_env?: readonly string[];
  /**
   * The approval gate: distinct approvers per risk level (default modify 1, destructive 2), how
   * long a pending approval waits (`ttl_ms`, default 24 h), and how old a dry run may be when the
   * last approval arrives before it is run again (`dry_run_max_age_ms`, default 15 min).
   */
  approvals?: ApprovalGateInput;
  /** How often open event streams are kept alive and their principal checked again; default 15 s. */
  heartbeatMs?: number;
  /** How long a browser stays signed in after `/login`; default 12 h. */
  sessionTtlMs?: number;
  /**
   * Called with one line per finished request (`requestLogLine`): `cloudops-exec serve` prints
   * them unless `--quiet`. Never holds a token: no query string, no header.
   */
  requestLog?: (line: string) => void;
}

/**
 * One request in the common log format's order: client, principal (`-` before sign-in), time,
 * method and path (without the query string, which may hold a token: `/login?token=`), status,
 * bytes sent, and how long it took.
 */
export function requestLogLine(entry: {
  ip: string;
  principal: string | null;
  at: Date;
  method: string;
  path: string;
  status: number;
  bytes: string | null;
  durationMs: number;
}): string {
  const path = printable(entry.path.split('?')[0] ?? '');
  return `${entry.ip} - ${entry.principal ? printable(entry.principal) : '-'} [${entry.at.toISOString()}] "${entry.method} ${path}" ${entry.status} ${entry.bytes ?? '-'} ${entry.durationMs.toFixed(1)}ms`;
}

export interface RunningServer {
  /** `http://host:port`. */
  url: string;
  token: ResolvedToken;
  app: FastifyInstance;
  approvals: ApprovalQueue;
  /** Stop accepting requests and end open event streams (the engine is left to its owner). */
  close(): Promise<void>;
}

export { DEFAULT_PORT };

const WhoAmI = z.object({ name: z.string(), role: RoleSchema });
const DEFAULT_BODY_LIMIT = 1024 * 1024;

const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

/** Build the server without listening (tests can `inject`, the CLI listens). */
export async function buildServer(
  engine: ExecutionEngine,
  options: ServerOptions = {},
): Promise<Omit<RunningServer, 'url'>> {
  const history = engine.history;
  if (!history) {
    throw ValidationError.of(
      'InvalidField',
      'config.store_history',
      'the server lists and replays executions from the history store; it needs store_history: true and a writable log_dir',
    );
  }
  const bodyLimit = options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  if (!Number.isInteger(bodyLimit) || bodyLimit < 1024)
    throw ValidationError.of('InvalidField', 'bodyLimit', 'must be an integer of at least 1024 bytes');
  const allowEnv = new Set<string>();
  (options.allow_env ?? []).forEach((name, i) => {
    if (typeof name !== 'string' || name === '' || name.includes('=') || name.includes('\0')) {
      throw ValidationError.of(
        'InvalidField',
        `allow_env[${i}]`,
        'must be an environment variable name (not empty, no "=" or NUL)',
      );
    }
    allowEnv.add(name);
  });
  const token = resolveToken(options.token, options.tokenFile ?? join(logDirOf(engine.config), 'server-token'));

  const app = Fastify({ bodyLimit, logger: false, return503OnClosing: true });
  const closers = new Set<() => void>();
  const principals = new Principals(history);
  const audit = new AuditTrail(history);
  const approvals = new ApprovalQueue(engine, history, { gate: options.approvals, audit, principals });
  const ctx: ServerContext = {
    engine,
    // Through the engine each time: it flushes the writes it has batched before a read.
    get history() {
      return engine.history!;
    },
    approvals,
    principals,
    audit,
    input: { allowEnv },
    onClose: (close) => {
      closers.add(close);
      return () => closers.delete(close);
    },
  };
  // Open event streams would hold `close()` forever: end them first.
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
    for (const close of [...closers]) close();
  });
  // A response finished while closing ends its keep-alive socket, or close() waits for the idle timeout (72 s).
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close');
  });

  const requestLog = options.requestLog;
  if (requestLog) {
    app.addHook('onResponse', async (request, reply) => {
      const length = reply.getHeader('content-length');
      requestLog(
        requestLogLine({
          ip: request.ip,
          principal: (request.principal as RequestPrincipal | null)?.name ?? null,
          at: new Date(),
          method: request.method,
          path: request.url,
          status: reply.statusCode,
          bytes: length === undefined ? null : String(length),
          durationMs: reply.elapsedTime,
        }),
      );
    });
  }

  // Every JSON answer leaves through here: secrets of the requests it holds (or that the
  // client sent) are hidden, whichever route built it.
  app.addHook('preSerialization', async (request, _reply, payload) =>
    redactData(payload, engine.config, [request.body]),
  );

  app.setErrorHandler(async (err, _request, reply) => {
    const { status, body } = httpErrorOf(err);
    return reply.code(status).send(body);
  });
  app.setNotFoundHandler(async (request, reply) =>
    reply
      .code(404)
      .send({ error: { code: 'NotFound', message: `No route ${request.method} ${request.url.split('?')[0]}` } }),
  );

  await app.register(cookie);
  await app.register(websocket, { options: WS_OPTIONS });
  registerAuth(app, {
    token: token.token,
    principals,
    sessions: new Sessions(options.sessionTtlMs),
    onSignIn: (principal, source) => audit.record({ principal: principal.name, action: 'sign_in', source }),
  });

  const specs: RouteSpec[] = [
    ...executionRoutes(ctx),
    ...approvalRoutes(ctx),
    ...auditRoutes(ctx),
    ...eventRoutes(ctx, { heartbeatMs: options.heartbeatMs }),
    ...vocabularyRoutes(),
    ...principalRoutes(ctx),
  ];
  specs.push(
    route({
      method: 'GET',
      url: '/api/health',
      operationId: 'health',
      summary: 'Liveness, version, and how much work is in flight',
      tag: 'server',
      access: 'read',
      responses: { 200: { description: 'Up' } },
      handler: async () => {
        const all = await engine.listExecutions();
        return {
          status: 'ok',
          version: VERSION,
          engine_id: engine.engineId,
          running: all.filter((e) => e.status === 'running').length,
          pending: all.filter((e) => e.status === 'pending').length,
          awaiting_approval: approvals.list('pending').length,
          approval_policy: engine.config.approval,
          approval_gate: approvals.gate,
        };
      },
    }),
    route({
      method: 'GET',
      url: '/api/whoami',
      operationId: 'whoami',
      summary: 'Who is signed in (the token or browser session of this request) and with which role',
      tag: 'server',
      access: 'read',
      responses: { 200: { description: 'The signed-in principal', schema: WhoAmI } },
      handler: async ({ request }) => ({ name: request.principal.name, role: request.principal.role }),
    }),
    route({
      method: 'GET',
      url: '/api/openapi.json',
      operationId: 'openapi',
      summary: 'This API as an OpenAPI 3.1 document',
      tag: 'server',
      access: 'read',
      responses: { 200: { description: 'OpenAPI document' } },
      handler: async () => document,
    }),
  );
  for (const method of ['POST', 'GET', 'DELETE'] as const) {
    specs.push(
      route({
        method,
        url: MCP_PATH,
        operationId: `mcp${method[0]}${method.slice(1).toLowerCase()}`,
        summary: {
          POST: 'Model Context Protocol (Streamable HTTP): one JSON-RPC message; initialize opens a session (`mcp-session-id`). Bearer token only',
          GET: "Model Context Protocol: the session's notification stream (server-sent events)",
          DELETE: 'Model Context Protocol: end the session',
        }[method],
        tag: 'mcp',
        access: 'read',
        responses: { 200: { description: 'A JSON-RPC answer, or an event stream' } },
        external: true,
      }),
    );
  }
  const document = openApiDocument(specs, VERSION);
  registerYamlBody(app);
  registerRoutes(app, specs);
  registerEventSocket(app, ctx, { heartbeatMs: options.heartbeatMs });
  registerMcp(app, ctx, { version: VERSION, heartbeatMs: options.heartbeatMs });
  registerDashboard(app);
  await app.ready();
  return { app, token, approvals, close: () => app.close() };
}

/** Build and listen. */
export async function startServer(engine: ExecutionEngine, options: ServerOptions = {}): Promise<RunningServer> {
  const built = await buildServer(engine, options);
  const host = options.host ?? '127.0.0.1';
  try {
    await built.app.listen({ host, port: options.port ?? DEFAULT_PORT });
  } catch (err) {
    await built.close();
    throw err;
  }
  const address = built.app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return { ...built, url: `http://${shownHost}:${port}` };
}
