/**
 * Scripts as the command model sees them: where a script's path points, and the interpreter
 * its `#!` line names (read safely: the path is the client's).
 */
import { constants as fsConstants, type Stats } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { ValidationError } from '../errors.js';

/** Where a script's path points, relative paths taken from the request's working dir. */
export function scriptPathOf(path: string, workingDir: string | null): string {
  return isAbsolute(path) || !workingDir ? path : resolve(workingDir, path);
}

const SHEBANG_LIMIT = 1024;

/** What a non-regular file is, for the error: `/dev/zero` is "a character device". */
export function fileKind(info: Stats): string {
  if (info.isFIFO()) return 'a FIFO';
  if (info.isCharacterDevice()) return 'a character device';
  if (info.isBlockDevice()) return 'a block device';
  if (info.isSocket()) return 'a socket';
  if (info.isDirectory()) return 'a directory';
  if (info.isFile()) return 'a regular file';
  return 'an unknown kind of file';
}

function notFound(path: string, err: unknown): ValidationError {
  const code = (err as NodeJS.ErrnoException).code;
  const why =
    code === 'ENOENT'
      ? 'no such file'
      : code === 'EACCES'
        ? 'permission denied'
        : code === 'ENOTDIR'
          ? 'a parent is not a directory'
          : String(code ?? err);
  return ValidationError.of('ScriptNotFound', 'command.path', `${path} (${why})`);
}

function notRegular(path: string, info: Stats): ValidationError {
  return ValidationError.of('ScriptNotFound', 'command.path', `${path} is not a regular file (${fileKind(info)})`);
}

/**
 * The interpreter named by a script's `#!` line, split into program and arguments
 * (`#!/usr/bin/env python3 -u` -> ['/usr/bin/env', 'python3', '-u']); null without one.
 * Throws ScriptNotFound when the path is not a readable regular file.
 *
 * The path is the client's: opening a FIFO blocks until someone writes to it, and each
 * blocked open holds one of libuv's four I/O threads (four such requests stalled every
 * command, log read and validation). So the type is checked before opening; the open is
 * non-blocking, so a file swapped for a FIFO after the check cannot block either; and the
 * opened file is checked again. Reading is bounded (SHEBANG_LIMIT bytes, one read).
 */
export async function readShebang(path: string): Promise<string[] | null> {
  const before = await stat(path).catch((err: unknown) => {
    throw notFound(path, err);
  });
  if (!before.isFile()) throw notRegular(path, before);
  let handle;
  try {
    // O_NOCTTY: a terminal swapped in must not become our controlling terminal.
    handle = await open(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOCTTY);
  } catch (err) {
    throw notFound(path, err);
  }
  try {
    const info = await handle.stat();
    if (!info.isFile()) throw notRegular(path, info);
    const buf = Buffer.alloc(SHEBANG_LIMIT);
    const { bytesRead } = await handle.read(buf, 0, SHEBANG_LIMIT, 0);
    const head = buf.subarray(0, bytesRead).toString('utf8');
    if (!head.startsWith('#!')) return null;
    const line = head.slice(2).split('\n', 1)[0]!.replace(/\r$/, '').trim();
    const parts = line.split(/\s+/).filter(Boolean);
    return parts.length > 0 ? parts : null;
  } finally {
    await handle.close();
  }
}
