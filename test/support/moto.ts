/**
 * A local AWS emulator for tests: moto_server on 127.0.0.1, so no test ever reaches real AWS.
 *
 * With MOTO_URL set (CI starts one server for the whole run) that server is used and shared
 * between test files, so tests must not assume it starts empty. Otherwise each caller (one per
 * test file, in beforeAll) gets a fresh server on a free loopback port, stopped in afterAll.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface Moto {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** Kill the server (SIGTERM, then SIGKILL) and wait for it to exit; a no-op for a shared MOTO_URL server. */
  stop(): Promise<void>;
}

import { freePort, kill } from './processes.js';

const STARTUP_TIMEOUT_MS = 20_000;
const MAX_OUTPUT_CHARS = 8_000;

/** True once anything answers HTTP at `url` (any status). */
async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && host !== '[::1]') {
    throw new Error(`MOTO_URL must point at a local emulator (127.0.0.1), not ${url}`);
  }
}

/**
 * The moto server to test against: MOTO_URL's, or a fresh one of our own. `private`: always one
 * of our own, for a test that stops it (a shared one is never stopped).
 */
export async function startMoto(options: { private?: boolean } = {}): Promise<Moto> {
  const shared = options.private ? undefined : process.env.MOTO_URL;
  if (shared) {
    const url = shared.replace(/\/+$/, '');
    assertLoopback(url);
    return { url, stop: async () => {} };
  }

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-MAX_OUTPUT_CHARS);
  };
  const child = spawn('moto_server', ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  let spawnError: Error | null = null;
  child.once('error', (err) => {
    spawnError = err;
  });

  // 'close' comes once moto's stdout/stderr are drained, so its last words are in `output`.
  const drained = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const fail = async (why: string): Promise<never> => {
    await kill(child);
    await Promise.race([drained, new Promise((resolve) => setTimeout(resolve, 1_000))]);
    throw new Error(`moto_server (-H 127.0.0.1 -p ${port}) ${why}\n--- moto output ---\n${output.trim() || '(none)'}`);
  };

  const deadline = Date.now() + STARTUP_TIMEOUT_MS;
  for (;;) {
    if (spawnError)
      return fail(`could not be started: ${(spawnError as Error).message} (is moto installed and on PATH?)`);
    if (child.exitCode !== null || child.signalCode !== null) {
      return fail(`exited during startup (code ${child.exitCode}, signal ${child.signalCode})`);
    }
    if (await answers(`${url}/moto-api/`)) break;
    if (Date.now() > deadline) return fail(`did not answer on ${url}/moto-api/ within ${STARTUP_TIMEOUT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return { url, stop: () => kill(child) };
}

/** Unique per test process, so a test can check that this value never reaches a log. */
const SECRET_ACCESS_KEY = `moto-secret-${randomUUID()}`;

// Keep a developer's own ~/.aws out of every test: set for this process (the operator's side),
// so children inherit it. In a request's env these names would make a command unverifiable.
const missingConfig = join(tmpdir(), `cee-no-aws-config-${process.pid}`);
process.env.AWS_CONFIG_FILE = join(missingConfig, 'config');
process.env.AWS_SHARED_CREDENTIALS_FILE = join(missingConfig, 'credentials');

/**
 * Environment for an AWS call against moto: dummy credentials, us-east-1, no instance-metadata
 * lookups and no pager (this machine's own AWS config files are kept out above).
 *
 * The endpoint itself is deliberately not set here (the engine's `aws_endpoint_url` must do
 * that, and tests check it does). As a guard, HTTP(S)_PROXY point at a closed loopback port
 * with only loopback exempt: should an AWS CLI call ever miss the endpoint override, it fails
 * to connect instead of reaching real AWS. (The JS SDK on Node 20 ignores proxy variables.)
 */
export function awsTestEnv(url: string): Record<string, string> {
  assertLoopback(url);
  return {
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: SECRET_ACCESS_KEY,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EC2_METADATA_DISABLED: 'true',
    AWS_PAGER: '',
    HTTPS_PROXY: 'http://127.0.0.1:9',
    HTTP_PROXY: 'http://127.0.0.1:9',
    https_proxy: 'http://127.0.0.1:9',
    http_proxy: 'http://127.0.0.1:9',
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
  };
}
