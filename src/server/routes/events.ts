/**
 * Live events: Server-Sent Events for simple clients, a WebSocket for several subscriptions
 * on one connection. Both come from `engine.events(id)`, so a client that connects late is
 * first sent what it missed (lines read back from the log), then the live events. A slow
 * client is paced (the stream waits for the socket to drain) rather than buffered without end.
 */
import { once } from 'node:events';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import { z } from 'zod';
import type { QueuedApproval } from '../../policy/approval.js';
import { redactData } from '../../policy/redact-data.js';
import { parseWith } from '../../wire/parse.js';
import type { ExecutionEvent } from '../../wire/types.js';
import { allows } from '../access.js';
import { EventsQuery } from '../api-schemas.js';
import type { ServerContext } from '../context.js';
import { HttpError, httpErrorOf } from '../http-errors.js';
import { type RouteSpec, route } from '../route-spec.js';

const HEARTBEAT_MS = 15_000;

export interface EventStreamOptions {
  /** How often a stream is kept alive and its principal checked again; default 15 s (tests use less). */
  heartbeatMs?: number;
}

/** WebSocket close code 1008: policy violation (here, the principal may no longer read). */
const WS_POLICY_VIOLATION = 1008;
const SIGNED_OUT = 'signed out: the principal was revoked or the session ended';

/**
 * Auth is checked at the handshake; a stream then lives for hours. Each heartbeat asks again who
 * the stream's token or session stands for, so a revoked principal or an ended session stops it.
 */
function stillMayRead(request: FastifyRequest): boolean {
  const principal = request.currentPrincipal?.();
  return principal != null && allows(principal.role, 'read');
}
/** Bytes queued on a WebSocket before the stream waits for it to drain. */
const WS_HIGH_WATER = 1024 * 1024;
const WS_MAX_MESSAGE = 64 * 1024;

const ClientMessage = z.discriminatedUnion('type', [
  z.object({ type: z.literal('subscribe'), id: z.string().min(1).max(200).optional() }),
  z.object({ type: z.literal('unsubscribe'), id: z.string().min(1).max(200).optional() }),
]);

/**
 * Events of one execution, or of all (then approvals too). Creating it checks the id
 * (NotFound is thrown before anything is sent); `begin` starts sending, and `send`
 * resolves when the client may take more.
 */
function streamEvents(
  ctx: ServerContext,
  id: string | undefined,
  send: (
    message: { kind: 'event'; event: ExecutionEvent } | { kind: 'approval'; approval: QueuedApproval },
  ) => Promise<void> | void,
): { begin: () => Promise<void>; stop: () => void } {
  const events = ctx.engine.events(id);
  let stopApprovals = () => {};
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    stopApprovals();
    void events.return?.();
  };
  const unregister = ctx.onClose(stop);
  const begin = async () => {
    // Approvals carry requests: their secrets are hidden as in every other answer.
    if (id === undefined)
      stopApprovals = ctx.approvals.onChange(
        (approval) => void send({ kind: 'approval', approval: redactData(approval, ctx.engine.config) }),
      );
    try {
      for await (const event of events) {
        if (stopped) break;
        await send({ kind: 'event', event });
      }
    } finally {
      stop();
      unregister();
    }
  };
  return { begin, stop };
}

export function eventRoutes(ctx: ServerContext, options: EventStreamOptions = {}): RouteSpec[] {
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  return [
    route({
      method: 'GET',
      url: '/api/events',
      operationId: 'streamEvents',
      summary:
        'Server-Sent Events: `?id=` one command or plan (what it missed first, then live; the stream ends with an `end` event), or without id every execution from now on plus `approval` events',
      tag: 'events',
      access: 'read',
      query: EventsQuery,
      responses: {
        200: { description: '`event: <event_type>` / `data: <ExecutionEvent JSON>`', contentType: 'text/event-stream' },
        404: { description: 'No such execution', schema: 'Error' },
      },
      handler: async ({ query, request, reply }) => {
        const raw = reply.raw;
        const write = async (chunk: string) => {
          if (raw.destroyed) return;
          // Pace the stream to the client: a slow reader is not buffered without end.
          if (!raw.write(chunk)) await Promise.race([once(raw, 'drain'), once(raw, 'close')]);
        };
        const stream = streamEvents(ctx, query.id, (m) =>
          m.kind === 'event'
            ? write(`event: ${m.event.event_type}\ndata: ${JSON.stringify(m.event)}\n\n`)
            : write(`event: approval\ndata: ${JSON.stringify(m.approval)}\n\n`),
        );
        reply.hijack();
        raw.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        });
        raw.write(': stream open\n\n');
        let ending = 'event: end\ndata: {}\n\n';
        const heartbeat = setInterval(() => {
          if (stillMayRead(request)) return void write(': keepalive\n\n');
          const error = { code: 'Unauthorized', message: SIGNED_OUT };
          stream.stop();
          // Ended here, not when the replay loop notices: it may be waiting for an event that never comes.
          if (!raw.destroyed && !raw.writableEnded)
            raw.end(`event: error\ndata: ${JSON.stringify(error)}\n\n${ending}`);
        }, heartbeatMs);
        request.raw.on('close', stream.stop);
        try {
          await stream.begin();
        } catch (err) {
          // The response is hijacked: a replay that could not be read is told on the stream itself.
          ending = `event: error\ndata: ${JSON.stringify(httpErrorOf(err).body.error)}\n\n${ending}`;
        } finally {
          clearInterval(heartbeat);
          if (!raw.destroyed && !raw.writableEnded) raw.end(ending);
        }
        return reply;
      },
    }),
    route({
      method: 'GET',
      url: '/api/ws',
      operationId: 'eventSocket',
      summary:
        'WebSocket. Send `{"type":"subscribe","id":"<id>"}` (or without id for everything) and `{"type":"unsubscribe",...}`; receive `{"type":"event","subscription":"<id>|*","event":{...}}`, `{"type":"subscribed"|"end","subscription":...}`, `{"type":"approval","approval":{...}}` and `{"type":"error","subscription":"<id>"|null,"error":{...}}`. `?id=` subscribes on connect.',
      tag: 'events',
      access: 'read',
      query: EventsQuery,
      external: true,
      responses: { 101: { description: 'Switching to the WebSocket protocol' } },
    }),
  ];
}

export function registerEventSocket(app: FastifyInstance, ctx: ServerContext, options: EventStreamOptions = {}): void {
  const heartbeatMs = options.heartbeatMs ?? HEARTBEAT_MS;
  app.get('/api/ws', { websocket: true, config: { access: 'read' } }, (socket: WebSocket, request) => {
    const subscriptions = new Map<string, () => void>();
    const send = (message: unknown): Promise<void> | void => {
      if (socket.readyState !== socket.OPEN) return;
      const data = JSON.stringify(message);
      if (socket.bufferedAmount < WS_HIGH_WATER) return void socket.send(data);
      // Over the mark: wait until this message is handed to the kernel before sending more.
      return new Promise<void>((resolve) => socket.send(data, () => resolve()));
    };
    const fail = (err: unknown, subscription: string | null = null) =>
      void send({ type: 'error', subscription, error: httpErrorOf(err).body.error });

    const subscribe = (id: string | undefined) => {
      const key = id ?? '*';
      if (subscriptions.has(key)) return;
      let stream;
      try {
        stream = streamEvents(ctx, id, (m) =>
          m.kind === 'event'
            ? send({ type: 'event', subscription: key, event: m.event })
            : send({ type: 'approval', approval: m.approval }),
        );
      } catch (err) {
        return fail(err, key);
      }
      subscriptions.set(key, stream.stop);
      void send({ type: 'subscribed', subscription: key });
      void stream.begin().then(
        () => {
          if (subscriptions.get(key) !== stream.stop) return;
          subscriptions.delete(key);
          void send({ type: 'end', subscription: key });
        },
        (err: unknown) => {
          // A replay that could not be read (an I/O error): say so on this subscription.
          if (subscriptions.get(key) === stream.stop) subscriptions.delete(key);
          fail(err, key);
        },
      );
    };

    socket.on('message', (data, isBinary) => {
      try {
        if (isBinary) throw new HttpError(400, 'BadRequest', 'binary messages are not understood; send JSON text');
        const message = parseWith(ClientMessage, data.toString('utf8'));
        if (message.type === 'subscribe') subscribe(message.id);
        else {
          const key = message.id ?? '*';
          subscriptions.get(key)?.();
          subscriptions.delete(key);
        }
      } catch (err) {
        fail(err);
      }
    });
    // A client that stopped answering pings (a half-open connection) is dropped with its subscriptions.
    let answered = true;
    socket.on('pong', () => (answered = true));
    const heartbeat = setInterval(() => {
      if (!stillMayRead(request)) return socket.close(WS_POLICY_VIOLATION, SIGNED_OUT);
      if (!answered) return socket.terminate();
      answered = false;
      socket.ping();
    }, heartbeatMs);
    const closeSocket = () => socket.close(1001, 'server closing');
    const unregister = ctx.onClose(closeSocket);
    socket.on('close', () => {
      clearInterval(heartbeat);
      unregister();
      for (const stop of subscriptions.values()) stop();
      subscriptions.clear();
    });

    try {
      const query = parseWith(EventsQuery, request.query);
      if (query.id !== undefined) subscribe(query.id);
    } catch (err) {
      fail(err);
    }
  });
}

export const WS_OPTIONS = { maxPayload: WS_MAX_MESSAGE };
