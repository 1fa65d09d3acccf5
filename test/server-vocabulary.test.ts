/**
 * One vocabulary and one error catalogue over HTTP: the words clients (the dashboard) use come
 * from the server, results say why they failed as a code that listings can filter on, and each
 * engine error answers with the status the catalogue gives it.
 */
import { expect, test } from 'vitest';
import { ERRORS, ExecutionError, type ExecutionErrorCode, ValidationError } from '../src/errors.js';
import { httpErrorOf } from '../src/server/http-errors.js';
import {
  ACTIVE_STATUSES,
  EXECUTION_STATUSES,
  FAILED_STATUSES,
  RESULT_ERROR_CODES,
  RISK_LEVELS,
} from '../src/vocabulary.js';
import { EVENT_TYPES } from '../src/wire/schema.js';
import { startTestServer } from './support/server.js';

test('GET /api/vocabulary gives the words of the one definition, behind the token, and is documented', async () => {
  const { api, url } = await startTestServer();
  const answer = await api('GET', '/api/vocabulary');
  expect(answer.status).toBe(200);
  expect(answer.body).toEqual({
    statuses: [...EXECUTION_STATUSES],
    active_statuses: [...ACTIVE_STATUSES],
    failed_statuses: [...FAILED_STATUSES],
    risk_levels: [...RISK_LEVELS],
    approval_states: ['pending', 'approved', 'rejected', 'expired'],
    result_error_codes: [...RESULT_ERROR_CODES],
    kinds: ['command', 'plan'],
    event_types: [...EVENT_TYPES],
    line_event_types: ['stdout', 'stderr'],
  });
  expect(answer.body.event_types).toEqual(expect.arrayContaining(['started', 'failed', 'rollback_completed']));
  expect(answer.body.result_error_codes).toEqual(
    expect.arrayContaining(['exit', 'timeout', 'cancelled', 'spawn_failed', 'interrupted']),
  );
  expect((await fetch(`${url}/api/vocabulary`)).status).toBe(401);

  const doc = (await api('GET', '/api/openapi.json')).body;
  const documented = doc.paths['/api/vocabulary'].get.responses['200'].content['application/json'].schema;
  expect(documented.properties.statuses.items.enum).toEqual([...EXECUTION_STATUSES]);
  expect(documented.properties.result_error_codes.items.enum).toEqual([...RESULT_ERROR_CODES]);
  // The listing's filters are the same words.
  const listParameters = doc.paths['/api/executions'].get.parameters as Array<{
    name: string;
    schema: { enum?: string[] };
  }>;
  expect(listParameters.find((p) => p.name === 'status')!.schema.enum).toEqual([...EXECUTION_STATUSES]);
  expect(listParameters.find((p) => p.name === 'error_code')!.schema.enum).toEqual([...RESULT_ERROR_CODES]);
  // Users never saw the design documents: the document does not speak of them.
  expect(JSON.stringify(doc)).not.toMatch(/seed/i);
});

test('results say why they failed as error_code: shown in listings and details, filtered by ?error_code=', async () => {
  const { api } = await startTestServer();
  const submit = async (body: unknown) => {
    const id = (await api('POST', '/api/executions', body)).body.id as string;
    await api('GET', `/api/executions/${id}/result?wait=true`);
    return id;
  };
  const exited = await submit({ command: { type: 'shell', command: 'exit 3' } });
  const unstartable = await submit({ command: { type: 'exec', program: 'no-such-program-cee-xyz' } });
  const fine = await submit({ command: { type: 'shell', command: 'true' } });

  const byCode = async (code: string) =>
    (await api('GET', `/api/executions?error_code=${code}`)).body as {
      executions: Array<{ id: string; error_code: string | null }>;
      total: number;
    };
  expect(await byCode('exit')).toEqual({
    executions: [expect.objectContaining({ id: exited, error_code: 'exit' })],
    total: 1,
  });
  expect(await byCode('spawn_failed')).toEqual({
    executions: [expect.objectContaining({ id: unstartable, error_code: 'spawn_failed' })],
    total: 1,
  });
  expect((await byCode('timeout')).total).toBe(0);

  expect((await api('GET', `/api/executions/${exited}`)).body.execution).toMatchObject({
    status: 'failed',
    error_code: 'exit',
    error: expect.any(String),
  });
  expect((await api('GET', `/api/executions/${fine}`)).body.execution).toMatchObject({
    status: 'completed',
    error_code: null,
    error: null,
  });

  const bad = await api('GET', '/api/executions?error_code=Process%20spawn%20failed');
  expect(bad.status).toBe(400);
  expect(bad.body.error).toMatchObject({ code: 'Validation', field: 'error_code' });
  expect(bad.body.error.reason).not.toContain('did you mean'); // nothing is near it
});

test('a mistyped word in a query names the field, the words and the one it was probably meant to be', async () => {
  const { api } = await startTestServer();
  for (const [path, field, meant] of [
    ['/api/executions?status=runing', 'status', 'running'],
    ['/api/executions?risk_level=modfy', 'risk_level', 'modify'],
    ['/api/executions?kind=comand', 'kind', 'command'],
    ['/api/executions?error_code=timout', 'error_code', 'timeout'],
    ['/api/approvals?state=aproved', 'state', 'approved'],
  ] as const) {
    const answer = await api('GET', path);
    expect(answer.status, path).toBe(400);
    expect(answer.body.error, path).toMatchObject({ code: 'Validation', kind: 'InvalidField', field });
    expect(answer.body.error.reason, path).toContain('expected one of');
    expect(answer.body.error.reason, path).toMatch(new RegExp(`; did you mean "${meant}"\\?$`));
    expect(answer.body.error.message, path).toContain(`did you mean "${meant}"?`);
  }
});

test('each engine error answers with the status the error catalogue gives its code', () => {
  const expected: Record<ExecutionErrorCode, number> = {
    Validation: 400,
    NotFound: 404,
    Timeout: 504,
    Cancelled: 409,
    CommandFailed: 500,
    SpawnFailed: 500,
    Io: 500,
    Serialization: 500,
    NotCompleted: 409,
    NotRunning: 409,
    AlreadyDecided: 409,
    DuplicateId: 409,
    ShuttingDown: 503,
    ApprovalRequired: 409,
    ApprovalRejected: 409,
    RollbackFailed: 500,
    ExecutorNotAvailable: 422,
    Forbidden: 403,
    SelfApproval: 403,
    DigestMismatch: 409,
    Expired: 409,
    DryRunChanged: 409,
    NotResumable: 409,
  };
  expect(Object.keys(expected).sort()).toEqual(Object.keys(ERRORS).sort());
  for (const [code, status] of Object.entries(expected) as Array<[ExecutionErrorCode, number]>) {
    expect(httpErrorOf(new ExecutionError(code, `a ${code} error`)), code).toEqual({
      status,
      body: { error: { code, message: `a ${code} error` } },
    });
  }
  const invalid = httpErrorOf(ValidationError.of('InvalidField', 'limit', 'too big'));
  expect(invalid).toMatchObject({
    status: 400,
    body: { error: { code: 'Validation', kind: 'InvalidField', field: 'limit', reason: 'too big' } },
  });
});
