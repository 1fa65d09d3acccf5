/** The built CLI (dist/cli/main.js) run to its end, off a terminal. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** Added to this process's env; a variable given as undefined is removed. */
  env?: Record<string, string | undefined>;
  /** What the child reads on its stdin (a pipe, ended after it; empty by default). */
  input?: string;
}

/**
 * `node args` run to its end with `options.env` over this process's env. Spawned, never
 * spawnSync: a server the child talks to may live in this process's event loop.
 */
export function runNode(args: string[], options: RunOptions = {}): Promise<Ran> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(options.env ?? {}))
    if (value === undefined) delete env[name];
    else env[name] = value;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.on('error', () => {}); // a child that exits without reading its input
    child.stdin.end(options.input ?? '');
  });
}

/** `cloudops-exec args` (dist/cli/main.js) run to its end, uncoloured (NO_COLOR=1, no FORCE_COLOR). */
export function runCli(args: string[], options: RunOptions = {}): Promise<Ran> {
  return runNode([BIN, ...args], { ...options, env: { NO_COLOR: '1', FORCE_COLOR: undefined, ...options.env } });
}
