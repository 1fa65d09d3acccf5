import { expect, test } from 'vitest';
import { makeEngine, sh } from './helpers.js';

test('a shell command runs in the background and its result carries its output', async () => {
  const engine = makeEngine();
  const id = await engine.execute(sh('echo hello'));
  const result = await engine.wait(id);
  expect(result.status).toBe('completed');
  expect(result.stdout).toBe('hello\n');
});
