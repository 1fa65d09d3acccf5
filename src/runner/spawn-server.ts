/**
 * Starting a command without forking the engine.
 *
 * libuv spawns with `fork()`: the kernel copies the page tables of the whole engine (history,
 * caches, V8 heap) for every command, then the child throws them away at `exec`, and the main
 * thread waits for that exec. Per command this cost grows with the engine's size and is most
 * of the main thread's time for short commands. So commands are started by a small long-lived
 * helper (spawn-server-script.ts: Python's `posix_spawn`, a vfork) that passes each command's
 * output sockets back over Node's IPC channel; the main thread only reads them.
 *
 * Nothing else changes: the command leads its own session and process group, its pid is known
 * before any of its output is read, the engine signals the group and walks /proc itself, the
 * exit code or signal is the kernel's, and a command is reaped only after the engine has heard
 * of its exit (its pid cannot be reused while the engine may still signal it).
 *
 * `startChild` returns a ChildProcess-like object. Until the server has said it is ready (it is
 * started with the first command), and wherever it cannot run (no Python 3.9+ in a system
 * directory, not Linux, or it died), commands are spawned directly.
 *
 * CLOUDOPS_SPAWN_SERVER=0 turns it off (every command spawned by libuv).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { accessSync, constants as fsConstants } from 'node:fs';
import { Socket, type SocketConstructorOpts } from 'node:net';
import { constants as osConstants } from 'node:os';
import { isAbsolute, join } from 'node:path';
import type { Readable } from 'node:stream';
import { signalTree } from './kill-tree.js';
import { SPAWN_SERVER_SCRIPT } from './spawn-server-script.js';

/** What ProcessRun uses of a child: ChildProcess has it, and so does ServerChild. */
export interface StartedChild extends EventEmitter {
  /** Undefined until started (a server child: until its `spawn` event), or if it failed. */
  readonly pid?: number | undefined;
  readonly stdio: ReadonlyArray<Readable | null | unknown>;
  /**
   * A stop came before the pid: do not start it if it has not started yet (its 'error' then
   * says ECANCELED); if it has, its pid arrives as usual. Only a server child can wait unstarted.
   */
  abandon?(): void;
  /** The run gave up waiting for it: it must no longer keep the engine's process alive. */
  release?(): void;
}

export interface StartOptions {
  cwd?: string | undefined;
  env: NodeJS.ProcessEnv | undefined;
  /** The command's fds 1..pipes are pipes to us; fd 0 is /dev/null. */
  pipes: number;
}

/** After this many servers died before they were ready, commands are spawned directly from then on. */
const MAX_DEATHS = 3;
const PYTHONS = ['/usr/bin/python3', '/usr/local/bin/python3', '/bin/python3'];
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(osConstants.signals).map(([name, n]) => [n, name as NodeJS.Signals]),
);
const ERRNO_NAMES = new Map<number, string>(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

/** Start `file` with `args`: through the spawn server when it is up, else with libuv's spawn. */
export function startChild(file: string, args: readonly string[], options: StartOptions): StartedChild {
  const server = SpawnServer.current();
  if (server) return server.start(file, args, options);
  return spawnDirect(file, args, options);
}

function spawnDirect(file: string, args: readonly string[], options: StartOptions): ChildProcess {
  return spawn(file, args as string[], {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', ...Array.from({ length: options.pipes }, () => 'pipe' as const)],
    detached: true, // own process group, so the whole tree can be signalled at once
    windowsHide: true,
  });
}

/**
 * Let the spawn server exit once no command it started is running (the next command starts a
 * new one). For an owner that is done with commands, e.g. an engine being closed: the server
 * would otherwise stay until this process exits (it never keeps the process alive).
 */
export function stopSpawnServer(): void {
  SpawnServer.stop();
}

/** The error Node's spawn gives (`spawn <file> ENOENT`, errno negative, ...). */
function spawnError(file: string, args: readonly string[], errno: number): Error {
  const code = ERRNO_NAMES.get(errno) ?? `E${errno}`;
  return Object.assign(new Error(`spawn ${file} ${code}`), {
    errno: -errno,
    code,
    syscall: `spawn ${file}`,
    path: file,
    spawnargs: [...args],
  });
}

interface PipeHandle {
  close(): void;
}

/** A command started by the server, shaped like the parts of ChildProcess the runner uses. */
class ServerChild extends EventEmitter implements StartedChild {
  pid: number | undefined = undefined;
  stdio: Array<Readable | null> = [null];
  readonly handles = new Map<number, PipeHandle>();
  /** Exit status reported, waiting for the reap. */
  status: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private closesNeeded = 1;
  private closesGot = 0;
  abandoned = false;
  /** The server said it is about to start it: from then on it may run, pid or not. */
  launching = false;
  /** Nobody waits for it any more (see release). */
  released = false;

  constructor(
    readonly id: number,
    readonly file: string,
    readonly args: readonly string[],
    readonly options: StartOptions,
    private readonly server: SpawnServer,
  ) {
    super();
  }

  abandon(): void {
    if (this.abandoned || this.pid !== undefined) return;
    this.abandoned = true;
    this.server.cancel(this.id);
  }

  release(): void {
    this.server.release(this);
  }

  /** All pipes are here and the command runs: wrap the pipes as ChildProcess does. */
  started(pid: number): void {
    this.pid = pid;
    for (let k = 1; k <= this.options.pipes; k++) {
      // As ChildProcess wraps its stdio (`handle` is an option @types/node does not list).
      const socket = new Socket({ handle: this.handles.get(k), readable: true } as SocketConstructorOpts);
      this.closesNeeded++;
      socket.once('close', () => this.maybeClose());
      this.stdio[k] = socket;
    }
    this.handles.clear();
    this.emit('spawn');
  }

  failed(error: Error): void {
    this.dropHandles();
    this.emit('error', error);
  }

  /** Started by libuv instead (the server died before starting it): its events become ours. */
  spawnDirectly(): void {
    this.dropHandles();
    const child = spawnDirect(this.file, this.args, this.options);
    child.on('error', (err) => this.emit('error', err));
    if (child.pid === undefined) return; // its 'error' follows
    this.pid = child.pid;
    this.stdio = child.stdio as Array<Readable | null>;
    child.once('exit', (code, signal) => this.emit('exit', code, signal));
    child.once('close', (code, signal) => this.emit('close', code, signal));
    this.emit('spawn');
  }

  private dropHandles(): void {
    for (const handle of this.handles.values()) handle.close();
    this.handles.clear();
  }

  exited(): void {
    const { code, signal } = this.status!;
    this.emit('exit', code, signal);
    this.maybeClose();
  }

  private maybeClose(): void {
    if (++this.closesGot === this.closesNeeded) this.emit('close', this.status!.code, this.status!.signal);
  }
}

type ServerMessage =
  | { ready: 1 }
  | { y: number }
  | { i: number; k: number }
  | { i: number; l: 1 }
  | { i: number; p: number }
  | { i: number; err: number }
  | { i: number; x: number | null; s: number | null }
  | { i: number; d: 1 };

class SpawnServer {
  /** Undefined: start one with the next command; null: none can run here. */
  private static instance: SpawnServer | null | undefined;
  private static deaths = 0;
  private static asked = 0;

  /**
   * The server if it is ready. It is started with the second command a process runs: one that
   * runs a single command (a CLI call) would only pay for starting it.
   */
  static current(): SpawnServer | null {
    if (SpawnServer.instance === undefined && ++SpawnServer.asked > 1) SpawnServer.instance = SpawnServer.launch();
    return SpawnServer.instance?.ready ? SpawnServer.instance : null;
  }

  static stop(): void {
    const server = SpawnServer.instance;
    if (!server) return;
    SpawnServer.instance = undefined;
    server.stopping = true;
    server.ready = false;
    if (server.children.size === 0) server.disconnect();
  }

  private static launch(): SpawnServer | null {
    if (process.platform !== 'linux' || process.env.CLOUDOPS_SPAWN_SERVER === '0') return null;
    for (const python of PYTHONS) {
      try {
        accessSync(python, fsConstants.X_OK);
        return new SpawnServer(python);
      } catch {}
    }
    return null;
  }

  private ready = false;
  /** It said it was ready once. */
  private served = false;
  private stopping = false;
  private readonly proc: ChildProcess;
  private readonly children = new Map<number, ServerChild>();
  private nextId = 1;
  /** Children a run still waits for: the channel is referenced while there are any. */
  private waitedFor = 0;
  private lastEnv: string | null = null;

  private constructor(python: string) {
    // -I: no PYTHON* variables or user site; -S: no site module (faster start, not needed).
    this.proc = spawn(python, ['-I', '-S', '-c', SPAWN_SERVER_SCRIPT], {
      // Nothing of the server's may end up in the engine's output (a traceback, say).
      stdio: ['ignore', 'ignore', 'ignore', 'ipc'],
      serialization: 'json',
      // Its own session: a terminal's Ctrl-C (or a signal to the engine's group) must not end
      // it, or every command it started would be ended with it. It exits when the engine does
      // (its channel closes).
      detached: true,
    });
    this.proc.on('error', () => this.gone());
    this.proc.once('exit', () => this.gone());
    this.proc.on('message', (message: ServerMessage, handle?: PipeHandle) => this.onMessage(message, handle));
    // The server must never keep the engine alive: it is only referenced while commands are in flight.
    this.proc.unref();
    this.proc.channel?.unref();
  }

  start(file: string, args: readonly string[], options: StartOptions): ServerChild {
    const id = this.nextId++;
    const child = new ServerChild(id, file, args, options, this);
    if (this.waitedFor++ === 0) this.proc.channel?.ref();
    this.children.set(id, child);
    // The environment is sent again only when it changed (it is most often the engine's own).
    const source = options.env ?? process.env;
    const env = JSON.stringify(source);
    // Relative to the engine's cwd now, as libuv's spawn would resolve it (the server's own is
    // where it was started); through /proc, so an engine whose cwd was deleted behaves the same.
    const here = `/proc/${process.pid}/cwd`;
    const cwd = options.cwd === undefined ? here : isAbsolute(options.cwd) ? options.cwd : join(here, options.cwd);
    const request: Record<string, unknown> = { i: id, f: file, a: args, c: cwd, n: options.pipes };
    if (env === this.lastEnv) request.k = 1;
    else {
      request.e = source;
      this.lastEnv = env;
    }
    this.proc.send(request);
    return child;
  }

  private onMessage(message: ServerMessage, handle: PipeHandle | undefined): void {
    if ('ready' in message) {
      this.served = true;
      this.ready = !this.stopping;
      return;
    }
    if ('y' in message) {
      this.proc.send({ y: message.y });
      return;
    }
    const child = this.children.get(message.i);
    if (!child) {
      handle?.close();
      return;
    }
    if ('k' in message) {
      if (handle) child.handles.set(message.k, handle);
    } else if ('l' in message) {
      child.launching = true;
    } else if ('p' in message) {
      child.started(message.p);
    } else if ('err' in message) {
      this.forget(message.i);
      child.failed(spawnError(child.file, child.args, message.err));
    } else if ('x' in message) {
      child.status = { code: message.x, signal: message.s === null ? null : (SIGNAL_NAMES.get(message.s) ?? null) };
      this.proc.send({ r: message.i });
    } else if ('d' in message) {
      this.forget(message.i);
      child.exited();
    }
  }

  /** Closing the channel makes the server exit. */
  private disconnect(): void {
    if (this.proc.connected) this.proc.disconnect();
  }

  /** Do not start it if it has not been (the server answers ECANCELED then). */
  cancel(id: number): void {
    if (this.proc.connected) this.proc.send({ cancel: id });
  }

  /**
   * Its run ended without it (the server stalled): it stays known, so that a pid arriving
   * later gets it killed, but no longer keeps the channel, and so the engine, alive.
   */
  release(child: ServerChild): void {
    if (child.released || !this.children.has(child.id)) return;
    child.released = true;
    this.waitedFor--;
    this.unrefIfIdle();
  }

  private forget(id: number): void {
    const child = this.children.get(id);
    this.children.delete(id);
    if (child && !child.released) this.waitedFor--;
    this.unrefIfIdle();
  }

  private unrefIfIdle(): void {
    if (this.waitedFor > 0) return;
    if (this.stopping) this.disconnect();
    else this.proc.channel?.unref();
  }

  /**
   * The server died (or never started): later commands are spawned directly until a new one is
   * up (after MAX_DEATHS that never came up, for good: e.g. a Python too old exits at once). Commands it had not
   * started yet are spawned directly. Commands it had started are orphaned and their exit
   * status would never arrive: their trees are killed and they end as killed, unless their exit
   * was already reported. One it may have started without saying its pid yet (all its pipes
   * were passed) cannot be reached: it fails rather than risk running twice.
   */
  private gone(): void {
    // A server that died is replaced with the next command, but not forever.
    // Only a server that died before it was ever ready counts (it cannot run here); one that
    // served and was killed is simply replaced.
    if (!this.served) SpawnServer.deaths++;
    if (SpawnServer.instance === this) SpawnServer.instance = SpawnServer.deaths < MAX_DEATHS ? undefined : null;
    this.ready = false;
    const children = [...this.children.values()];
    this.children.clear();
    this.waitedFor = 0;
    for (const child of children) {
      if (child.pid === undefined) {
        if (child.abandoned) child.failed(spawnError(child.file, child.args, osConstants.errno.ECANCELED));
        else if (!child.launching) child.spawnDirectly();
        else {
          const error = spawnError(child.file, child.args, osConstants.errno.EPIPE);
          error.message += ' (the spawn server ended while starting it: it may have started)';
          child.failed(error);
        }
        continue;
      }
      if (!child.status) {
        signalTree(child.pid, 'SIGKILL');
        child.status = { code: null, signal: 'SIGKILL' };
      }
      child.exited();
    }
  }
}
