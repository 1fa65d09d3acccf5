/**
 * `npm test` begins with a preflight (scripts/preflight.mjs, first in the `pretest` script): with a
 * system program the suite needs missing, it stops before the build and before any test, in one
 * message naming everything missing. Programs are hidden by a PATH of temp dirs of symlinks that
 * mirrors the real PATH without them; nothing on the system is changed.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const scripts = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).scripts as Record<string, string>;

let temp: string;
beforeAll(() => {
  temp = mkdtempSync(join(tmpdir(), 'cee-preflight-'));
});
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** The real PATH's dirs (then this node's), each once: /bin is often /usr/bin. Missing dirs are left out. */
function pathDirs(): string[] {
  const dirs = new Set<string>();
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), dirname(process.execPath)]) {
    try {
      if (dir) dirs.add(realpathSync(dir));
    } catch {} // a PATH entry that does not exist
  }
  return [...dirs];
}

/** The real PATH mirrored as temp dirs of symlinks, without the programs in `omit`. */
function pathWithout(...omit: string[]): string {
  const dest = mkdtempSync(join(temp, 'path-'));
  return pathDirs()
    .map((dir, i) => {
      const mirror = join(dest, String(i));
      mkdirSync(mirror);
      for (const name of readdirSync(dir)) if (!omit.includes(name)) symlinkSync(join(dir, name), join(mirror, name));
      return mirror;
    })
    .join(delimiter);
}

/** The `npm test` chain's first command, run as npm runs a script (sh -c, from the package root). */
const preflight = scripts.pretest!.split('&&')[0]!.trim();

function run(command: string, path: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('/bin/sh', ['-c', command], { cwd: ROOT, env: { ...process.env, PATH: path } }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr }),
    );
  });
}

test('npm test runs the preflight first, before the build and vitest', () => {
  expect(preflight).toBe('node scripts/preflight.mjs');
  expect(scripts.pretest).toMatch(/^node scripts\/preflight\.mjs && .*tsc /);
  expect(scripts.test).toMatch(/^vitest run/);
});

describe('the preflight', () => {
  test('with everything present it passes silently', async () => {
    const r = await run(preflight, pathWithout());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  test('with redis-server not on PATH it stops, in one message naming it and how to install it', async () => {
    const r = await run(preflight, pathWithout('redis-server'));
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^Missing what the test suite needs \(1\); no test was run:\n {2}- redis-server \(not on PATH\)/,
    );
    expect(r.stderr).toMatch(/apt-get install -y redis-server\n/);
    expect(r.stderr.match(/Missing what/g)).toHaveLength(1);
  });

  test('names every missing dependency in the same message', async () => {
    const r = await run(preflight, pathWithout('redis-server', 'moto_server'));
    expect(r.code).toBe(1);
    expect(r.stderr.match(/Missing what/g)).toHaveLength(1);
    expect(r.stderr).toContain('(2); no test was run');
    expect(r.stderr).toContain('- redis-server (not on PATH)');
    expect(r.stderr).toContain('- moto_server (not on PATH)');
    expect(r.stderr).toContain("pip install 'moto[server]'");
  });

  test('--apt names the Debian packages to install (what scripts/test.sh installs), and nothing when all is there', async () => {
    expect((await run(`${preflight} --apt`, pathWithout('redis-server', 'moto_server'))).stdout).toBe('redis-server\n');
    expect(await run(`${preflight} --apt`, pathWithout())).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});

test("the README's test command is the one CI runs, and it starts with what the tests need", () => {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const block = /## Setup and run[\s\S]*?```sh\n([\s\S]*?)```/.exec(readme)![1]!;
  const commands = block
    .trim()
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, ''));
  expect(commands).toHaveLength(2);
  expect(commands[1]).toBe('npm run test:all');
  expect(scripts['test:all']).toBe('bash scripts/test.sh');
  expect(readFileSync(join(ROOT, '.ci/run'), 'utf8').split('\n')).toContain('npm run test:all');
});
