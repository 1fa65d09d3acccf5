/**
 * `cloudops-exec retry`: a plan run that failed is resumed from the history of its log
 * directory by a short id (the completed step is carried over, not run again), `--from` a
 * step, bad input named; `--approve-via` asks a server to resume one of its runs.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { tempDir } from './helpers.js';
import { runCli } from './support/cli.js';
import { addPrincipal, startTestServer } from './support/server.js';

/** The CLI off a terminal, run to its end (asynchronously: a server may run in this process). */
const cli = (args: string[], env: Record<string, string> = {}) => runCli(args, { env });

/** A plan whose step `check` fails until `fix` exists; `first` counts its runs in `runs`. */
function planFile(dir: string): string {
  const runs = join(dir, 'runs');
  const fix = join(dir, 'fix');
  const file = join(dir, 'plan.json');
  writeFileSync(
    file,
    JSON.stringify({
      commands: [
        {
          name: 'first',
          command: { type: 'shell', command: `echo first >> '${runs}'; echo 'id=v-7'` },
          outputs: { id: { regex: 'id=(\\S+)' } },
        },
        {
          name: 'check',
          command: { type: 'shell', command: `test -f '${fix}' && echo "checked \${{ steps.first.outputs.id }}"` },
        },
      ],
    }),
  );
  return file;
}

describe('cloudops-exec retry', () => {
  test('resumes a failed run by its short id: the completed step is carried over, the failed one runs', async () => {
    const dir = tempDir();
    const logDir = join(dir, 'logs');
    const run = await cli(['--log-dir', logDir, 'run', planFile(dir)]);
    expect(run.status).toBe(1);
    const short = /cloudops-exec retry --log-dir \S+ ([0-9a-f]{8})/.exec(run.stdout)?.[1];
    expect(short, run.stdout).toBeDefined();

    // Bad input first: a misspelt step is named with the nearest one; --param needs --plan.
    const typo = await cli(['--log-dir', logDir, 'retry', short!, '--from', 'chek']);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('--from chek: no step is named "chek"; did you mean "check"?');
    const param = await cli(['--log-dir', logDir, 'retry', short!, '--param', 'x=1']);
    expect(param.status).toBe(2);
    expect(param.stderr).toContain('--param goes with --plan');

    writeFileSync(join(dir, 'fix'), '');
    const retry = await cli(['--log-dir', logDir, 'retry', short!]);
    expect(retry.stderr).toBe('');
    expect(retry.status).toBe(0);
    expect(retry.stdout).toMatch(
      /Resuming plan [0-9a-f-]{36} as [0-9a-f-]{36}: carried over \(completed there, not run again\): first; runs: check/,
    );
    expect(retry.stdout).toContain('· carried over: completed before, not run again');
    expect(retry.stdout).toMatch(
      /\[first\] ✔ carried over from [0-9a-f]{8} \(completed there in \d+ms; not run again\)/,
    );
    expect(retry.stdout).toContain('checked v-7');
    expect(readFileSync(join(dir, 'runs'), 'utf8')).toBe('first\n');

    // Completed: nothing to resume, unless a step is named.
    const done = /✔ plan ([0-9a-f-]{36}) completed/.exec(retry.stdout)?.[1];
    // The resumed run's logs show the carried step's output, from the run it ran in.
    const logs = await cli(['--log-dir', logDir, 'logs', done!]);
    expect(logs.stdout).toMatch(
      /==> command 0 [\s\S]*\[stdout\] id=v-7[\s\S]*==> command 1 [\s\S]*\[stdout\] checked v-7/,
    );
    const nothing = await cli(['--log-dir', logDir, 'retry', done!]);
    expect(nothing.status).toBe(2);
    expect(nothing.stderr).toContain('every step completed');
    const again = await cli(['--log-dir', logDir, 'retry', done!, '--from', 'first', '--json']);
    expect(again.status).toBe(0);
    const result = JSON.parse(again.stdout.trim().split('\n').at(-1)!).plan_result;
    expect(result.resumed_from).toBe(done);
    expect(readFileSync(join(dir, 'runs'), 'utf8')).toBe('first\nfirst\n');
  });

  test('--approve-via: the server resumes its own run, under its approval rules', async () => {
    const dir = tempDir();
    const ts = await startTestServer({ approval: { auto_approve_readonly: true } });
    const submitter = addPrincipal(ts, 'ci-bot', 'submitter');
    const fix = join(dir, 'fix');
    // Both steps read-only: the server runs them without a decision.
    const submitted = await ts.as(submitter)('POST', '/api/plans', {
      commands: [
        { name: 'look', command: { type: 'exec', program: 'echo', args: ['look'] } },
        { name: 'read', command: { type: 'exec', program: 'cat', args: [fix] } },
      ],
    });
    expect(submitted.body).toMatchObject({ status: 'pending', approval_id: null });
    const first = await ts.api('GET', `/api/executions/${submitted.body.id}/result?wait=true`);
    expect(first.body.status).toBe('failed');

    writeFileSync(fix, 'fixed-content');
    const r = await cli(['retry', '--approve-via', ts.url, submitted.body.id], { CLOUDOPS_EXEC_TOKEN: submitter });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('carried over (completed there, not run again): look; runs: read');
    expect(r.stdout).toContain("the server's approval rules let it run at once");
    const resumedId = /Resuming plan \S+ as ([0-9a-f-]{36})/.exec(r.stdout)?.[1];
    const resumed = await ts.api('GET', `/api/executions/${resumedId}/result`);
    expect(resumed.body).toMatchObject({ status: 'completed', resumed_from: submitted.body.id });
    // `look` was not run again: its result is the first run's.
    expect(resumed.body.results[0].carried_from).toBe(first.body.results[0].id);
    expect(resumed.body.results[1].stdout).toBe('fixed-content');
  });
});
