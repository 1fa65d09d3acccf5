/**
 * Named plan steps: dependencies by name (resolved to indices, the plan keeping its names),
 * the checks on names, and the name shown in history, the HTTP API, events and `run`.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { HistoryStore } from '../src/history/store.js';
import { type ExecutionEvent, type ExecutionPlanInput, parseEvent, parsePlan, ValidationError } from '../src/index.js';
import { stepIndex, stepLabel } from '../src/wire/step-names.js';
import { makeEngine, sh, tempDir, validationErrorOf } from './helpers.js';
import { storeAtVersion } from './support/old-store.js';
import { startTestServer } from './support/server.js';

const lines = (path: string) => readFileSync(path, 'utf8').trim().split('\n');

/** build and lint, then deploy after both (by name), then report after deploy (by index). */
function pipeline(log: string): ExecutionPlanInput {
  return {
    strategy: { type: 'dependency_graph', dependencies: { deploy: ['build', 'lint'], '3': [2] } },
    commands: [
      { name: 'build', ...sh(`sleep 0.3; echo build >> ${log}`) },
      { name: 'lint', ...sh(`sleep 0.2; echo lint >> ${log}`) },
      { name: 'deploy', ...sh(`echo deploy >> ${log}`) },
      sh(`echo report >> ${log}`),
    ],
  };
}

/** The ValidationError a plan is refused with (nothing may have run). */
async function refusal(plan: ExecutionPlanInput): Promise<ValidationError> {
  const engine = makeEngine();
  const err = await engine.executePlan(plan).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ValidationError);
  expect(await engine.listExecutions()).toEqual([]);
  return err as ValidationError;
}

describe('dependencies by name', () => {
  test('a graph keyed by names runs in dependency order; the stored plan keeps the names; history and events carry them', async () => {
    const log = join(tempDir(), 'log');
    const engine = makeEngine();
    const id = await engine.executePlan(pipeline(log));
    const events: ExecutionEvent[] = [];
    for await (const e of engine.events(id)) events.push(e);
    const result = await engine.waitPlan(id);
    expect(result.status).toBe('completed');
    const order = lines(log);
    expect(order.slice(2)).toEqual(['deploy', 'report']);
    expect(order.slice(0, 2).sort()).toEqual(['build', 'lint']);

    const history = engine.history!;
    const plan = history.get(id)!.plan!;
    expect(plan.strategy).toMatchObject({ dependencies: { deploy: ['build', 'lint'], '3': [2] } });
    const steps = history.list({ plan_id: id });
    const names = new Map(steps.map((r) => [r.id, r.name]));
    expect(plan.commands.map((c) => names.get(c.id))).toEqual(['build', 'lint', 'deploy', null]);
    expect(history.get(id)!.name).toBeNull();

    const started = events.filter((e) => e.event_type === 'started');
    expect(new Map(started.map((e) => [e.execution_id, e.name]))).toEqual(
      new Map(plan.commands.map((c) => [c.id, c.name])),
    );
  });

  test('a step skipped after a named dependency failed names it', async () => {
    const engine = makeEngine();
    const id = await engine.executePlan({
      strategy: { type: 'dependency_graph', dependencies: { deploy: ['build'] } },
      commands: [
        { name: 'build', ...sh('exit 3') },
        { name: 'deploy', ...sh('true') },
      ],
    });
    const result = await engine.waitPlan(id);
    expect(result.results.map((r) => r.status)).toEqual(['failed', 'skipped']);
    expect(result.results[1]!.error).toMatch(/dependency build \(exit 3\) did not complete \(failed\)/);
  });

  test('stepIndex takes a name, an index or a decimal string; stepLabel is the name or #index', () => {
    const plan = { commands: [{ name: 'build' }, { name: null }, {}] };
    expect([stepIndex(plan, 'build'), stepIndex(plan, 1), stepIndex(plan, '2')]).toEqual([0, 1, 2]);
    expect([stepIndex(plan, 'deploy'), stepIndex(plan, 3), stepIndex(plan, '3'), stepIndex(plan, -1)]).toEqual([
      null,
      null,
      null,
      null,
    ]);
    expect([0, 1, 2].map((i) => stepLabel(plan, i))).toEqual(['build', '#1', '#2']);
  });
});

describe('checks on names', () => {
  test('a name used twice is refused on the second use, naming the first', async () => {
    const err = await refusal({
      commands: [
        { name: 'build', ...sh('true') },
        { name: 'build', ...sh('true') },
      ],
    });
    expect(err).toMatchObject({ kind: 'InvalidPlan', field: 'commands[1].name' });
    expect(err.message).toMatch(/"build" is also used by commands\[0\]/);
  });

  test('a rollback step may not reuse a command name', async () => {
    const err = await refusal({
      commands: [{ name: 'build', ...sh('true'), rollback: [{ name: 'build', ...sh('true') }] }],
    });
    expect(err).toMatchObject({ kind: 'InvalidPlan', field: 'commands[0].rollback[0].name' });
  });

  test.each([
    ['Build', /a-z, 0-9/],
    ['deploy prod', /a-z, 0-9/],
    ['', /1 to 64/],
    ['x'.repeat(65), /1 to 64/],
    ['3', /only digits/],
  ])('the name %j is refused, naming the field', async (name, reason) => {
    const err = await refusal({ commands: [sh('true'), { name, ...sh('true') }] });
    expect(err.field).toBe('commands[1].name');
    expect(err.message).toMatch(reason);
  });

  test('an unknown dependency name says which step was meant, on the field that holds it', async () => {
    const base = pipeline('/dev/null');
    const err = await refusal({
      ...base,
      strategy: { type: 'dependency_graph', dependencies: { deploy: ['biuld', 'lint'] } },
    });
    expect(err).toMatchObject({ kind: 'InvalidPlan', field: 'strategy.dependencies.deploy' });
    expect(err.message).toMatch(/command deploy depends on "biuld", which no step is named; did you mean "build"\?/);

    const key = await refusal({ ...base, strategy: { type: 'dependency_graph', dependencies: { deplyo: ['build'] } } });
    expect(key).toMatchObject({ kind: 'InvalidPlan', field: 'strategy.dependencies.deplyo' });
    expect(key.message).toMatch(/no step is named "deplyo"; did you mean "deploy"\?/);
  });

  test('self dependencies and cycles through names are named by the names', async () => {
    const base = pipeline('/dev/null');
    const self = await refusal({ ...base, strategy: { type: 'dependency_graph', dependencies: { lint: ['lint'] } } });
    expect(self.message).toMatch(/command lint depends on itself/);
    const cycle = await refusal({
      ...base,
      strategy: { type: 'dependency_graph', dependencies: { build: ['deploy'], deploy: [0] } },
    });
    expect(cycle.message).toMatch(
      /dependency cycle between commands (build -> deploy -> build|deploy -> build -> deploy)/,
    );
  });
});

describe('names shown', () => {
  test('the HTTP API shows each step with its name', async () => {
    const { api } = await startTestServer();
    const log = join(tempDir(), 'log');
    const submitted = await api('POST', '/api/plans', pipeline(log));
    expect(submitted.status, JSON.stringify(submitted.body)).toBeLessThan(300);
    const id = submitted.body.plan_id ?? submitted.body.id;
    expect((await api('GET', `/api/executions/${id}/result?wait=true`)).status).toBe(200);
    const detail = await api('GET', `/api/executions/${id}`);
    expect(detail.status).toBe(200);
    expect(detail.body.execution.name).toBeNull();
    expect(detail.body.commands.map((c: { name: string | null }) => c.name)).toEqual(['build', 'lint', 'deploy', null]);
    const step = await api('GET', `/api/executions/${detail.body.commands[0].id}`);
    expect(step.body.execution.name).toBe('build');
  });

  test('a version-12 history store gains the name column; its rows have none', () => {
    const path = join(tempDir(), 'history.sqlite');
    const old = storeAtVersion(path, 12);
    old
      .prepare(
        `INSERT INTO executions (id, kind, status, command, submitted_at, log_path, tags_json)
         VALUES ('00000000-0000-4000-8000-000000000001', 'command', 'completed', 'true', '2026-01-01T00:00:00.000Z', '/tmp/x.log', '{}')`,
      )
      .run();
    old.close();
    const store = HistoryStore.open(path);
    try {
      expect(store.get('00000000-0000-4000-8000-000000000001')!.name).toBeNull();
    } finally {
      store.close();
    }
  });

  test('`run` labels each step by its name, and unnamed ones by index and command', () => {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const dir = tempDir();
    const plan = join(dir, 'plan.json');
    writeFileSync(
      plan,
      JSON.stringify({
        strategy: { type: 'dependency_graph', dependencies: { deploy: ['build'] } },
        commands: [
          { name: 'build', command: { type: 'shell', command: 'echo built' } },
          { name: 'deploy', command: { type: 'shell', command: 'echo deployed' } },
          { command: { type: 'shell', command: 'echo unnamed' } },
        ],
      }),
    );
    const r = spawnSync(process.execPath, [join(root, 'dist/cli/main.js'), '--log-dir', dir, 'run', plan], {
      cwd: root,
      encoding: 'utf8',
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '' },
      timeout: 60_000,
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^\[build\] built$/m);
    expect(r.stdout).toMatch(/^\[deploy\] deployed$/m);
    expect(r.stdout).toMatch(/^\[2:echo unnamed\] unnamed$/m);
    expect(r.stdout.indexOf('[build] built')).toBeLessThan(r.stdout.indexOf('[deploy] deployed'));
  });
});

describe('on the wire', () => {
  test('a dependency that is neither an index nor a name is refused where it is', () => {
    const plan = (dep: unknown) => ({
      strategy: { type: 'dependency_graph', dependencies: { '1': [dep] } },
      commands: [sh('true'), sh('true')],
    });
    for (const dep of [true, 'Build', -1, '0']) {
      const err = validationErrorOf(() => parsePlan(plan(dep)));
      expect(err.field, String(dep)).toBe('strategy.dependencies.1[0]');
    }
    expect(validationErrorOf(() => parsePlan(plan(true))).reason).toMatch(/command index .* or a step name/);
  });

  test('a started event from an engine without names reads with name null', () => {
    const event = parseEvent({
      event_type: 'started',
      execution_id: '5f0c6a3e-8a51-4d3b-9b1e-2f1b7a0c9d11',
      command: 'true',
      timestamp: '2026-11-22T10:00:00.123Z',
    });
    expect(event).toMatchObject({ event_type: 'started', name: null });
  });
});

test('one step listed under both its index and its name is refused', async () => {
  const engine = makeEngine();
  const err = await engine
    .executePlan({
      strategy: { type: 'dependency_graph', dependencies: { '2': [0], deploy: [1] } },
      commands: [sh('true'), sh('true'), { name: 'deploy', ...sh('true') }],
    })
    .catch((e: unknown) => e);
  expect(err).toBeInstanceOf(ValidationError);
  expect(err).toMatchObject({ kind: 'InvalidPlan', field: 'strategy.dependencies.deploy' });
  expect((err as Error).message).toMatch(/same step as "2"/);
});
