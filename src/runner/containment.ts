/**
 * How a command is kept from leaving descendants behind (`process_containment`).
 *
 * - `pid_namespace`: the command runs in a PID namespace of its own (`unshare --pid --fork
 *   --kill-child`, with our init as PID 1, see containment-init.ts). Nothing started inside can
 *   leave it: a double-forked or `setsid` daemon re-parents to that init, and when the init
 *   dies the kernel kills everything in the namespace. Commands see namespace pids (`$$` is 2)
 *   and cannot signal processes outside their namespace themselves. Nor can they make the
 *   engine do it: a root command can write to the init's report channel, but the engine takes
 *   the init's pid only from the report written before the command existed, and checks the
 *   pid is still the child of the `unshare` it spawned before signalling it (containment-init.ts).
 * - `process_group`: the command leads its own process group; the tree is found through the
 *   group and a /proc walk. A daemon that double-forks out of both escapes it.
 * - `auto` (default): `pid_namespace` when the engine runs as root and a probe shows it works,
 *   else `process_group`. Non-root engines would need a user namespace, which changes what the
 *   command is (set-uid programs such as sudo stop working), so only an explicit
 *   `pid_namespace` asks for that. A root engine that falls back (no perl or unshare, or
 *   namespaces refused) says so once, as a `CLOUDOPS_CONTAINMENT` process warning.
 * The probe runs once per kind and is cached.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { Readable } from 'node:stream';
import { INIT_SCRIPT, InitChannel, type InitReport, SAVED_ENV_PREFIX } from './containment-init.js';

export type ContainmentSetting = 'auto' | 'pid_namespace' | 'process_group';
export type ContainmentMode = 'pid_namespace' | 'process_group';

/** `file` plus `args` run `command...` as the child of our init in a new PID namespace. */
export interface NamespaceLauncher {
  file: string;
  args: readonly string[];
}

export type Containment =
  | { mode: 'process_group' }
  | { mode: 'pid_namespace'; launcher: NamespaceLauncher }
  /** An explicit `pid_namespace` that cannot be had here. */
  | { mode: 'unavailable'; reason: string };

const GROUP: Containment = Object.freeze({ mode: 'process_group' });
const PROBE_TIMEOUT_MS = 10_000;
/** System directories first: the launcher runs for every command, so PATH order does not pick it. */
const SYSTEM_DIRS = ['/usr/bin', '/bin', '/usr/sbin', '/sbin', '/usr/local/bin'];

type Kind = 'plain' | 'user';
type Probe = { launcher: NamespaceLauncher } | { reason: string };

const probes = new Map<Kind, Probe | Promise<Probe>>();

/**
 * The containment for `setting`: synchronous once the probe it needs has run (every command
 * after the first), a promise before that.
 */
export function chooseContainment(setting: ContainmentSetting): Containment | Promise<Containment> {
  if (setting === 'process_group') return GROUP;
  const strict = setting === 'pid_namespace';
  if (process.platform !== 'linux')
    return strict ? { mode: 'unavailable', reason: 'PID namespaces exist only on Linux' } : GROUP;
  const root = process.getuid?.() === 0;
  if (!root && !strict) return GROUP;
  const kind: Kind = root ? 'plain' : 'user';
  let probe = probes.get(kind);
  if (probe === undefined) {
    probe = runProbe(kind).then((result) => {
      probes.set(kind, result);
      return result;
    });
    probes.set(kind, probe);
  }
  const decide = (result: Probe): Containment => {
    if ('launcher' in result) return { mode: 'pid_namespace', launcher: result.launcher };
    if (strict) return { mode: 'unavailable', reason: result.reason };
    warnFallback(result.reason);
    return GROUP;
  };
  return probe instanceof Promise ? probe.then(decide) : decide(probe);
}

let warnedFallback = false;

/**
 * `auto` on a root engine runs commands in process groups after all: descendants can escape
 * them, so the operator hears it once (a non-root engine expects process groups: no warning).
 */
export function warnFallback(reason: string): void {
  if (warnedFallback || process.getuid?.() !== 0) return;
  warnedFallback = true;
  process.emitWarning(
    `process_containment auto: running as root but no PID namespace can be made (${reason}); commands run in process groups, which a daemon can escape`,
    {
      code: 'CLOUDOPS_CONTAINMENT',
    },
  );
}

/**
 * A namespace could not be made for a command although the probe could (e.g. the namespace
 * limit was reached): later commands do not try again.
 */
export function markNamespaceBroken(launcher: NamespaceLauncher, reason: string): void {
  for (const [kind, probe] of probes) {
    if (!(probe instanceof Promise) && 'launcher' in probe && probe.launcher === launcher) probes.set(kind, { reason });
  }
}

/**
 * The launcher's arguments and environment for `file args` in `env` (undefined: the engine's).
 * Variables that steer Perl (PERL5OPT, PERL5LIB, ...) would change our init, so they travel
 * renamed (SAVED_ENV_PREFIX) and the init restores them for the command; their names travel as
 * arguments (a count, then the names), so the init restores only what we renamed. A variable
 * that already carries the prefix is dropped: the init would never restore it, and it has no
 * business reaching the command under that name either.
 * Undefined stays undefined unless the engine's own environment has such variables.
 */
export function launchCommand(
  launcher: NamespaceLauncher,
  file: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv | undefined,
): { args: string[]; env: NodeJS.ProcessEnv | undefined } {
  const source = env ?? process.env;
  let out: NodeJS.ProcessEnv | undefined;
  const saved: string[] = [];
  for (const key of Object.keys(source)) {
    if (key.startsWith(SAVED_ENV_PREFIX)) {
      out ??= { ...source };
      delete out[key];
    }
  }
  for (const key of Object.keys(source)) {
    if (!key.startsWith('PERL')) continue;
    out ??= { ...source };
    out[`${SAVED_ENV_PREFIX}${key}`] = source[key];
    delete out[key];
    saved.push(key);
  }
  return { args: [...launcher.args, String(saved.length), ...saved, file, ...args], env: out ?? env };
}

function findExecutable(name: string): string | null {
  const path = process.env.PATH ?? '';
  for (const dir of [...SYSTEM_DIRS, ...path.split(delimiter).filter((d) => d.startsWith('/'))]) {
    const file = join(dir, name);
    try {
      accessSync(file, fsConstants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return null;
}

/** Run `true` the way every command would run; it works only if the init reports it exited 0. */
async function runProbe(kind: Kind): Promise<Probe> {
  const unshare = findExecutable('unshare');
  const perl = findExecutable('perl');
  if (!unshare) return { reason: 'unshare (util-linux) was not found' };
  if (!perl) return { reason: 'perl was not found (it runs as the namespace init)' };
  const launcher: NamespaceLauncher = {
    file: unshare,
    args: [
      ...(kind === 'user' ? ['--user', '--map-current-user'] : []),
      '--pid',
      '--fork',
      '--kill-child',
      '--',
      perl,
      '-e',
      INIT_SCRIPT,
      '--',
    ],
  };
  return new Promise<Probe>((resolve) => {
    const reports: InitReport[] = [];
    const channel = new InitChannel((r) => reports.push(r));
    let child;
    try {
      const launch = launchCommand(launcher, 'true', [], undefined);
      child = spawn(launcher.file, launch.args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: launch.env });
    } catch (err) {
      resolve({ reason: `${unshare} could not be started: ${(err as Error).message}` });
      return;
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), PROBE_TIMEOUT_MS);
    (child.stdio[2] as Readable).on('data', (chunk: Buffer) => channel.push(chunk));
    (child.stdio[3] as Readable).resume();
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ reason: `${unshare} could not be started: ${err.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      channel.end();
      const ready = reports.some((r) => r.kind === 'ready');
      const ok = reports.some((r) => r.kind === 'ended' && r.exitCode === 0);
      if (ready && ok && code === 0) return resolve({ launcher });
      const said = channel.other.trim().split('\n')[0];
      resolve({ reason: `${unshare} --pid failed (${signal ?? `exit ${code}`})${said ? `: ${said}` : ''}` });
    });
  });
}
