/**
 * Step outputs and parameters at run time: json / regex / file outputs read from a completed
 * step and substituted into later ones; values reach programs as one unchanged argument and
 * are never run by a shell; a missing output or an unsafe value fails the step before it starts.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import type { ExecutionEvent, ExecutionPlanInput } from '../src/index.js';
import { makeEngine, sh, tempDir } from './helpers.js';

/** Prints its arguments (after the script) as a JSON array: what the program received. */
const PRINT_ARGV = 'console.log(JSON.stringify(process.argv.slice(1)))';
const printArgv = (...args: string[]) => ({
  command: { type: 'exec' as const, program: process.execPath, args: ['-e', PRINT_ARGV, '--', ...args] },
});

/** Every kind of text a shell or an argument parser could take apart, with a leading "-". */
function hostile(marker: string): string {
  return `--force a  b 'single' "double" $(touch ${marker}) \`touch ${marker}\` ; touch ${marker} && x | y > z $HOME *`;
}

test('a parameter reaches an exec program as one unchanged argument, and a shell string does not run it', async () => {
  const dir = tempDir();
  const marker = join(dir, 'executed');
  const value = hostile(marker);
  const engine = makeEngine();
  const id = await engine.executePlan({
    parameters: { v: { type: 'string' } },
    params: { v: value },
    commands: [
      { name: 'argv', ...printArgv('${{ params.v }}', 'x${{ params.v }}y') },
      {
        name: 'shell',
        // Outside quotes, inside "..." and '...', inside $(...), after a comment with a quote in it.
        ...sh(
          `# it's a comment\nprintf "%s\\n" \${{ params.v }} before\${{ params.v }}after "dq \${{ params.v }}" 'sq \${{ params.v }}' "$(printf %s \${{ params.v }})"`,
        ),
      },
    ],
  });
  const result = await engine.waitPlan(id);
  expect(result.status).toBe('completed');
  expect(JSON.parse(result.results[0]!.stdout)).toEqual([value, `x${value}y`]);
  // Single-quoted for the shell: one word each, never expanded or run.
  expect(result.results[1]!.stdout.split('\n')).toEqual([
    value,
    `before${value}after`,
    `dq ${value}`,
    `sq ${value}`,
    value,
    '',
  ]);
  expect(existsSync(marker)).toBe(false);
  await engine.shutdown();
});

test('an output with shell syntax flows into exec arguments and a shell string unchanged and unrun', async () => {
  const dir = tempDir();
  const marker = join(dir, 'executed');
  const value = hostile(marker);
  const engine = makeEngine();
  const id = await engine.executePlan({
    commands: [
      {
        name: 'make',
        ...printArgv(value),
        outputs: { v: { json: '[0]' } },
      },
      { name: 'argv', ...printArgv('${{ steps.make.outputs.v }}') },
      { name: 'shell', ...sh('echo ${{ steps.make.outputs.v }}; echo done') },
    ],
  });
  const result = await engine.waitPlan(id);
  expect(result.status).toBe('completed');
  expect(result.results[0]!.outputs).toEqual({ v: value });
  expect(JSON.parse(result.results[1]!.stdout)).toEqual([value]);
  expect(result.results[2]!.stdout).toBe(`${value}\ndone\n`);
  expect(existsSync(marker)).toBe(false);
  await engine.shutdown();
});

test('json, regex and file outputs are read from a completed step and feed later steps', async () => {
  const dir = tempDir();
  const engine = makeEngine();
  const events: ExecutionEvent[] = [];
  engine.withEventHandler((e) => void events.push(e));
  const id = await engine.executePlan({
    strategy: { type: 'dependency_graph', dependencies: { use: ['create'], check: ['use'], where: ['create'] } },
    commands: [
      {
        name: 'create',
        ...sh(
          `echo '{"Instances":[{"InstanceId":"i-0abc","Tags":[{"Key":"a"}]}]}'; echo "made: vol-77 ok" >&2; echo "zone=eu-west-1a" >> "$CLOUDOPS_OUTPUTS"; echo "workdir=${dir}" >> "$CLOUDOPS_OUTPUTS"`,
        ),
        outputs: {
          instance_id: { json: 'Instances[0].InstanceId' },
          tags: { json: 'Instances[0].Tags' },
          count: { json: 'length(Instances)' },
          first_key: { regex: '"Key":"([a-z]+)"' },
          zone: { file: true },
          workdir: { file: true },
        },
      },
      {
        name: 'use',
        ...sh('echo "${{ steps.create.outputs.instance_id }}|" ${{ steps.create.outputs.zone }}'),
        env: { TAGS: '${{ steps.create.outputs.tags }}/${{ steps.create.outputs.count }}' },
        outputs: { line: { regex: '^(i-[0-9a-z]+)' } },
      },
      // A transitive dependency: create reaches check through use.
      {
        name: 'check',
        ...printArgv('${{ steps.use.outputs.line }}', '${{ steps.create.outputs.first_key }}'),
      },
      { name: 'where', ...sh('pwd'), working_dir: '${{ steps.create.outputs.workdir }}' },
    ],
  });
  const result = await engine.waitPlan(id);
  expect(result.status).toBe('completed');
  expect(result.results[0]!.outputs).toEqual({
    instance_id: 'i-0abc',
    tags: '[{"Key":"a"}]',
    count: '1',
    first_key: 'a',
    zone: 'eu-west-1a',
    workdir: dir,
  });
  expect(result.results[1]!.stdout).toBe('i-0abc| eu-west-1a\n');
  expect(result.results[1]!.outputs).toEqual({ line: 'i-0abc' });
  expect(JSON.parse(result.results[2]!.stdout)).toEqual(['i-0abc', 'a']);
  expect(result.results[3]!.stdout).toBe(`${dir}\n`);
  // The outputs are in the completed event.
  const completed = events.filter((e) => e.event_type === 'completed');
  expect(completed.find((e) => e.execution_id === result.results[0]!.id)).toMatchObject({
    result: { outputs: { instance_id: 'i-0abc' } },
  });
  // The resolved command is what runs, is logged and listed.
  const log = readFileSync(result.results[1]!.log_path, 'utf8');
  expect(log).toContain(`echo "i-0abc|" 'eu-west-1a'`);
  expect(log).not.toContain('${{');
  await engine.shutdown();
});

test('the outputs file is fresh for each step and gone after it', async () => {
  const dir = tempDir();
  const seen = join(dir, 'seen');
  const engine = makeEngine();
  const id = await engine.executePlan({
    commands: [
      {
        ...sh(`echo "$CLOUDOPS_OUTPUTS" > ${seen}; echo "a=1" >> "$CLOUDOPS_OUTPUTS"`),
        outputs: { a: { file: true } },
      },
      { ...sh('echo "b=2" >> "$CLOUDOPS_OUTPUTS"; cat "$CLOUDOPS_OUTPUTS"'), outputs: { b: { file: true } } },
    ],
  });
  const result = await engine.waitPlan(id);
  expect(result.results.map((r) => r.outputs)).toEqual([{ a: '1' }, { b: '2' }]);
  expect(result.results[1]!.stdout).toBe('b=2\n'); // nothing of the first step's file
  expect(existsSync(readFileSync(seen, 'utf8').trim())).toBe(false);
  await engine.shutdown();
});

test('an output that cannot be read is missing: the step referring to it fails before it starts', async () => {
  const dir = tempDir();
  const ran = join(dir, 'ran');
  const engine = makeEngine();
  const plan: ExecutionPlanInput = {
    commands: [
      {
        name: 'create',
        ...sh('echo \'{"Instances":[]}\''),
        outputs: { id: { json: 'Instances[0].InstanceId' }, never: { regex: 'id=(\\w+)' } },
      },
      { name: 'tag', ...sh(`touch ${ran}; echo \${{ steps.create.outputs.id }}`) },
    ],
  };
  const id = await engine.executePlan(plan);
  const result = await engine.waitPlan(id);
  expect(result.status).toBe('failed');
  expect(result.results[0]!.status).toBe('completed');
  expect(result.results[0]!.outputs).toEqual({});
  const tag = result.results[1]!;
  expect(tag).toMatchObject({ status: 'failed', error_code: 'missing_output', attempts: 0 });
  expect(tag.error).toContain('command.command');
  expect(tag.error).toContain('steps.create.outputs.id');
  expect(tag.error).toMatch(/create did not produce it/);
  expect(existsSync(ran)).toBe(false);
  await engine.shutdown();
});

test('a step that failed produces no outputs; a later step (stop_on_error false) that needs one fails unstarted', async () => {
  const engine = makeEngine();
  const id = await engine.executePlan({
    strategy: { type: 'serial', stop_on_error: false },
    commands: [
      { name: 'a', ...sh('echo v=1; exit 3'), outputs: { v: { regex: 'v=(\\d)' } } },
      { name: 'b', ...sh('echo ${{ steps.a.outputs.v }}') },
    ],
  });
  const result = await engine.waitPlan(id);
  expect(result.results[0]).toMatchObject({ status: 'failed', outputs: {} });
  expect(result.results[1]).toMatchObject({ status: 'failed', error_code: 'missing_output' });
  expect(result.results[1]!.error).toMatch(/ended failed/);
  await engine.shutdown();
});

test('a value holding a newline is refused: the step fails before it starts', async () => {
  const engine = makeEngine();
  const id = await engine.executePlan({
    commands: [
      { name: 'a', ...sh('printf \'{"v":"one\\\\ntwo"}\''), outputs: { v: { json: 'v' } } },
      { name: 'b', ...printArgv('${{ steps.a.outputs.v }}') },
    ],
  });
  const result = await engine.waitPlan(id);
  expect(result.results[0]!.outputs).toEqual({ v: 'one\ntwo' });
  expect(result.results[1]).toMatchObject({ status: 'failed', error_code: 'unsafe_value', attempts: 0, stdout: '' });
  expect(result.results[1]!.error).toMatch(/command\.args\[3\] holds a newline/);
  await engine.shutdown();
});

test('parameters: defaults apply, typed values are substituted as text', async () => {
  const engine = makeEngine();
  const id = await engine.executePlan({
    parameters: {
      env_name: { type: 'string', default: 'staging', enum: ['staging', 'prod'] },
      count: { type: 'integer' },
      ratio: { type: 'number', default: 0.5 },
      dry: { type: 'boolean', default: false },
    },
    params: { count: '3' },
    commands: [printArgv('${{ params.env_name }}', '${{params.count}}', '${{ params.ratio }}', '${{ params.dry }}')],
  });
  const result = await engine.waitPlan(id);
  expect(JSON.parse(result.results[0]!.stdout)).toEqual(['staging', '3', '0.5', 'false']);
  await engine.shutdown();
});

test('a rollback command uses the outputs of the step it undoes', async () => {
  const dir = tempDir();
  const journal = join(dir, 'journal');
  const engine = makeEngine();
  const id = await engine.executePlan({
    rollback_strategy: 'on_failure',
    commands: [
      {
        name: 'create',
        ...sh('echo created id-42'),
        outputs: { id: { regex: 'created (\\S+)' } },
        rollback: [sh(`echo undo \${{ steps.create.outputs.id }} >> ${journal}`)],
      },
      sh('exit 1'),
    ],
  });
  const result = await engine.waitPlan(id);
  expect(result.status).toBe('rolled_back');
  expect(readFileSync(journal, 'utf8')).toBe('undo id-42\n');
  await engine.shutdown();
});

test('a dry run describes a step that needs earlier outputs instead of asking AWS, and fills in parameters', async () => {
  const engine = makeEngine();
  const result = await engine.dryRun({
    parameters: { greeting: { type: 'string', default: "it's" } },
    commands: [
      { name: 'create', ...sh('echo \'{"id":"i-1"}\''), outputs: { id: { json: 'id' } } },
      {
        name: 'terminate',
        command: {
          type: 'aws_cli',
          service: 'ec2',
          operation: 'terminate-instances',
          args: ['--instance-ids', '${{ steps.create.outputs.id }}'],
        },
      },
      sh('echo ${{ params.greeting }}'),
    ],
  });
  const [, terminate, echo] = result.commands;
  expect(terminate).toMatchObject({ method: 'description', would_succeed: null });
  expect(terminate!.description).toMatch(
    /^not run: depends on outputs of create: described only; would run .*terminate-instances --instance-ids \$\{\{ steps\.create\.outputs\.id \}\}/,
  );
  // Risk is assessed on the plan as written: terminating is destructive whatever the id.
  expect(terminate!.risk_level).toBe('destructive');
  expect(echo!.description).toContain(`echo 'it'\\''s'`);
  await engine.shutdown();
});

test('the history keeps each step its outputs and the command as it ran', async () => {
  const engine = makeEngine();
  const id = await engine.executePlan({
    commands: [
      { name: 'make', ...sh('echo id=i-77'), outputs: { id: { regex: 'id=(\\S+)' } } },
      { name: 'use', ...sh('echo ${{ steps.make.outputs.id }}') },
    ],
  });
  const result = await engine.waitPlan(id);
  const [make, use] = result.results;
  expect(engine.history!.get(make!.id)).toMatchObject({ outputs: { id: 'i-77' } });
  expect(engine.history!.get(use!.id)).toMatchObject({ outputs: {}, command: "echo 'i-77'" });
  expect(engine.history!.get(id)!.outputs).toBeNull();
  await engine.shutdown();
});
