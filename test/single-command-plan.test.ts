/** singleCommandPlan: the plan `execute` assesses a command in is the one parsePlan would make, without parsing the command again. */
import { expect, test } from 'vitest';
import { parsePlan, parseRequest, singleCommandPlan } from '../src/wire/parse.js';

const requests = [
  { command: { type: 'exec', program: 'true' } },
  {
    id: '6f1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f',
    name: 'step',
    command: { type: 'shell', command: 'echo $A' },
    env: { A: '1', API_TOKEN: 'abcdefghijkl' },
    timeout_ms: 5000,
    working_dir: '/tmp',
    retry: { max_attempts: 3, retryable_exit_codes: [7] },
    metadata: {
      source: 'test',
      conversation_id: '7a1c2d3e-4b5a-4c7d-8e9f-0a1b2c3d4e5f',
      user_prompt: 'do it',
      tags: { team: 'x' },
    },
    rollback: [{ command: { type: 'exec', program: 'false' } }],
  },
];

test.each(requests)('equals parsePlan({ id, commands: [request] }) for an already parsed request', (input) => {
  const request = parseRequest(input);
  expect(singleCommandPlan(request)).toEqual(parsePlan({ id: request.id, commands: [request] }));
});

test('each plan has objects of its own, and holds the request itself', () => {
  const request = parseRequest(requests[0]);
  const a = singleCommandPlan(request);
  const b = singleCommandPlan(request);
  expect(a.commands[0]).toBe(request);
  expect(a.strategy).not.toBe(b.strategy);
  expect(a.metadata).not.toBe(b.metadata);
});
