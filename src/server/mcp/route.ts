/**
 * `/mcp`: the Model Context Protocol over Streamable HTTP (POST for messages, GET for the
 * server's notification stream, DELETE to end a session), behind the same sign-in as every
 * route. A session belongs to the principal that opened it: another principal's token cannot
 * use it. Each request is checked again (a revoked token is refused at once, and an open
 * notification stream is ended at the next heartbeat). Idle sessions are closed.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ExecutionError } from '../../errors.js';
import type { RequestPrincipal } from '../access.js';
import { bearerOf } from '../auth.js';
import type { ServerContext } from '../context.js';
import { httpErrorOf } from '../http-errors.js';
import { createMcpServer, type McpRequestContext, type McpSession } from './mcp-server.js';

export const MCP_PATH = '/mcp';

export interface McpOptions {
  /** The server's version, told to clients. */
  version: string;
  /** How long a session may go unused before it is closed; default 30 min. */
  idleMs?: number;
  /** How often sessions are checked (idle, principal revoked); default 15 s. */
  heartbeatMs?: number;
  /** Most open sessions per principal; opening one more closes its least recently used. Default 16. */
  maxSessionsPerPrincipal?: number;
}

interface Session {
  id: string;
  principal: string;
  transport: StreamableHTTPServerTransport;
  mcp: McpSession;
  lastUsed: number;
  /** Requests (and notification streams) still open. */
  open: number;
  /** Whether the principal that opened it may still sign in (checked on each heartbeat). */
  stillSignedIn: () => RequestPrincipal | null;
}

/** A JSON-RPC error answered outside any session (the transport answers those inside one). */
function rpcError(reply: FastifyReply, status: number, message: string, data?: unknown) {
  return reply
    .code(status)
    .header('cache-control', 'no-store')
    .send({ jsonrpc: '2.0', error: { code: -32000, message, ...(data === undefined ? {} : { data }) }, id: null });
}

export function registerMcp(app: FastifyInstance, ctx: ServerContext, options: McpOptions): void {
  const sessions = new Map<string, Session>();
  const idleMs = options.idleMs ?? 30 * 60 * 1000;
  const maxPerPrincipal = options.maxSessionsPerPrincipal ?? 16;

  const end = (session: Session) => {
    if (!sessions.delete(session.id)) return;
    void session.mcp.close().catch(() => undefined);
  };
  const sweep = setInterval(() => {
    const now = Date.now();
    for (const session of sessions.values()) {
      if (session.stillSignedIn() === null) end(session);
      else if (session.open === 0 && now - session.lastUsed > idleMs) end(session);
    }
  }, options.heartbeatMs ?? 15_000);
  sweep.unref();
  ctx.onClose(() => {
    clearInterval(sweep);
    for (const session of [...sessions.values()]) end(session);
  });

  /** Past the cap, a principal's least recently used sessions go (counted once each is set up, so sessions opened at once are counted too). */
  const capSessions = (principal: string) => {
    const mine = [...sessions.values()].filter((s) => s.principal === principal);
    mine.sort((a, b) => a.lastUsed - b.lastUsed);
    for (const session of mine.slice(0, Math.max(0, mine.length - maxPerPrincipal))) end(session);
  };

  const open = async (request: FastifyRequest): Promise<Session> => {
    const principal = request.principal;
    const mcp = createMcpServer(ctx, options.version);
    const session: Session = {
      id: '',
      principal: principal.name,
      transport: new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          session.id = id;
          sessions.set(id, session);
          capSessions(principal.name);
        },
      }),
      mcp,
      lastUsed: Date.now(),
      open: 0,
      stillSignedIn: request.currentPrincipal,
    };
    session.transport.onclose = () => end(session);
    await mcp.server.connect(session.transport);
    return session;
  };

  const handle = async (request: FastifyRequest, reply: FastifyReply) => {
    // Assistants hold their own token; a browser session (the dashboard's cookie) is not one.
    if (bearerOf(request) === undefined) {
      return rpcError(reply, 401, 'MCP clients send their API token: Authorization: Bearer <token>');
    }
    const principal = request.principal;
    const sessionId = request.headers['mcp-session-id'];
    let session: Session | undefined;
    if (typeof sessionId === 'string') {
      session = sessions.get(sessionId);
      // 404 tells the client to start a new session (the protocol's rule).
      if (!session) return rpcError(reply, 404, 'Session not found: it ended or expired; initialize a new one');
      if (session.principal !== principal.name) {
        const err = ExecutionError.create('Forbidden', {
          who: `${principal.name} (role ${principal.role})`,
          what: 'use this MCP session',
          needs: 'it was opened by another principal',
        });
        return rpcError(reply, 403, err.message, httpErrorOf(err).body);
      }
      session.stillSignedIn = request.currentPrincipal;
    } else if (request.method === 'POST' && isInitializeRequest(request.body)) {
      session = await open(request);
    } else {
      return rpcError(reply, 400, 'No MCP session: send an initialize request first (without mcp-session-id)');
    }
    const context: McpRequestContext = {
      principal,
      source: request.ip,
      baseUrl: `${request.protocol}://${request.host}`,
    };
    const raw = request.raw as IncomingMessage & { auth?: AuthInfo };
    raw.auth = { token: '', clientId: principal.name, scopes: [principal.role], extra: { request: context } };
    session.lastUsed = Date.now();
    session.open++;
    const live = session;
    reply.raw.once('close', () => {
      live.open--;
      live.lastUsed = Date.now();
    });
    // The transport writes the response itself (JSON, or an event stream).
    reply.hijack();
    await session.transport.handleRequest(raw, reply.raw, request.body);
    // An initialize the transport refused opened no session: its server goes too.
    if (session.id === '') void session.mcp.close().catch(() => undefined);
  };

  for (const method of ['POST', 'GET', 'DELETE'] as const) {
    app.route({ method, url: MCP_PATH, config: { access: 'read' }, handler: handle });
  }
}
