/** The approval policy: what needs a decision, what each decision does, and that nothing gets around it. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { ExecutionEngine, ExecutionError, type ExecutionPlanInput, ValidationError } from '../src/index.js';
import { makeEngine, tempDir } from './helpers.js';

/** A plan whose only command declares itself destructive; running it leaves a marker file. */
function destructivePlan(dir: string, marker = 'ran'): ExecutionPlanInput {
  return {
    description: 'tear down staging',
    commands: [
      {
        command: { type: 'exec', program: 'touch', args: [join(dir, marker)] },
        risk_level: 'destructive',
        description: 'delete the staging stack',
      },
    ],
  };
}

const ALICE = { approved_by: 'alice@example.com', notes: 'change ticket OPS-42' };

describe('an engine with the seed approval policy', () => {
  test('a destructive plan cannot run without approval through any public method', async () => {
    const dir = tempDir();
    const engine = makeEngine({ approval: {} });
    const plan = destructivePlan(dir);
    await expect(engine.executePlan(plan)).rejects.toMatchObject({ code: 'ApprovalRequired' });
    await expect(engine.execute(plan.commands[0]!)).rejects.toMatchObject({ code: 'ApprovalRequired' });
    await expect(
      engine.executeWithApproval(plan, { type: 'reject', reason: 'not today' }, ALICE),
    ).rejects.toMatchObject({ code: 'ApprovalRejected' });
    await expect(engine.executeWithApproval(plan, { type: 'approve' }, { approved_by: '  ' })).rejects.toMatchObject({
      code: 'ApprovalRejected',
    });
    // Looking at the plan is not running it.
    await engine.dryRun(plan);
    await engine.createApprovalRequest(plan);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    expect(await engine.listExecutions()).toEqual([]);
  });

  test('the engine has no other way to submit work (a new public method must be reviewed here)', () => {
    const methods = Object.getOwnPropertyNames(ExecutionEngine.prototype)
      .filter((m) => m !== 'constructor')
      .sort();
    // resumePlan submits through executePlan: the policy stage (admit) sees the steps that will run.
    const submitting = ['execute', 'executePlan', 'executeWithApproval', 'resumePlan', 'rollback'];
    const reading = [
      'cancel',
      'close',
      'createApprovalRequest',
      'dryRun',
      'events',
      'getApproval',
      'getLogPath',
      'getPlanResult',
      'getResult',
      'getStatus',
      'history',
      'listExecutions',
      'prepareResume',
      'readLogs',
      'searchExecutions',
      'shutdown',
      'subscribe',
      'wait',
      'waitPlan',
      'withEventHandler',
      'workflow',
    ];
    const privateOnes = methods.filter((m) => !submitting.includes(m) && !reading.includes(m));
    expect(methods.filter((m) => submitting.includes(m) || reading.includes(m)).sort()).toEqual(
      [...submitting, ...reading].sort(),
    );
    // TypeScript `private` members exist at runtime; these are the internal ones, none of them public API.
    expect(privateOnes.sort()).toEqual([
      'acceptPlan',
      'admit',
      'assertAccepting',
      'assertNew',
      'carriedOf',
      'defaultLogPath',
      'endLeftoversOf',
      'ended',
      'forget',
      'idle',
      'lookup',
      'newCommand',
      'pastRun',
      'publish',
      'readPastRun',
      'resumesOf',
      'riskOf',
      'startPlan',
      'track',
      'undoneSince',
    ]);
  });

  test('approve: the plan runs, and who approved it is kept with it', async () => {
    const dir = tempDir();
    const engine = makeEngine({ approval: {} });
    const id = await engine.executeWithApproval(destructivePlan(dir), { type: 'approve' }, ALICE);
    expect((await engine.waitPlan(id)).status).toBe('completed');
    expect(existsSync(join(dir, 'ran'))).toBe(true);
    expect(await engine.getApproval(id)).toMatchObject({
      approved_by: 'alice@example.com',
      notes: 'change ticket OPS-42',
      decision: { type: 'approve' },
      risk_level: 'destructive',
    });
  });

  test('reject: nothing runs and the reason is in the error', async () => {
    const dir = tempDir();
    const engine = makeEngine({ approval: {} });
    const err = await engine
      .executeWithApproval(destructivePlan(dir), { type: 'reject', reason: 'wrong account' }, ALICE)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionError);
    expect((err as Error).message).toBe('Approval rejected by alice@example.com: wrong account');
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  test('modify_and_approve: the modified plan runs instead, re-validated and re-assessed', async () => {
    const dir = tempDir();
    const engine = makeEngine({ approval: {} });
    const modified: ExecutionPlanInput = {
      description: 'safer',
      commands: [{ command: { type: 'exec', program: 'touch', args: [join(dir, 'modified')] } }],
    };
    const id = await engine.executeWithApproval(
      destructivePlan(dir),
      { type: 'modify_and_approve', modified_plan: modified },
      ALICE,
    );
    await engine.waitPlan(id);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    expect(existsSync(join(dir, 'modified'))).toBe(true);
    expect(await engine.getApproval(id)).toMatchObject({
      decision: { type: 'modify_and_approve' },
      risk_level: 'modify',
    });

    const cyclic = {
      ...modified,
      strategy: { type: 'dependency_graph', dependencies: { '0': [0] } },
    } as ExecutionPlanInput;
    await expect(
      engine.executeWithApproval(destructivePlan(dir), { type: 'modify_and_approve', modified_plan: cyclic }, ALICE),
    ).rejects.toBeInstanceOf(ValidationError);
  });

  test('a declared level raises the assessment but never lowers it', async () => {
    const engine = makeEngine({ approval: { require_approval_modify: false } });
    const terminate = {
      command: {
        type: 'aws_cli' as const,
        service: 'ec2',
        operation: 'terminate-instances',
        args: ['--instance-ids', 'i-1'],
      },
      risk_level: 'read_only' as const,
    };
    await expect(engine.execute(terminate)).rejects.toMatchObject({
      code: 'ApprovalRequired',
      message: expect.stringContaining('destructive'),
    });
    expect(engine.workflow.assessRisk((await import('../src/index.js')).parsePlan({ commands: [terminate] }))).toBe(
      'destructive',
    );
  });

  test('auto_approve_readonly and require_approval_modify:false let those levels through', async () => {
    const dir = tempDir();
    const engine = makeEngine({ approval: { auto_approve_readonly: true, require_approval_modify: false } });
    const id = await engine.executePlan({
      commands: [{ command: { type: 'exec', program: 'touch', args: [join(dir, 'modify')] } }],
    });
    expect((await engine.waitPlan(id)).status).toBe('completed');
    await expect(engine.executePlan(destructivePlan(dir))).rejects.toMatchObject({ code: 'ApprovalRequired' });
    const seedDefaults = makeEngine({ approval: {} });
    // Seed default: read-only plans are not auto-approved either.
    await expect(
      seedDefaults.execute({ command: { type: 'aws_cli', service: 'ec2', operation: 'describe-instances' } }),
    ).rejects.toMatchObject({ code: 'ApprovalRequired' });
  });

  test('the approval request shows risk per command and what a dry run found', async () => {
    const dir = tempDir();
    const engine = makeEngine({ approval: {} });
    const request = await engine.createApprovalRequest({
      ...destructivePlan(dir),
      commands: [
        ...destructivePlan(dir).commands,
        { command: { type: 'shell', command: 'echo $HOME' }, env: { DB_PASSWORD: 'x-secret-x' } },
      ],
      estimated_duration_ms: 60_000,
    });
    expect(request).toMatchObject({
      description: 'tear down staging',
      risk_level: 'destructive',
      requires_approval: true,
      estimated_duration_ms: 60_000,
    });
    expect(request.commands.map((c) => [c.description, c.risk_level])).toEqual([
      ['delete the staging stack', 'destructive'],
      ['echo $HOME', 'read_only'],
    ]);
    expect(request.commands[1]!.dry_run_result).toMatch(/^would run bash -c echo \$HOME with DB_PASSWORD set$/);
    expect(JSON.stringify(request)).not.toContain('x-secret-x');
  });
});

test('without an approval policy (the core default) nothing needs approval', async () => {
  const dir = tempDir();
  const engine = makeEngine();
  const id = await engine.executePlan(destructivePlan(dir));
  expect((await engine.waitPlan(id)).status).toBe('completed');
  expect(await engine.getApproval(id)).toBeNull();
  expect(readFileSync(join(dir, 'ran'), 'utf8')).toBe('');
});
