/**
 * `cloudops-exec mcp --server URL`: MCP over stdio for clients that launch a command (desktop
 * assistants, editors). It holds no engine of its own: every message goes to the server's
 * `/mcp` endpoint as the principal whose token is in CLOUDOPS_EXEC_TOKEN, so approvals,
 * history and the audit trail stay in one place. Stdout carries only the protocol; what the
 * bridge has to say goes to stderr.
 *
 * A session the server ended (idle, or a server restart) is opened again with the client's
 * own `initialize`, and the message that found it gone is sent again.
 *
 * Exit codes: 0 the client closed stdin; 1 the server refused the token; 2 no token, a bad URL, or no
 * server at the URL.
 */
import { StreamableHTTPClientTransport, StreamableHTTPError } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { printable } from '../../sinks/control-chars.js';
import { EXIT } from '../exit.js';
import { type Client, type ClientOptions, call, clientOf } from './approvals.js';

/** How long a closing bridge waits for the server to hear that the session ended. */
const TERMINATE_WAIT_MS = 2_000;
/** Ids of the bridge's own requests: never the client's (it numbers its own). */
const BRIDGE_ID_PREFIX = 'cloudops-exec-bridge-';
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref());

const say = (line: string) => process.stderr.write(`cloudops-exec mcp: ${printable(line)}\n`);

type Message = JSONRPCMessage & { id?: string | number; method?: string; result?: { protocolVersion?: unknown } };

export async function mcpCommand(options: ClientOptions): Promise<number> {
  const client = clientOf(options);
  // Fail at once, before a client waits on us: no server there, or a token it does not take.
  const me = await call<{ name: string; role: string }>(client, 'GET', '/api/whoami');
  const endpoint = new URL('/mcp', client.base);
  say(`bridging stdio to ${endpoint.href} as ${me.name} (role ${me.role})`);
  const code = await new Bridge(client, endpoint).run();
  // The client is gone: nothing more to say. A notification stream the SDK would reconnect, or a
  // socket kept alive, must not keep the process (and a client waiting for it to exit) alive.
  setTimeout(() => process.exit(), 200).unref();
  return code;
}

class Bridge {
  private readonly local = new StdioServerTransport();
  private upstream: StreamableHTTPClientTransport;
  /** The client's initialize and its answer's protocol version, to open the session again. */
  private initialize: Message | null = null;
  private initializeId: string | number | undefined;
  private protocolVersion: string | null = null;
  private reopening: Promise<void> | null = null;
  private closed = false;
  /** What the client subscribed to, renewed in a new session. */
  private readonly subscribed = new Set<string>();
  private ownRequests = 0;

  constructor(
    private readonly client: Client,
    private readonly endpoint: URL,
  ) {
    this.upstream = this.connect();
  }

  private connect(): StreamableHTTPClientTransport {
    const upstream = new StreamableHTTPClientTransport(this.endpoint, {
      requestInit: { headers: { authorization: `Bearer ${this.client.token}` } },
    });
    upstream.onmessage = (message) => this.fromServer(upstream, message as Message);
    upstream.onerror = (err) => {
      if (!this.closed && upstream === this.upstream) say(`server: ${err.message}`);
    };
    return upstream;
  }

  run(): Promise<number> {
    return new Promise((resolve) => {
      const finish = () => {
        if (this.closed) return;
        this.closed = true;
        process.off('SIGINT', finish);
        process.off('SIGTERM', finish);
        // Tell the server the session is over, then let go: a server gone or stuck is not waited for.
        const told = this.upstream.terminateSession().catch(() => undefined);
        void Promise.race([told, sleep(TERMINATE_WAIT_MS)]).finally(() => {
          void this.upstream.close().finally(() => resolve(EXIT.OK));
        });
      };
      this.local.onmessage = (message) => void this.toServer(message as Message);
      this.local.onclose = finish;
      process.once('SIGINT', finish);
      process.once('SIGTERM', finish);
      process.stdin.once('end', finish);
      void this.upstream.start().then(() => this.local.start());
    });
  }

  private fromServer(upstream: StreamableHTTPClientTransport, message: Message): void {
    if (upstream !== this.upstream) return;
    // Answers to the bridge's own requests (subscriptions renewed) are not the client's.
    if (typeof message.id === 'string' && message.id.startsWith(BRIDGE_ID_PREFIX)) return;
    if (this.initializeId !== undefined && message.id === this.initializeId && message.result) {
      const version = message.result.protocolVersion;
      if (typeof version === 'string') {
        this.protocolVersion = version;
        upstream.setProtocolVersion(version);
      }
    }
    void this.local.send(message).catch(() => undefined);
  }

  private async toServer(message: Message, retried = false): Promise<void> {
    if (message.method === 'initialize') {
      this.initialize = message;
      this.initializeId = message.id;
    }
    const uri = (message as { params?: { uri?: unknown } }).params?.uri;
    if (typeof uri === 'string' && message.method === 'resources/subscribe') this.subscribed.add(uri);
    if (typeof uri === 'string' && message.method === 'resources/unsubscribe') this.subscribed.delete(uri);
    try {
      await this.reopening;
      await this.upstream.send(message);
    } catch (err) {
      // 404: the server no longer knows the session. Open a new one as the client did, once.
      if (!retried && err instanceof StreamableHTTPError && err.code === 404 && this.initialize && !this.closed) {
        try {
          await this.reopen();
        } catch (reopenError) {
          return this.failed(message, reopenError as Error);
        }
        return this.toServer(message, true);
      }
      this.failed(message, err as Error);
    }
  }

  /** A new session with the client's own initialize; its answer is not passed on (the client has one). */
  private reopen(): Promise<void> {
    this.reopening ??= (async () => {
      say('the server ended the session; opening a new one');
      const old = this.upstream;
      this.upstream = this.connect();
      void old.close().catch(() => undefined);
      const answered = new Promise<void>((resolve) => {
        const upstream = this.upstream;
        upstream.onmessage = (m) => {
          const message = m as Message;
          if (message.id === this.initialize?.id) {
            if (this.protocolVersion) upstream.setProtocolVersion(this.protocolVersion);
            upstream.onmessage = (next) => this.fromServer(upstream, next as Message);
            resolve();
          } else this.fromServer(upstream, message);
        };
      });
      await this.upstream.start();
      await this.upstream.send(this.initialize!);
      await answered;
      await this.upstream.send({ jsonrpc: '2.0', method: 'notifications/initialized' });
      // The client's subscriptions were the old session's: the new one gets them too.
      for (const uri of this.subscribed) {
        await this.upstream.send({
          jsonrpc: '2.0',
          id: `${BRIDGE_ID_PREFIX}${++this.ownRequests}`,
          method: 'resources/subscribe',
          params: { uri },
        });
      }
    })().finally(() => {
      this.reopening = null;
    });
    return this.reopening;
  }

  /** A request the server could not take is answered with an error, so the client never waits forever. */
  private failed(message: Message, err: Error): void {
    const reason = err instanceof StreamableHTTPError ? `server answered ${err.code}: ${err.message}` : err.message;
    say(`could not send ${message.method ?? 'a message'}: ${reason}`);
    if (message.method === undefined || message.id === undefined) return;
    void this.local
      .send({ jsonrpc: '2.0', id: message.id, error: { code: -32000, message: `cloudops-exec server: ${reason}` } })
      .catch(() => undefined);
  }
}
