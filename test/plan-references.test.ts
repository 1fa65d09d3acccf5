/**
 * Checks on a plan's references and parameters before anything runs: each problem is a
 * ValidationError naming the field, with the nearest name for a typo; nothing of the plan runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { type ExecutionPlanInput, ValidationError } from '../src/index.js';
import { parsePlan } from '../src/wire/parse.js';
import { rewriteTemplates, shellContexts } from '../src/wire/references.js';
import { makeEngine, sh, tempDir, validationErrorOf } from './helpers.js';

/** The ValidationError submitting `plan` is refused with. */
async function refusal(plan: ExecutionPlanInput): Promise<ValidationError> {
  const err = await makeEngine()
    .executePlan(plan)
    .then(
      () => null,
      (e: unknown) => e,
    );
  expect(err).toBeInstanceOf(ValidationError);
  return err as ValidationError;
}

const create = {
  name: 'create',
  ...sh('echo \'{"Instances":[{"InstanceId":"i-1"}]}\''),
  outputs: { instance_id: { json: 'Instances[0].InstanceId' } },
};

describe('references to step outputs', () => {
  test('a step that is not a dependency (DAG) is refused, naming the field and the fix', async () => {
    const err = await refusal({
      strategy: { type: 'dependency_graph', dependencies: { tag: ['lint'] } },
      commands: [
        create,
        { name: 'lint', ...sh('true') },
        { name: 'tag', ...sh('echo ${{ steps.create.outputs.instance_id }}') },
      ],
    });
    expect(err.issues).toHaveLength(1);
    expect(err.field).toBe('commands[2].command.command');
    expect(err.reason).toMatch(/step create is not a dependency of step tag: add it to strategy.dependencies.tag/);
  });

  test('a dependency reached through another one (DAG) may be used', async () => {
    const engine = makeEngine();
    const id = await engine.executePlan({
      strategy: { type: 'dependency_graph', dependencies: { b: ['create'], c: ['b'] } },
      commands: [create, { name: 'b', ...sh('true') }, { name: 'c', ...sh('echo ${{ steps.0.outputs.instance_id }}') }],
    });
    expect((await engine.waitPlan(id)).results[2]!.stdout).toBe('i-1\n');
  });

  test('serial: a later step is refused; parallel: any other step is refused', async () => {
    const serial = await refusal({
      commands: [{ ...sh('echo ${{ steps.create.outputs.instance_id }}') }, create],
    });
    expect(serial.field).toBe('commands[0].command.command');
    expect(serial.reason).toMatch(/step create runs after step #0/);
    const parallel = await refusal({
      strategy: { type: 'parallel' },
      commands: [create, { ...sh('echo ${{ steps.create.outputs.instance_id }}') }],
    });
    expect(parallel.field).toBe('commands[1].command.command');
    expect(parallel.reason).toMatch(/parallel plan/);
  });

  test('a step using its own output is refused', async () => {
    const err = await refusal({
      commands: [{ ...create, env: { ID: '${{ steps.create.outputs.instance_id }}' } }],
    });
    expect(err.field).toBe('commands[0].env.ID');
    expect(err.reason).toMatch(/its own outputs/);
  });

  test('an unknown output key is refused with the nearest declared one', async () => {
    const err = await refusal({
      commands: [
        create,
        { command: { type: 'exec', program: 'echo', args: ['x', '${{ steps.create.outputs.instance_di }}'] } },
      ],
    });
    expect(err.field).toBe('commands[1].command.args[1]');
    expect(err.reason).toMatch(/declares no output "instance_di".*did you mean "instance_id"\?/);
  });

  test('an unknown step is refused with the nearest step name', async () => {
    const err = await refusal({
      commands: [create, { ...sh('true'), working_dir: '${{ steps.craete.outputs.instance_id }}' }],
    });
    expect(err.field).toBe('commands[1].working_dir');
    expect(err.reason).toMatch(/no step is named "craete"; did you mean "create"\?/);
  });

  test('a "${{" that is not a reference is refused, not passed on as text', async () => {
    const err = await refusal({ commands: [sh('echo ${{ github.sha }}')] });
    expect(err.field).toBe('commands[0].command.command');
    expect(err.reason).toMatch(/is not a reference/);
    const unclosed = await refusal({ commands: [sh('echo ${{ params.x')] });
    expect(unclosed.reason).toMatch(/not closed/);
  });

  test('SDK parameters are checked at any depth', async () => {
    const err = await refusal({
      commands: [
        create,
        {
          command: {
            type: 'sdk',
            service: 'ec2',
            operation: 'CreateTags',
            parameters: { Resources: ['${{ steps.create.outputs.nope }}'], Tags: [{ Key: 'a', Value: 'b' }] },
          },
        },
      ],
    });
    expect(err.field).toBe('commands[1].command.parameters.Resources[0]');
  });

  test('a reference where a shell would run its value anyway (here-document, backquotes) is refused', async () => {
    const heredoc = await refusal({
      parameters: { v: { type: 'string', default: 'x' } },
      commands: [sh('cat <<EOF\n${{ params.v }}\nEOF')],
    });
    expect(heredoc.reason).toMatch(/here-document/);
    const backquotes = await refusal({
      parameters: { v: { type: 'string', default: 'x' } },
      commands: [sh('echo `echo ${{ params.v }}`')],
    });
    expect(backquotes.reason).toMatch(/backquotes/);
  });

  test('a command run on its own may not hold references', async () => {
    const err = await makeEngine()
      .execute(sh('echo ${{ params.x }}'))
      .then(
        () => null,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(ValidationError);
    expect((err as ValidationError).reason).toMatch(/need a plan/);
  });

  test('nothing of a refused plan runs', async () => {
    const ran = join(tempDir(), 'ran');
    await refusal({ commands: [sh(`touch ${ran}`), sh('echo ${{ steps.0.outputs.missing }}')] });
    expect(existsSync(ran)).toBe(false);
  });
});

describe('parameters', () => {
  const parameters = {
    env_name: { type: 'string' as const, default: 'staging', enum: ['staging', 'prod'] },
    count: { type: 'integer' as const },
  };
  const uses = sh('echo ${{ params.env_name }} ${{ params.count }}');

  test('a reference to an undeclared parameter is refused with the nearest one', async () => {
    const err = await refusal({ parameters, params: { count: 1 }, commands: [sh('echo ${{ params.env_nme }}')] });
    expect(err.field).toBe('commands[0].command.command');
    expect(err.reason).toMatch(/declares no parameter "env_nme"; did you mean "env_name"\?/);
  });

  test('an unknown parameter given is refused, naming it', async () => {
    const err = await refusal({ parameters, params: { count: 1, envname: 'prod' }, commands: [uses] });
    expect(err.field).toBe('params.envname');
    expect(err.reason).toMatch(/unknown parameter "envname".*did you mean "env_name"\?/);
  });

  test('a value of the wrong type is refused, naming the parameter', async () => {
    const err = await refusal({ parameters, params: { count: 'three' }, commands: [uses] });
    expect(err.field).toBe('params.count');
    expect(err.reason).toMatch(/must be an integer \(got "three"\)/);
    const float = await refusal({ parameters, params: { count: 1.5 }, commands: [uses] });
    expect(float.field).toBe('params.count');
  });

  test('a value outside the enum is refused', async () => {
    const err = await refusal({ parameters, params: { count: 1, env_name: 'dev' }, commands: [uses] });
    expect(err.field).toBe('params.env_name');
    expect(err.reason).toMatch(/one of "staging", "prod"/);
  });

  test('a parameter without a default must be given', async () => {
    const err = await refusal({ parameters, commands: [uses] });
    expect(err.field).toBe('params.count');
    expect(err.kind).toBe('MissingField');
  });

  test('a declared default or enum of the wrong type is refused by the schema', () => {
    const err = validationErrorOf(() =>
      parsePlan({ parameters: { n: { type: 'integer', default: 'x' } }, commands: [sh('true')] }),
    );
    expect(err.field).toBe('parameters.n.default');
    const name = validationErrorOf(() => parsePlan({ parameters: { 'Bad-Name': {} }, commands: [sh('true')] }));
    expect(name.field).toMatch(/^parameters/);
  });
});

describe('output declarations', () => {
  test('a JMESPath expression that does not parse is refused', () => {
    const err = validationErrorOf(() =>
      parsePlan({ commands: [{ ...sh('true'), outputs: { id: { json: 'Instances[' } } }] }),
    );
    expect(err.field).toBe('commands[0].outputs.id.json');
    expect(err.reason).toMatch(/JMESPath/);
  });

  test('a regex needs exactly one capture group and RE2 syntax', () => {
    const none = validationErrorOf(() =>
      parsePlan({ commands: [{ ...sh('true'), outputs: { id: { regex: 'i-\\w+' } } }] }),
    );
    expect(none.field).toBe('commands[0].outputs.id.regex');
    expect(none.reason).toMatch(/exactly one capture group/);
    const backref = validationErrorOf(() =>
      parsePlan({ commands: [{ ...sh('true'), outputs: { id: { regex: '(a)\\1' } } }] }),
    );
    expect(backref.field).toBe('commands[0].outputs.id.regex');
  });

  test('an output declares exactly one way to read it', () => {
    const both = validationErrorOf(() =>
      parsePlan({ commands: [{ ...sh('true'), outputs: { id: { json: 'a', file: true } } }] }),
    );
    expect(both.field).toBe('commands[0].outputs.id');
    expect(both.reason).toMatch(/exactly one of/);
  });
});

describe('shell contexts', () => {
  test('each reference is placed by the quotes around it', () => {
    expect(shellContexts(`a \${{ params.x }} "\${{ params.x }}" '\${{ params.x }}' "$(b \${{ params.x }})"`)).toEqual([
      'plain',
      'double',
      'single',
      'plain',
    ]);
    expect(shellContexts(`# don't\necho \${{ params.x }}`)).toEqual(['plain']);
    expect(shellContexts(`echo \\'\${{ params.x }}`)).toEqual(['plain']);
  });

  test('a reference the shell would not read as written (after a backslash, in a comment) is refused, and the others keep their own places', async () => {
    const text = `echo a # note \${{ params.x }}\necho "\${{ params.y }}" \\\${{ params.z }} '\${{ params.x }}'`;
    const contexts = shellContexts(text);
    expect(contexts).toHaveLength(4);
    expect(contexts[0]).toMatchObject({ problem: expect.stringMatching(/comment/) });
    expect(contexts[1]).toBe('double');
    expect(contexts[2]).toMatchObject({ problem: expect.stringMatching(/backslash/) });
    expect(contexts[3]).toBe('single');
    // Had the comment's reference been skipped, y's value would have been quoted as if it stood outside
    // quotes: inside "..." a single-quoted $(...) runs. The plan is refused instead.
    const error = await refusal({
      parameters: { x: { type: 'string' }, y: { type: 'string' } },
      params: { x: 'v', y: '$(touch /tmp/never)' },
      commands: [sh('echo ok # ${{ params.x }}\necho "${{ params.y }}"')],
    });
    expect(error.field).toBe('commands[0].command.command');
    expect(error.message).toMatch(/comment/);
  });

  test('SDK parameter values are rewritten at any depth, other values left alone', () => {
    const request = {
      command: {
        type: 'sdk' as const,
        service: 'ec2',
        operation: 'CreateTags',
        parameters: {
          Resources: ['${{ params.id }}'],
          DryRun: false,
          Tags: [{ Key: 'k', Value: 'v-${{ params.id }}' }],
        },
        profile: null,
        region: null,
      },
      env: {},
      working_dir: null,
    };
    const out = rewriteTemplates(request, (f) => f.text.replace('${{ params.id }}', 'i-9'));
    expect(out.command.parameters).toEqual({ Resources: ['i-9'], DryRun: false, Tags: [{ Key: 'k', Value: 'v-i-9' }] });
  });
});

describe('cloudops-exec run --param', () => {
  const BIN = join(import.meta.dirname, '..', 'dist/cli/main.js');
  function run(...args: string[]) {
    const dir = tempDir();
    const plan = join(dir, 'plan.yaml');
    writeFileSync(
      plan,
      [
        'parameters:',
        '  env_name: {type: string, default: staging, enum: [staging, prod]}',
        '  count: {type: integer}',
        'commands:',
        '  - command: {type: exec, program: echo, args: ["${{ params.env_name }}:${{ params.count }}"]}',
      ].join('\n'),
    );
    return spawnSync(process.execPath, [BIN, '--log-dir', dir, 'run', ...args, plan], { encoding: 'utf8' });
  }

  test('values given on the command line are checked and substituted', () => {
    const ok = run('--param', 'count=3', '--param', 'env_name=prod');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('prod:3');
    const bad = run('--param', 'count=three');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/params\.count: parameter "count" must be an integer \(got "three"\)/);
    const unknown = run('--param', 'count=1', '--param', 'envname=prod');
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toMatch(/params\.envname: unknown parameter "envname".*did you mean "env_name"/);
    const malformed = run('--param', 'count');
    expect(malformed.status).toBe(2);
    expect(malformed.stderr).toMatch(/--param count: write NAME=VALUE/);
  });
});
