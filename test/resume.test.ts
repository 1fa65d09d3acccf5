/**
 * Resuming a plan run: the steps that completed are carried over (not run again: their pids
 * and logs prove it; their outputs still feed later steps), the others run; from memory, from
 * the history, after the engine was SIGKILLed; `from` a named step; only the steps that will
 * run count for the approval policy; a resume plan naming steps it may not carry is refused.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { createEngine, ExecutionError, type ExecutionPlanInput, ValidationError } from '../src/index.js';
import { makeEngine, sh, tempDir, until } from './helpers.js';
import { startRedis, startWorkerProcess } from './support/redis.js';

const DIST = fileURLToPath(new URL('../dist/index.js', import.meta.url));

/**
 * In a child process, `engine` (a JS expression over `cee`, the built package) submits `plan`;
 * once its step `use` has started, the child is SIGKILLed. The plan's id.
 */
/**
 * Submit `plan` from a child engine made by `engine` (code over `cee`, the built package),
 * SIGKILL it once step "use" started and wrote its line to `runs`; the plan's id.
 */
async function submitAndKill(
  engine: string,
  plan: object,
  runs: string,
  timeoutMs: number,
  what: string,
): Promise<string> {
  const script = `
    import * as cee from ${JSON.stringify(DIST)};
    const engine = ${engine};
    const id = await engine.executePlan(${JSON.stringify(plan)});
    engine.subscribe((e) => {
      if (e.event_type === 'started' && e.name === 'use') console.log(JSON.stringify({ id }));
    });
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  await until(() => out.includes('"id"'), timeoutMs, `${what} (stderr: ${err})`);
  const { id } = JSON.parse(out.trim().split('\n')[0]!) as { id: string };
  // Started is not yet running its first line: the crash comes once "use" is surely under way.
  await until(() => runsOf(runs).some(([n]) => n === 'use'), timeoutMs, 'step "use" to write its line');
  child.kill('SIGKILL');
  await new Promise((resolve) => child.on('close', resolve));
  return id;
}

/**
 * A plan whose step `create` runs `create` (its `outputs` declared) and whose step `use` hangs
 * until `fix` exists (a crash comes while it hangs), then prints the id `create` gave.
 */
function planWaitingForFix(create: string, outputs: object) {
  const dir = tempDir();
  const logDir = tempDir('cee-logs-');
  const runs = join(dir, 'runs');
  const fix = join(dir, 'fix');
  const plan = {
    commands: [
      { ...step(runs, 'create', create), outputs },
      step(runs, 'use', `while ! test -f '${fix}'; do sleep 0.1; done; echo "using \${{ steps.create.outputs.id }}"`),
    ],
  };
  return { logDir, runs, fix, plan };
}

/** A step that appends "NAME PID" to `runs` (one line per time it ran), then runs `then`. */
function step(runs: string, name: string, then: string) {
  return { name, ...sh(`echo "${name} $$" >> '${runs}'; ${then}`) };
}

/** Who ran, in order, with their pids. */
function runsOf(file: string): Array<[string, number]> {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .trim()
    .split('\n')
    .map((line) => line.split(' '))
    .map(([name, pid]) => [name!, Number(pid)]);
}

/** Five steps; `c` fails until the file `fix` exists; `e` uses an output of `a`. */
function fiveStepPlan(dir: string): ExecutionPlanInput {
  const runs = join(dir, 'runs');
  const fix = join(dir, 'fix');
  return {
    description: 'five steps, the third needs a fix',
    strategy: { type: 'dependency_graph', dependencies: { c: ['a', 'b'], d: ['c'], e: ['c', 'a'] } },
    commands: [
      { ...step(runs, 'a', `echo '{"token": "A-123"}'`), outputs: { token: { json: 'token' } } },
      step(runs, 'b', 'echo b'),
      step(runs, 'c', `test -f '${fix}' || { echo 'fix missing' >&2; exit 3; }`),
      step(runs, 'd', 'echo d'),
      step(runs, 'e', 'echo "got ${{ steps.a.outputs.token }}"'),
    ],
  };
}

describe('resume', () => {
  test('a 5-step DAG failing at step 3, fixed and resumed: 1-2 carried over (not run again), their outputs used, 3-5 run', async () => {
    const dir = tempDir();
    const engine = makeEngine();
    const first = await engine.waitPlan(await engine.executePlan(fiveStepPlan(dir)));
    expect(first.results.map((r) => r.status)).toEqual(['completed', 'completed', 'failed', 'skipped', 'skipped']);
    const before = runsOf(join(dir, 'runs'));
    expect(before.map(([n]) => n).sort()).toEqual(['a', 'b', 'c']);

    writeFileSync(join(dir, 'fix'), '');
    const id = await engine.resumePlan(first.plan_id);
    expect(id).not.toBe(first.plan_id);
    const resumed = await engine.waitPlan(id);

    expect(resumed.status).toBe('completed');
    expect(resumed.resumed_from).toBe(first.plan_id);
    const runs = runsOf(join(dir, 'runs'));
    // a and b ran once, with the pids they had; c ran again; d and e ran for the first time.
    expect(runs.slice(0, 3)).toEqual(before);
    // d and e both wait for c only: they run in either order.
    expect(runs[3]![0]).toBe('c');
    expect(
      runs
        .slice(4)
        .map(([n]) => n)
        .sort(),
    ).toEqual(['d', 'e']);
    expect(runs.filter(([n]) => n === 'a' || n === 'b')).toHaveLength(2);

    const [a, b, c] = resumed.results;
    expect(a).toMatchObject({
      status: 'completed',
      carried_from: first.results[0]!.id,
      log_path: first.results[0]!.log_path,
      outputs: { token: 'A-123' },
    });
    expect(a!.id).not.toBe(first.results[0]!.id);
    expect(b).toMatchObject({ status: 'completed', carried_from: first.results[1]!.id });
    expect(c).toMatchObject({ status: 'completed', carried_from: null });
    expect(c!.log_path).not.toBe(first.results[2]!.log_path);
    // The carried step's log is the one written when it ran: nothing was appended to it.
    expect(await engine.readLogs(a!.id)).toBe(await engine.readLogs(first.results[0]!.id));
    expect(resumed.results[4]!.stdout).toBe('got A-123\n');

    // The history links the runs.
    const record = engine.history!.get(id)!;
    expect(record.plan!.resumed_from).toEqual({ plan_id: first.plan_id, carried: [0, 1] });
    expect(engine.history!.get(a!.id)).toMatchObject({ status: 'completed', carried_from: first.results[0]!.id });
  });

  test('resumed from the history by a new engine (the first one is gone)', async () => {
    const dir = tempDir();
    const logDir = tempDir('cee-logs-');
    const engine1 = createEngine({ log_dir: logDir });
    const first = await engine1.waitPlan(await engine1.executePlan(fiveStepPlan(dir)));
    await engine1.shutdown();
    engine1.close();

    writeFileSync(join(dir, 'fix'), '');
    const engine2 = makeEngine({ log_dir: logDir });
    const resumed = await engine2.waitPlan(await engine2.resumePlan(first.plan_id));
    expect(resumed.status).toBe('completed');
    expect(resumed.results.map((r) => r.carried_from)).toEqual([
      first.results[0]!.id,
      first.results[1]!.id,
      null,
      null,
      null,
    ]);
    expect(resumed.results[4]!.stdout).toBe('got A-123\n');
    expect(
      runsOf(join(dir, 'runs'))
        .map(([n]) => n)
        .filter((n) => n === 'a'),
    ).toHaveLength(1);
  });

  test('a plan left interrupted by a SIGKILLed engine is resumed by the next one: the completed step is not run again', async () => {
    const { logDir, runs, fix, plan } = planWaitingForFix('echo id=i-42 >> "$CLOUDOPS_OUTPUTS"', {
      id: { file: true },
    });
    const id = await submitAndKill(
      `new cee.ExecutionEngine(${JSON.stringify({ log_dir: logDir })})`,
      plan,
      runs,
      20_000,
      'the child engine to start step "use"',
    );

    // The next engine marks the plan interrupted (and ends the step the dead one left hanging).
    const engine = makeEngine({ log_dir: logDir });
    expect(await engine.getStatus(id)).toBe('interrupted');
    writeFileSync(fix, '');
    const resumed = await engine.waitPlan(await engine.resumePlan(id));
    expect(resumed.status).toBe('completed');
    expect(resumed.resumed_from).toBe(id);
    expect(resumed.results[0]!.carried_from).not.toBeNull();
    expect(resumed.results[1]!.stdout).toBe('using i-42\n');
    // "create" ran once (before the crash); "use" started twice (the crash, then the resume).
    expect(runsOf(runs).map(([n]) => n)).toEqual(['create', 'use', 'use']);
  });

  test('queue mode: the next engine on the queue ends the job a SIGKILLed submitter left running, then resumes: no step runs twice at once', async () => {
    const redis = await startRedis();
    const queue = `t-${randomUUID().slice(0, 8)}`;
    const worker = await startWorkerProcess(redis.url, queue, tempDir('cee-worker-'));
    try {
      const { logDir, runs, fix, plan } = planWaitingForFix('echo \'{"id": "vol-9"}\'', { id: { json: 'id' } });
      // Once the fix is there, "use" says so in `runs`: the job the dead submitter left must never get there.
      const use = plan.commands[1]! as { command: { command: string } };
      use.command.command += `; echo "used $$" >> '${runs}'`;
      const config = { log_dir: logDir, redis: { url: redis.url, queue }, kill_grace_ms: 500 };
      const id = await submitAndKill(
        `cee.createEngine(${JSON.stringify(config)})`,
        plan,
        runs,
        30_000,
        'the submitting engine to see step "use" start',
      );

      // An engine that is not on that queue cannot end the job: it refuses rather than run "use" twice.
      const local = makeEngine({ log_dir: logDir });
      expect(await local.getStatus(id)).toBe('interrupted');
      const refused = await local.resumePlan(id).catch((e: unknown) => e);
      expect(refused).toMatchObject({
        code: 'NotResumable',
        message: expect.stringContaining(`may still be queued or running on queue:${queue}`),
      });

      const engine = makeEngine(config);
      const resumedId = await engine.resumePlan(id); // the left job is stopped before this resolves
      writeFileSync(fix, '');
      const resumed = await engine.waitPlan(resumedId);
      expect(resumed.status).toBe('completed');
      expect(resumed.results[0]!.carried_from).not.toBeNull();
      expect(resumed.results[1]!.stdout).toBe('using vol-9\n');
      const names = runsOf(runs).map(([n]) => n);
      // "create" ran once; "use" started twice, and only the resumed one went on.
      expect(names.filter((n) => n === 'create')).toHaveLength(1);
      expect(names.filter((n) => n === 'use')).toHaveLength(2);
      expect(names.filter((n) => n === 'used')).toHaveLength(1);
    } finally {
      await worker.stop();
      await redis.stop();
    }
  }, 60_000);

  test('from a named step: it and the steps after it run again; nothing to resume without one; an unknown step is named', async () => {
    const dir = tempDir();
    const runs = join(dir, 'runs');
    const engine = makeEngine();
    const first = await engine.waitPlan(
      await engine.executePlan({
        commands: [step(runs, 'one', 'true'), step(runs, 'two', 'true'), step(runs, 'three', 'true')],
      }),
    );
    expect(first.status).toBe('completed');

    const nothing = await engine.resumePlan(first.plan_id).catch((e: unknown) => e);
    expect(nothing).toBeInstanceOf(ExecutionError);
    expect(nothing).toMatchObject({ code: 'NotResumable', message: expect.stringContaining('every step completed') });

    const unknown = await engine.resumePlan(first.plan_id, { from: 'tow' }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ValidationError);
    expect(unknown).toMatchObject({ field: 'from', reason: expect.stringContaining('did you mean "two"?') });

    const plan = await engine.prepareResume(first.plan_id, { from: 'two' });
    expect(plan.resumed_from).toEqual({ plan_id: first.plan_id, carried: [0] });
    const resumed = await engine.waitPlan(await engine.executePlan(plan));
    expect(resumed.status).toBe('completed');
    expect(runsOf(runs).map(([n]) => n)).toEqual(['one', 'two', 'three', 'two', 'three']);
  });

  test('only the steps that will run count for the approval policy', async () => {
    const dir = tempDir();
    const target = join(dir, 'target');
    writeFileSync(target, 'x');
    // Read-only work runs without a decision; anything that modifies needs one.
    const engine = makeEngine({ approval: { auto_approve_readonly: true } });
    const plan = {
      commands: [
        { name: 'remove', command: { type: 'exec' as const, program: 'rm', args: ['-f', target] } },
        { name: 'look', command: { type: 'exec' as const, program: 'cat', args: [join(dir, 'missing')] } },
      ],
    };
    const refused = await engine.executePlan(plan).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'ApprovalRequired' });
    const first = await engine.waitPlan(
      await engine.executeWithApproval(plan, { type: 'approve' }, { approved_by: 'alice' }),
    );
    expect(first.results.map((r) => r.status)).toEqual(['completed', 'failed']);

    // From `remove`, the destructive step runs again: the policy holds it back (nothing starts).
    const again = await engine.resumePlan(first.plan_id, { from: 'remove' }).catch((e: unknown) => e);
    expect(again).toMatchObject({ code: 'ApprovalRequired' });
    // What an approver is shown says which steps are carried over.
    const request = await engine.createApprovalRequest(await engine.prepareResume(first.plan_id));
    expect(request.commands[0]!.risk_reasons).toEqual([`carried over from plan ${first.plan_id}: not run again`]);
    expect(request.commands[0]!.risk_level).toBe('read_only');

    // Only `look` (read-only) runs again: no decision needed.
    writeFileSync(join(dir, 'missing'), 'found');
    const resumed = await engine.waitPlan(await engine.resumePlan(first.plan_id));
    expect(resumed.status).toBe('completed');
    expect(resumed.results[1]!.stdout).toBe('found');
  });

  test('two engines on one history resuming the same run at once: exactly one starts', async () => {
    const dir = tempDir();
    const logDir = tempDir('cee-logs-');
    const engine1 = makeEngine({ log_dir: logDir });
    const engine2 = makeEngine({ log_dir: logDir });
    const first = await engine1.waitPlan(
      await engine1.executePlan({
        commands: [
          { name: 'a', ...sh('true') },
          { name: 'b', ...sh(`test -f '${join(dir, 'fix')}'`) },
        ],
      }),
    );
    const both = await Promise.allSettled([engine1.resumePlan(first.plan_id), engine2.resumePlan(first.plan_id)]);
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const refused = both.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: 'NotResumable', message: expect.stringContaining('resumed already') });
  });

  test('a run is resumed once; a step its first run undid since is not carried by a resume of the resume', async () => {
    const dir = tempDir();
    const log = join(dir, 'log');
    const engine = makeEngine();
    const first = await engine.waitPlan(
      await engine.executePlan({
        commands: [
          { name: 'a', ...sh(`echo create-a >> '${log}'`), rollback: [sh(`echo undo-a >> '${log}'`)] },
          { name: 'b', ...sh(`test -f '${join(dir, 'fix')}'`) },
        ],
      }),
    );
    const second = await engine.waitPlan(await engine.resumePlan(first.plan_id));
    expect(second.results.map((r) => r.carried_from)).toEqual([first.results[0]!.id, null]);
    // A second resume of the first run would run b again beside the first resume's.
    const twice = await engine.resumePlan(first.plan_id).catch((e: unknown) => e);
    expect(twice).toMatchObject({
      code: 'NotResumable',
      message: expect.stringContaining(`as plan ${second.plan_id}`),
    });

    // The first run is rolled back: a (which the second run carried) is undone, so a third run runs it again.
    await engine.rollback(first.plan_id);
    const third = await engine.prepareResume(second.plan_id);
    expect(third.resumed_from!.carried).toEqual([]);
    expect(readFileSync(log, 'utf8')).toBe('create-a\nundo-a\n');
  });

  test('a resume plan naming a step that did not complete, another step or other parameter values is refused before anything runs', async () => {
    const dir = tempDir();
    const runs = join(dir, 'runs');
    const engine = makeEngine();
    const first = await engine.waitPlan(
      await engine.executePlan({
        parameters: { target: { type: 'string' } },
        params: { target: 'staging' },
        commands: [step(runs, 'ok', 'echo "${{ params.target }}"'), step(runs, 'bad', 'exit 1')],
      }),
    );
    const plan = await engine.prepareResume(first.plan_id);
    expect(plan.resumed_from!.carried).toEqual([0]);

    const notCompleted = await engine
      .executePlan({ ...plan, resumed_from: { plan_id: first.plan_id, carried: [0, 1] } })
      .catch((e: unknown) => e);
    expect(notCompleted).toMatchObject({
      code: 'NotResumable',
      message: expect.stringMatching(/step bad ended failed/),
    });

    const other = await engine
      .executePlan({
        ...plan,
        commands: [
          { ...plan.commands[0]!, command: { type: 'shell', command: 'echo not the same' } },
          plan.commands[1]!,
        ],
      })
      .catch((e: unknown) => e);
    expect(other).toMatchObject({ code: 'NotResumable', message: expect.stringContaining('not the one that ran') });
    // The carried step ran against staging: a resume for prod cannot pass it off as done.
    const prod = await engine.executePlan({ ...plan, params: { target: 'prod' } }).catch((e: unknown) => e);
    expect(prod).toMatchObject({ code: 'NotResumable', message: expect.stringContaining('parameter values') });
    expect(runsOf(runs).map(([n]) => n)).toEqual(['ok', 'bad']);
  });

  test('rollback: a step its rollback (even partly) undid is not carried over; a resumed run does not undo what it carried over', async () => {
    const dir = tempDir();
    const log = join(dir, 'log');
    const say = (what: string) => sh(`echo ${what} >> '${log}'`);
    const engine = makeEngine();
    const first = await engine.waitPlan(
      await engine.executePlan({
        rollback_strategy: 'on_failure',
        commands: [
          // Its first undo command runs, its second fails: it is partly undone.
          { name: 'a', ...say('create-a'), rollback: [say('undo-a-1'), sh('exit 1')] },
          { name: 'b', ...say('create-b') },
          { name: 'c', ...sh(`test -f '${join(dir, 'fix')}'`) },
        ],
      }),
    );
    expect(first.status).toBe('failed');
    expect(first.error_code).toBe('rollback_failed');
    const plan = await engine.prepareResume(first.plan_id);
    // a was partly undone: it runs again; b (nothing to undo) is carried over.
    expect(plan.resumed_from!.carried).toEqual([1]);
    const forged = await engine
      .executePlan({ ...plan, resumed_from: { plan_id: first.plan_id, carried: [0, 1] } })
      .catch((e: unknown) => e);
    expect(forged).toMatchObject({
      code: 'NotResumable',
      message: expect.stringContaining("step a's rollback ran there"),
    });

    // The resumed run fails and rolls back: it undoes only what it ran (a), never b (the first run's).
    const second = await engine.waitPlan(await engine.executePlan(plan));
    expect(second.status).toBe('failed');
    expect(readFileSync(log, 'utf8').trim().split('\n')).toEqual([
      'create-a',
      'create-b',
      'undo-a-1',
      'create-a',
      'undo-a-1',
    ]);
  });

  test('a history kept without redaction resumes from its record (nothing was hidden)', async () => {
    const dir = tempDir();
    const logDir = tempDir('cee-logs-');
    const plan = {
      commands: [
        { name: 'one', ...sh('true'), env: { API_TOKEN: 'token-value-0123456789' } },
        { name: 'two', ...sh(`test -f '${join(dir, 'fix')}'`), env: { API_TOKEN: 'token-value-0123456789' } },
      ],
    };
    const engine1 = createEngine({ log_dir: logDir, redact_secrets: false });
    const first = await engine1.waitPlan(await engine1.executePlan(plan));
    await engine1.shutdown();
    engine1.close();
    writeFileSync(join(dir, 'fix'), '');
    const engine2 = makeEngine({ log_dir: logDir, redact_secrets: false });
    const resumed = await engine2.waitPlan(await engine2.resumePlan(first.plan_id));
    expect(resumed.status).toBe('completed');
    expect(resumed.results[0]!.carried_from).toBe(first.results[0]!.id);
  });

  test('a recorded plan with secret values hidden resumes only with the plan given again, and runs with the real value', async () => {
    const dir = tempDir();
    const logDir = tempDir('cee-logs-');
    const fix = join(dir, 'fix');
    const plan = {
      commands: [
        { name: 'login', ...sh('echo logged-in'), env: { API_TOKEN: 'token-value-0123456789' } },
        {
          name: 'call',
          ...sh(`test -f '${fix}' && test "$API_TOKEN" = token-value-0123456789`),
          env: { API_TOKEN: 'token-value-0123456789' },
        },
      ],
    };
    const engine1 = createEngine({ log_dir: logDir });
    const first = await engine1.waitPlan(await engine1.executePlan(plan));
    expect(first.results.map((r) => r.status)).toEqual(['completed', 'failed']);
    await engine1.shutdown();
    engine1.close();

    // An engine that does not redact still sees that the record hid them.
    const plain = makeEngine({ log_dir: logDir, redact_secrets: false });
    const hiddenToo = await plain.resumePlan(first.plan_id).catch((e: unknown) => e);
    expect(hiddenToo).toMatchObject({ code: 'NotResumable', message: expect.stringContaining('secret values hidden') });
    const engine2 = makeEngine({ log_dir: logDir });
    const hidden = await engine2.resumePlan(first.plan_id).catch((e: unknown) => e);
    expect(hidden).toMatchObject({ code: 'NotResumable', message: expect.stringContaining('secret values hidden') });
    const wrong = await engine2
      .resumePlan(first.plan_id, { plan: { ...plan, commands: [plan.commands[0]!] } })
      .catch((e: unknown) => e);
    expect(wrong).toMatchObject({ code: 'NotResumable', message: expect.stringContaining('not the one that ran') });

    writeFileSync(fix, '');
    const resumed = await engine2.waitPlan(await engine2.resumePlan(first.plan_id, { plan }));
    expect(resumed.status).toBe('completed');
    expect(resumed.results[0]!.carried_from).toBe(first.results[0]!.id);
  });

  test('a run still going cannot be resumed', async () => {
    const engine = makeEngine();
    const id = await engine.executePlan({ commands: [sh('sleep 5')] });
    const refused = await engine.resumePlan(id).catch((e: unknown) => e);
    expect(refused).toMatchObject({ code: 'NotResumable', message: expect.stringContaining('wait for it to finish') });
    await engine.cancel(id);
  });
});
