/** Plans and requests sent to the server as YAML: run, located syntax errors, alias bombs refused, the body limit, OpenAPI. */
import { expect, test } from 'vitest';
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

test('a "billion laughs" document is refused before it expands; an alias with no anchor is named', async () => {
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
  expect(answer.body.error.reason).toMatch(/aliases expand too much/);

  const dangling = await api('POST', '/api/plans', 'commands: *nothing\n', YAML);
  expect(dangling.status).toBe(400);
  expect(dangling.body.error.reason).toMatch(/alias \*nothing has no anchor before it \(at line 1, column 11\)/);
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
