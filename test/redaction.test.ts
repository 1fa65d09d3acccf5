/** Secret values never leave the engine: not in results, logs, events or the displayed command. */
import { readFileSync } from 'node:fs';
import { expect, test } from 'vitest';
import type { ExecutionEvent } from '../src/index.js';
import { makeEngine, sh } from './helpers.js';

const SECRET = 'pa55-w0rd-7d1e2f3a';

test('a secret env value printed by the command is redacted in stdout, stderr, log and events', async () => {
  const engine = makeEngine();
  const events: ExecutionEvent[] = [];
  engine.withEventHandler((e) => void events.push(e));
  const id = await engine.execute({
    ...sh('echo "connecting with $DB_PASSWORD"; echo "auth=$DB_PASSWORD" >&2; printf "tail:%s" "$DB_PASSWORD"'),
    env: { DB_PASSWORD: SECRET },
  });
  const result = await engine.wait(id);
  expect(result.stdout).toBe('connecting with ***\ntail:***');
  expect(result.stderr).toBe('auth=***\n');
  const log = readFileSync(result.log_path, 'utf8');
  expect(log).not.toContain(SECRET);
  expect(log).toContain('[stdout] connecting with ***');
  expect(JSON.stringify(events)).not.toContain(SECRET);
  expect(events.filter((e) => e.event_type === 'stdout').map((e) => (e as { line: string }).line)).toEqual([
    'connecting with ***',
    'tail:***',
  ]);
});

test('a secret in argv is redacted from the displayed command, the started event and the log header', async () => {
  const engine = makeEngine();
  const events: ExecutionEvent[] = [];
  engine.withEventHandler((e) => void events.push(e));
  const id = await engine.execute({
    command: { type: 'exec', program: 'echo', args: ['--token', SECRET] },
    env: { API_TOKEN: SECRET },
  });
  const result = await engine.wait(id);
  expect(result.stdout).toBe('--token ***\n');
  expect((await engine.listExecutions())[0]!.command).toBe('echo --token ***');
  expect(events[0]).toMatchObject({ event_type: 'started', command: 'echo --token ***' });
  expect(readFileSync(result.log_path, 'utf8')).not.toContain(SECRET);
});

test('secrets from the inherited environment (AWS_SESSION_TOKEN) are redacted too', async () => {
  const before = process.env.AWS_SESSION_TOKEN;
  process.env.AWS_SESSION_TOKEN = 'FwoGZXIvYXdzEXAMPLETOKEN';
  try {
    const engine = makeEngine();
    const result = await engine.wait(await engine.execute(sh('echo "$AWS_SESSION_TOKEN"')));
    expect(result.stdout).toBe('***\n');
  } finally {
    if (before === undefined) delete process.env.AWS_SESSION_TOKEN;
    else process.env.AWS_SESSION_TOKEN = before;
  }
});

test('a secret split across pipe reads is still redacted in the log', async () => {
  const engine = makeEngine();
  // Two writes with a pause: the secret arrives in two chunks of one line.
  const id = await engine.execute({
    ...sh('printf "x%s" "${DB_PASSWORD%????????}"; sleep 0.1; printf "%s y\\n" "${DB_PASSWORD#??????????}"'),
    env: { DB_PASSWORD: SECRET },
  });
  const result = await engine.wait(id);
  expect(result.stdout).toBe('x*** y\n');
  expect(readFileSync(result.log_path, 'utf8')).not.toContain(SECRET);
});

test('redact_secrets: false turns it off', async () => {
  const engine = makeEngine({ redact_secrets: false });
  const result = await engine.wait(await engine.execute({ ...sh('echo $DB_PASSWORD'), env: { DB_PASSWORD: SECRET } }));
  expect(result.stdout).toBe(`${SECRET}\n`);
});
