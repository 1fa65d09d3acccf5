/** A real server on a free loopback port over a fresh engine, closed after each test; a small HTTP client for it. */
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import type { ExecutionConfigInput, ExecutionEngine } from '../../src/index.js';
import { type RunningServer, type ServerOptions, startServer } from '../../src/server/index.js';
import { Principals } from '../../src/services/principals.js';
import type { Role } from '../../src/vocabulary.js';
import { makeEngine } from '../helpers.js';

export const TOKEN = 'test-token-0123456789abcdef';

export interface TestServer {
  engine: ExecutionEngine;
  server: RunningServer;
  url: string;
  /** JSON request with the token; `body` undefined sends none. */
  api(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<{ status: number; body: any; headers: Headers }>;
  /** The same client with another principal's token (see `addPrincipal`). */
  as(token: string): TestServer['api'];
}

/** A principal with `role` in the server's history store (as `cloudops-exec auth add` makes one); its token. */
export function addPrincipal(ts: Pick<TestServer, 'engine'>, name: string, role: Role): string {
  return new Principals(ts.engine.history!).add(name, role, 'test').token;
}

const servers: RunningServer[] = [];
afterEach(async () => {
  // Before the engines (helpers.ts) are shut down: open streams end with the server.
  for (const server of servers.splice(0)) await server.close();
});

export async function startTestServer(
  config: ExecutionConfigInput = {},
  options: ServerOptions = {},
): Promise<TestServer> {
  const engine = makeEngine(config);
  const server = await startServer(engine, { port: 0, token: TOKEN, ...options });
  servers.push(server);
  const as =
    (token: string): TestServer['api'] =>
    async (method, path, body, headers = {}) => {
      const response = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      if ((response.headers.get('content-type') ?? '').includes('json')) parsed = JSON.parse(text);
      return { status: response.status, body: parsed, headers: response.headers };
    };
  return { engine, server, url: server.url, api: as(TOKEN), as };
}

/** A WebSocket to the server that collects every message it receives. */
export async function openSocket(
  url: string,
  path = '/api/ws',
  headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
) {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}${path}`, { headers });
  const messages: any[] = [];
  socket.on('message', (data) => messages.push(JSON.parse(data.toString())));
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  return { socket, messages, send: (message: unknown) => socket.send(JSON.stringify(message)) };
}

/** Server-Sent Events until the stream ends: `[event name, parsed data]` pairs. */
export async function readSse(url: string, path: string): Promise<Array<[string, any]>> {
  const response = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
  if (response.status !== 200) throw new Error(`SSE ${path}: ${response.status} ${await response.text()}`);
  return parseSse(await response.text());
}

export function parseSse(text: string): Array<[string, any]> {
  return text
    .split('\n\n')
    .filter((block) => block.includes('data: '))
    .map((block) => {
      const name = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
      const data = /^data: (.*)$/m.exec(block)?.[1] ?? '';
      return [name, JSON.parse(data)] as [string, any];
    });
}
