/** `serve`: the HTTP API, live events and dashboard over one engine, until Ctrl-C. */
import { resolveConfig } from '../../config.js';
import { createEngine } from '../../create-engine.js';
import type { ApprovalConfigInput } from '../../policy/approval.js';
import { RISK_LEVELS, type RiskLevel } from '../../vocabulary.js';
import { engineConfig } from '../engine-config.js';
import { CliExit, EXIT } from '../exit.js';
import { intOption, optionalIntOption } from '../int-option.js';
import type { EngineOptions } from '../options.js';
import { onOutputClosed, outputClosed } from '../stdout.js';

export interface ServeOptions extends EngineOptions {
  host?: string;
  port?: string;
  token?: string;
  /** Read the token from this file: unlike --token, it does not show in `ps`. */
  tokenFile?: string;
  /** Loader variables (PATH, LD_PRELOAD, NODE_OPTIONS, ...) requests may set anyway. */
  allowEnv?: string[];
  approve?: string;
  /** How unverified work is rated (default destructive). */
  unverifiedRisk?: string;
  bodyLimit?: string;
  drainTimeout?: string;
  /** `level=count` pairs: distinct approvers each risk level needs. */
  approvals?: string;
  /** How long a pending approval waits (a duration, see `durationOption`). */
  approvalTtl?: string;
  /** How old an approval's dry run may be when the last approval arrives. */
  dryRunMaxAge?: string;
  /** No request log on stdout. */
  quiet?: boolean;
}

/** Which risk levels wait for a human. */
export const APPROVAL_LEVELS: Record<string, ApprovalConfigInput | null> = {
  none: null,
  destructive: { auto_approve_readonly: true, require_approval_modify: false, require_approval_destructive: true },
  modify: { auto_approve_readonly: true, require_approval_modify: true, require_approval_destructive: true },
  all: { auto_approve_readonly: false, require_approval_modify: true, require_approval_destructive: true },
};

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `24h`, `7d`, `500ms`, or plain milliseconds; bad input names the option. */
export function durationOption(option: string, value: string, min: number): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  const ms = match ? Number(match[1]) * DURATION_UNITS[match[2] ?? 'ms']! : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < min) {
    throw new CliExit(
      EXIT.BAD_INPUT,
      `${option} must be a duration of at least ${min} ms, like 90s, 30m, 24h, 7d or a number of ms (got "${value}")`,
    );
  }
  return ms;
}

/** `modify=1,destructive=2`: how many distinct approvers each named risk level needs (1 to 100). */
export function approvalCounts(value: string): Partial<Record<RiskLevel, number>> {
  const counts: Partial<Record<RiskLevel, number>> = {};
  for (const pair of value.split(',')) {
    const [level = '', count = ''] = pair.split('=').map((part) => part.trim());
    if (!(RISK_LEVELS as readonly string[]).includes(level) || !/^\d+$/.test(count)) {
      throw new CliExit(
        EXIT.BAD_INPUT,
        `--approvals takes level=count pairs with levels ${RISK_LEVELS.join(', ')}, ` +
          `like modify=1,destructive=2 (got "${pair}")`,
      );
    }
    counts[level as RiskLevel] = intOption(`--approvals ${level}`, count, { min: 1, max: 100 });
  }
  return counts;
}

/** The token in an operator's file, refused unless the file is theirs and private (see readTokenFile). */
async function tokenFromFile(path: string): Promise<string> {
  const { checkToken, readTokenFile } = await import('../../server/auth.js');
  const token = readTokenFile(path, { followSymlinks: true, field: '--token-file' });
  if (token === null)
    throw new CliExit(
      EXIT.BAD_INPUT,
      `--token-file ${path}: no such file; write a token (at least 16 characters) to it, then chmod 600 ${path}`,
    );
  return checkToken(token, `--token-file ${path}`);
}

export async function serveCommand(options: ServeOptions): Promise<number> {
  const level = options.approve ?? 'modify';
  if (!Object.hasOwn(APPROVAL_LEVELS, level))
    throw new CliExit(
      EXIT.BAD_INPUT,
      `--approve must be one of ${Object.keys(APPROVAL_LEVELS).join(', ')} (got "${level}")`,
    );
  const port = optionalIntOption('--port', options.port, { max: 65535 }, 8787);
  const drainMs = optionalIntOption('--drain-timeout', options.drainTimeout, {}, 30_000);
  const bodyLimit = optionalIntOption('--body-limit', options.bodyLimit, { min: 1024 });
  if (options.token !== undefined && options.tokenFile !== undefined)
    throw new CliExit(EXIT.BAD_INPUT, 'give --token or --token-file, not both');
  const unverified = options.unverifiedRisk ?? 'destructive';
  if (!(RISK_LEVELS as readonly string[]).includes(unverified)) {
    throw new CliExit(
      EXIT.BAD_INPUT,
      `--unverified-risk must be one of ${RISK_LEVELS.join(', ')} (got "${unverified}")`,
    );
  }
  const gate = {
    required: options.approvals === undefined ? {} : approvalCounts(options.approvals),
    ttl_ms: durationOption('--approval-ttl', options.approvalTtl ?? '24h', 1000),
    dry_run_max_age_ms: durationOption('--dry-run-max-age', options.dryRunMaxAge ?? '15m', 0),
  };
  const policy = APPROVAL_LEVELS[level];
  const config = resolveConfig({
    ...engineConfig(options),
    approval: policy ? { ...policy, unverified_risk: unverified as RiskLevel } : null,
  });

  // Loaded here so the other subcommands do not pay for the HTTP stack.
  const { startServer } = await import('../../server/server.js');
  const fromFile = options.tokenFile === undefined ? null : await tokenFromFile(options.tokenFile);
  const engine = createEngine(config);
  let server;
  try {
    server = await startServer(engine, {
      host: options.host,
      port,
      token: fromFile ?? options.token ?? null,
      allow_env: options.allowEnv ?? [],
      bodyLimit,
      approvals: gate,
      // One line per request on stdout (never a token); a closed stdout ends the server (below).
      requestLog: options.quiet ? undefined : (line) => outputClosed() || process.stdout.write(`${line}\n`),
    });
  } catch (err) {
    engine.close();
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new CliExit(EXIT.BAD_INPUT, `port ${port} is in use (choose another with --port, or 0 for any free port)`);
    throw err;
  }

  const { url, token } = server;
  const say = (line: string) => process.stderr.write(`${line}\n`);
  say(`cloudops-exec serving on ${url} (approval: ${level}; unverified work counts as ${unverified})`);
  if (policy) {
    const { required } = server.approvals.gate;
    say(
      `Approvers needed: read_only ${required.read_only}, modify ${required.modify}, destructive ${required.destructive}; ` +
        `pending approvals expire after ${options.approvalTtl ?? '24h'}`,
    );
  }
  if (token.source === 'generated' || token.source === 'file') {
    say(`Dashboard: ${url}/login?token=${encodeURIComponent(token.token)}`);
    say(`API token: ${token.token}${token.source === 'generated' ? ' (new; saved for next time)' : ''}`);
  } else {
    const from = token.source === 'env' ? 'CLOUDOPS_EXEC_TOKEN' : (options.tokenFile ?? '--token');
    say(`Dashboard: ${url}/ (sign in with the token from ${from})`);
  }
  if (options.allowEnv?.length)
    say(`Requests may set: ${options.allowEnv.join(', ')} (commands using them are judged by the approval policy)`);
  say(`API: ${url}/api/openapi.json   (Authorization: Bearer <token>)`);
  say('This token signs in as admin; give people and programs their own: cloudops-exec auth add NAME --role ROLE');
  if (!['127.0.0.1', 'localhost', '::1'].includes(options.host ?? '127.0.0.1')) {
    say(
      `warning: listening beyond this machine (${options.host}); anyone who can reach it and has the token can run commands`,
    );
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
        void Promise.all([server.close(), engine.shutdown({ mode: 'drain', timeout_ms: drainMs })]).then(() =>
          resolve(EXIT.OK),
        );
      } else if (signals === 2) {
        say('Cancelling running commands');
        void engine.shutdown({ mode: 'cancel' });
      } else {
        process.exit(EXIT.INTERRUPTED);
      }
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    // The reader of the request log went away (`serve | head`): stop as the first Ctrl-C does.
    onOutputClosed(() => signals === 0 && onSignal());
  });
  const code = await stopped;
  engine.close();
  return code;
}
