/** `serve`: the HTTP API, live events and dashboard over one engine, until Ctrl-C. */
import { resolveConfig } from '../../config.js';
import { ExecutionEngine } from '../../engine/engine.js';
import type { ApprovalConfigInput } from '../../policy/approval.js';
import { CliExit, EXIT } from '../exit.js';
import { engineConfig, type EngineOptions } from '../options.js';

export interface ServeOptions extends EngineOptions {
  host?: string;
  port?: string;
  token?: string;
  approve?: string;
  bodyLimit?: string;
  drainTimeout?: string;
}

/** Which risk levels wait for a human. */
export const APPROVAL_LEVELS: Record<string, ApprovalConfigInput | null> = {
  none: null,
  destructive: { auto_approve_readonly: true, require_approval_modify: false, require_approval_destructive: true },
  modify: { auto_approve_readonly: true, require_approval_modify: true, require_approval_destructive: true },
  all: { auto_approve_readonly: false, require_approval_modify: true, require_approval_destructive: true },
};

function int(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value)) throw new CliExit(EXIT.BAD_INPUT, `${flag} must be a non-negative integer (got "${value}")`);
  return Number(value);
}

export async function serveCommand(options: ServeOptions): Promise<number> {
  const level = options.approve ?? 'modify';
  if (!(level in APPROVAL_LEVELS)) throw new CliExit(EXIT.BAD_INPUT, `--approve must be one of ${Object.keys(APPROVAL_LEVELS).join(', ')} (got "${level}")`);
  const port = int(options.port, '--port', 8787);
  if (port > 65535) throw new CliExit(EXIT.BAD_INPUT, `--port must be at most 65535 (got ${port})`);
  const drainMs = int(options.drainTimeout, '--drain-timeout', 30_000);
  const config = resolveConfig({ ...engineConfig(options), approval: APPROVAL_LEVELS[level] ?? null });

  // Loaded here so the other subcommands do not pay for the HTTP stack.
  const { startServer } = await import('../../server/server.js');
  const engine = new ExecutionEngine(config);
  let server;
  try {
    server = await startServer(engine, {
      host: options.host,
      port,
      token: options.token ?? null,
      bodyLimit: options.bodyLimit === undefined ? undefined : int(options.bodyLimit, '--body-limit', 0),
    });
  } catch (err) {
    engine.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw new CliExit(EXIT.BAD_INPUT, `port ${port} is in use (choose another with --port, or 0 for any free port)`);
    throw err;
  }

  const { url, token } = server;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  say(`cloudops-exec serving on ${url} (approval: ${level})`);
  if (token.source === 'generated' || token.source === 'file') {
    say(`Dashboard: ${url}/login?token=${encodeURIComponent(token.token)}`);
    say(`API token: ${token.token}${token.source === 'generated' ? ' (new; saved for next time)' : ''}`);
  } else {
    say(`Dashboard: ${url}/ (sign in with the token from ${token.source === 'env' ? 'CLOUDOPS_EXEC_TOKEN' : '--token'})`);
  }
  say(`API: ${url}/api/openapi.json   (Authorization: Bearer <token>)`);
  if (!['127.0.0.1', 'localhost', '::1'].includes(options.host ?? '127.0.0.1')) {
    say(`warning: listening beyond this machine (${options.host}); anyone who can reach it and has the token can run commands`);
  }

  // First signal: stop taking requests, let running work finish (up to --drain-timeout), then
  // cancel the rest. Second: cancel now. Third: leave at once (the exit hook kills what is left).
  let signals = 0;
  const stopped = new Promise<number>((resolve) => {
    const onSignal = () => {
      signals++;
      if (signals === 1) {
        say(`Shutting down: waiting up to ${drainMs} ms for running commands (Ctrl-C again to cancel them)`);
        // Both at once: an open `?wait=true` request holds server.close() until its command ends.
        void Promise.all([server.close(), engine.shutdown({ mode: 'drain', timeout_ms: drainMs })]).then(() => resolve(EXIT.OK));
      } else if (signals === 2) {
        say('Cancelling running commands');
        void engine.shutdown({ mode: 'cancel' });
      } else {
        process.exit(EXIT.INTERRUPTED);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  const code = await stopped;
  engine.close();
  return code;
}
