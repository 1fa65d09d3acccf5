/** Plans and requests sent to the server as YAML: run, located syntax errors, aliases refused, the body limit, OpenAPI. */
import { expect, test } from 'vitest';
import { parsePlanSource } from '../src/cli/plan-file.js';
import { PlanFileError } from '../src/cli/plan-file-error.js';
import { startTestServer } from './support/server.js';

const YAML = { 'content-type': 'application/yaml' };

const PLAN = `# a comment: YAML, not JSON
strategy:
  type: dependency_graph
  dependencies:
    report: [hello]
commands:
  - name: hello
    command: {type: exec, program: echo, args: [hello from yaml]}
  - name: report
    command:
      type: shell
      command: echo reported
`;

test('a plan sent as YAML runs as its JSON would', async () => {
  const { api } = await startTestServer({ approval: { auto_approve_readonly: true } });
  const submitted = await api('POST', '/api/plans', PLAN, YAML);
  expect(submitted.status, JSON.stringify(submitted.body)).toBe(202);
  const result = await api('GET', `/api/executions/${submitted.body.id}/result?wait=true`);
  expect(result.body.status).toBe('completed');
  expect(result.body.results.map((r: { stdout: string }) => r.stdout.trim())).toEqual(['hello from yaml', 'reported']);

  // One request, as text/yaml, and the dry run.
  const one = await api('POST', '/api/executions', 'command: {type: exec, program: echo, args: [one]}\n', {
    'content-type': 'text/yaml; charset=utf-8',
  });
  expect(one.status, JSON.stringify(one.body)).toBe(202);
  expect((await api('GET', `/api/executions/${one.body.id}/result?wait=true`)).body.stdout.trim()).toBe('one');
  const dry = await api('POST', '/api/dry-run', PLAN, YAML);
  expect(dry.status, JSON.stringify(dry.body)).toBe(200);
});

test('a YAML syntax error is a 400 naming its line and column; a bad field is named as for JSON', async () => {
  const { api } = await startTestServer();
  const broken = 'commands:\n  - command: {type: exec, program: echo\n  - name: x\n';
  const answer = await api('POST', '/api/plans', broken, YAML);
  expect(answer.status).toBe(400);
  expect(answer.body.error.code).toBe('Validation');
  expect(answer.body.error.reason).toMatch(/^not valid YAML: .*\(at line \d+, column \d+\)$/);

  const duplicate = await api('POST', '/api/plans', 'commands: []\ncommands: []\n', YAML);
  expect(duplicate.status).toBe(400);
  expect(duplicate.body.error.reason).toMatch(/not valid YAML: .*(unique|duplicate).*\(at line 2, column 1\)/i);

  const badField = await api('POST', '/api/plans', 'commands:\n  - command: {type: teleport}\n', YAML);
  expect(badField.status).toBe(400);
  expect(badField.body.error.field).toMatch(/^commands\[0\]\.command/);
});

test('a "billion laughs" document is refused before it expands: aliases are refused, at their place', async () => {
  const { api } = await startTestServer();
  const levels = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  for (let i = 1; i < 9; i++) {
    const prev = String.fromCharCode(96 + i);
    const name = String.fromCharCode(97 + i);
    levels.push(`${name}: &${name} [${Array(9).fill(`*${prev}`).join(',')}]`);
  }
  const bomb = `${levels.join('\n')}\ncommands:\n  - command: {type: exec, program: echo, args: *i}\n`;
  expect(bomb.length).toBeLessThan(1024);
  const answer = await api('POST', '/api/plans', bomb, YAML);
  expect(answer.status).toBe(400);
  expect(answer.body.error.reason).toMatch(
    /YAML aliases \(\*a\) are not accepted in request bodies; write the value out \(at line 2, column \d+\)/,
  );

  const dangling = await api('POST', '/api/plans', 'commands: *nothing\n', YAML);
  expect(dangling.status).toBe(400);
  expect(dangling.body.error.reason).toMatch(/aliases \(\*nothing\) are not accepted .*\(at line 1, column 11\)/);
});

test('an alias cannot take a body past the body limit: one anchored string used many times is refused', async () => {
  const { api } = await startTestServer({}, { bodyLimit: 64 * 1024 });
  // 40 KB of text aliased 19 times: 800 KB of arguments from a body within a 64 KB limit.
  const body = `commands:\n  - command: {type: exec, program: echo, args: [&big "${'y'.repeat(40_000)}", ${Array(19).fill('*big').join(', ')}]}\n`;
  expect(body.length).toBeLessThan(64 * 1024);
  const answer = await api('POST', '/api/plans', body, YAML);
  expect(answer.status).toBe(400);
  expect(answer.body.error.code).toBe('Validation');
  expect(answer.body.error.reason).toMatch(
    /YAML aliases \(\*big\) are not accepted in request bodies; write the value out \(at line 2, column \d+\)/,
  );
});

test('a plan file keeps its aliases, but written out they are held to the plan file bound', () => {
  const shared =
    'commands:\n  - env: &env {A: "1"}\n    command: {type: exec, program: "true"}\n  - env: *env\n    command: {type: exec, program: "true"}\n';
  expect(parsePlanSource({ name: 'shared.yaml', text: shared }).commands.map((c) => c.env)).toEqual([
    { A: '1' },
    { A: '1' },
  ]);

  // 900 KB aliased 19 times: 18 MB written out, past the 16 MiB a plan file may be.
  const big = `commands:\n  - command: {type: exec, program: echo, args: [&big "${'y'.repeat(900_000)}", ${Array(19).fill('*big').join(', ')}]}\n`;
  let refused: unknown;
  try {
    parsePlanSource({ name: 'big.yaml', text: big });
  } catch (err) {
    refused = err;
  }
  expect(refused).toBeInstanceOf(PlanFileError);
  expect((refused as PlanFileError).message).toMatch(/aliases expand too much/);
});

test('many syntax errors: the first 20 are placed, the rest counted; the answer stays small', async () => {
  const { api } = await startTestServer();
  const answer = await api('POST', '/api/plans', '- ]\n'.repeat(2_000), YAML);
  expect(answer.status).toBe(400);
  expect(answer.body.error.code).toBe('Validation');
  const issues = answer.body.error.issues as Array<{ reason: string }>;
  expect(issues.length).toBe(21);
  expect(issues[0]!.reason).toMatch(/^not valid YAML: .*\(at line 1, column 3\)$/);
  expect(issues[19]!.reason).toMatch(/\(at line \d+, column \d+\)$/);
  expect(issues[20]!.reason).toMatch(/^not valid YAML: and \d+ more problems$/);
  expect(JSON.stringify(answer.body).length).toBeLessThan(10_000);
});

test('nesting past 64 levels is refused before parsing, as for JSON', async () => {
  const { api } = await startTestServer();
  const brackets = await api('POST', '/api/plans', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, YAML);
  expect(brackets.status).toBe(400);
  expect(brackets.body.error.reason).toBe('nested more than 64 levels deep (at line 1, column 66)');
  const maps = await api('POST', '/api/plans', `commands: ${'{a: '.repeat(50_000)}x${'}'.repeat(50_000)}`, YAML);
  expect(maps.status).toBe(400);
  expect(maps.body.error.reason).toMatch(/^nested more than 64 levels deep \(at line 1, column \d+\)$/);
  const dashes = await api('POST', '/api/plans', `${'- '.repeat(100_000)}x\n`, YAML);
  expect(dashes.status).toBe(400);
  expect(dashes.body.error.reason).toMatch(/^nested more than 64 levels deep \(at line 1, column 131\)$/);

  // Brackets inside quotes, comments and block scalars nest nothing; 64 levels are fine.
  const fine = `# ${'['.repeat(100)}\ncommands:\n  - command:\n      type: shell\n      command: |\n        echo '${'['.repeat(100)}'\n  - command: {type: exec, program: echo, args: ["${'{'.repeat(100)}", '${'['.repeat(100)}']}\n`;
  expect((await api('POST', '/api/dry-run', fine, YAML)).status).toBe(200);
  // The bound is the JSON path's, to the level: 65 nested lists pass it in both, 66 in neither.
  for (const levels of [65, 66]) {
    const nested = `${'['.repeat(levels)}${']'.repeat(levels)}`;
    const json = await api('POST', '/api/plans', nested, { 'content-type': 'application/json' });
    const yaml = await api('POST', '/api/plans', nested, YAML);
    expect(/nested more than 64/.test(yaml.body.error.reason), `${levels}: ${yaml.body.error.reason}`).toBe(
      /nested more than 64/.test(json.body.error.reason),
    );
  }
  const indented = Array.from({ length: 70 }, (_, i) => `${' '.repeat(i)}k${i}:`).join('\n');
  expect((await api('POST', '/api/plans', indented, YAML)).body.error.reason).toMatch(
    /^nested more than 64 levels deep/,
  );

  expect(() => parsePlanSource({ name: 'deep.yaml', text: `${'['.repeat(100_000)}${']'.repeat(100_000)}` })).toThrow(
    /nested more than 64 levels deep/,
  );
});

test('YAML warnings are errors: an unknown tag and a list as a key are refused at their place', async () => {
  const { api } = await startTestServer();
  const tagged = await api('POST', '/api/executions', 'command: {type: exec, program: !!js/function "x"}\n', YAML);
  expect(tagged.status).toBe(400);
  expect(tagged.body.error.reason).toMatch(/^not valid YAML: .*js\/function.*\(at line 1, column \d+\)$/);

  const listKey = await api(
    'POST',
    '/api/executions',
    'command: {type: exec, program: echo, env: {? [a, b] : c}}\n',
    YAML,
  );
  expect(listKey.status).toBe(400);
  expect(listKey.body.error.reason).toMatch(/a key must be a scalar .*\(at line 1, column \d+\)$/);
});

test('the body limit holds for YAML; YAML elsewhere is a 415; OpenAPI lists the YAML bodies', async () => {
  const { api } = await startTestServer({}, { bodyLimit: 4096 });
  const big = `commands:\n  - command: {type: exec, program: echo, args: ["${'x'.repeat(5000)}"]}\n`;
  const tooLarge = await api('POST', '/api/plans', big, YAML);
  expect(tooLarge.status).toBe(413);
  expect(tooLarge.body.error.code).toBe('PayloadTooLarge');

  const elsewhere = await api('POST', '/api/approvals/some-id/decision', 'decision: {type: approve}\n', YAML);
  expect(elsewhere.status).toBe(415);
  expect(elsewhere.body.error.code).toBe('UnsupportedMediaType');

  const doc = (await api('GET', '/api/openapi.json')).body;
  for (const path of ['/api/plans', '/api/executions', '/api/dry-run']) {
    const content = doc.paths[path].post.requestBody.content;
    expect(Object.keys(content), path).toEqual(
      expect.arrayContaining(['application/json', 'application/yaml', 'text/yaml']),
    );
  }
  expect(Object.keys(doc.paths['/api/approvals/{id}/decision'].post.requestBody.content)).toEqual(['application/json']);
});
