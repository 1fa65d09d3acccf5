/** The README's quick start runs as written, against the built package (self-referenced by name). */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

test('README quick start runs and prints what it promises', () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const block = /<!-- quickstart[^>]*-->\s*```js\n([\s\S]*?)```/.exec(readme);
  expect(block, 'quick start block marked in README').not.toBeNull();
  // Inside the package, so `import 'cloudops-execution-engine'` resolves to dist/ via "exports".
  mkdirSync(`${root}test-artifacts`, { recursive: true });
  const file = `${root}test-artifacts/quickstart.mjs`;
  writeFileSync(file, block![1]!);
  const out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
  expect(out).toMatch(/\] Linux\n/);
  expect(out).toMatch(/^completed 0 \d+ms \/.*\.log$/m);
  expect(out).toMatch(/progress 3\/3/);
  expect(out).toMatch(/completed \{[^}]*total: 3,[^}]*completed: 3/);
});

test("README's setup-and-run command runs the example plan with cloudops-exec", () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const setup = /## Setup and run[\s\S]*?```sh\n([^\n]+)\n/.exec(readme)![1]!.replace(/\s+#.*$/, '');
  expect(setup).toMatch(/^npm ci && npx cloudops-exec run examples\//);
  // `npm ci` already ran for this checkout; run the rest exactly as written.
  const run = setup.replace(/^npm ci && /, '');
  const out = execFileSync('sh', ['-c', run], {
    cwd: root,
    encoding: 'utf8',
    timeout: 120_000,
    env: { ...process.env, CLOUDOPS_LOG_DIR: mkdtempSync(join(tmpdir(), 'cee-readme-')) },
  });
  expect(out).toMatch(/completed — \d+ completed of \d+/);
}, 120_000);

test("README's history snippet runs as written", () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const block = /<!-- history[^>]*-->\s*```js\n([\s\S]*?)```/.exec(readme);
  expect(block, 'history block marked in README').not.toBeNull();
  mkdirSync(`${root}test-artifacts`, { recursive: true });
  const file = `${root}test-artifacts/history-snippet.mjs`;
  writeFileSync(file, block![1]!);
  // Its engine keeps logs and history in the state dir: a fresh one here.
  const state = mkdtempSync(join(tmpdir(), 'cee-readme-history-'));
  const out = execFileSync(process.execPath, [file], {
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, XDG_STATE_HOME: state },
  });
  expect(out).toMatch(/^\[ '[0-9a-f-]{36}' \]\n1\n1 failed\nfailed\n$/);
});

test("README's command-line examples write nothing into the checkout", () => {
  const readme = readFileSync(`${root}README.md`, 'utf8');
  const line = /^npx cloudops-exec sh '([^']+)'/m.exec(readme);
  expect(line).not.toBeNull();
  expect(line![1]).not.toMatch(/>|\btee\b|make /);
  const out = execFileSync('bash', ['-c', line![1]!], { encoding: 'utf8' });
  expect(Number(out.trim())).toBeGreaterThan(0);
});
