/**
 * Plans sized to exhaust memory: YAML alias bombs, huge files, and plans of very many
 * commands are refused early, with an answer naming the file or field and why, and nothing
 * of them runs.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { ValidationError } from '../../src/index.js';
import { parsePlan } from '../../src/wire/parse.js';
import { makeEngine, tempDir } from '../helpers.js';
import { startTestServer } from '../support/server.js';

const BIN = fileURLToPath(new URL('../../dist/cli/main.js', import.meta.url));

function cli(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, '--log-dir', tempDir(), ...args], {
    encoding: 'utf8',
    input,
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}

/** Nine levels of nine aliases each: 9^9 (387 million) strings once expanded. */
function billionLaughs(command: string): string {
  const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
  let previous = 'a';
  for (const name of 'bcdefghi') {
    lines.push(`${name}: &${name} [${Array.from({ length: 9 }, () => `*${previous}`).join(',')}]`);
    previous = name;
  }
  lines.push(`commands: [{command: {type: shell, command: "${command}"}, env: {X: *i}}]`);
  return `${lines.join('\n')}\n`;
}

describe('plan files', () => {
  test.each(['validate', 'run'])(
    'a YAML alias bomb: `%s` exits 2 naming the file and the aliases; nothing runs',
    (sub) => {
      const dir = tempDir();
      const sentinel = join(dir, 'ran');
      const file = join(dir, 'bomb.yaml');
      writeFileSync(file, billionLaughs(`touch ${sentinel}`));
      const r = cli([sub, file]);
      expect(r.status).toBe(2);
      expect(r.stderr).toContain(`${file}: not loadable as YAML: its aliases expand too much`);
      expect(existsSync(sentinel)).toBe(false);
    },
  );

  test('a bomb on stdin, and one with fewer, wider aliases: exit 2 naming the source', () => {
    const wide = [
      `a: &a [${Array.from({ length: 1000 }, () => '"x"').join(',')}]`,
      `b: &b [${Array.from({ length: 200 }, () => '*a').join(',')}]`,
      'commands: [{command: {type: exec, program: "true"}}]',
    ].join('\n');
    const r = cli(['validate', '-'], wide);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('<stdin>: not loadable as YAML');
    const stdin = cli(['validate', '-'], billionLaughs('true'));
    expect(stdin.status).toBe(2);
    expect(stdin.stderr).toContain('<stdin>: not loadable as YAML: its aliases expand too much');
  });

  test('deep nesting is a YAML error with the file named, not a crash', () => {
    const file = join(tempDir(), 'deep.yaml');
    writeFileSync(file, `${'['.repeat(100_000)}${']'.repeat(100_000)}\n`);
    const r = cli(['validate', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(file);
  });

  test('a plan file over 16 MiB is refused before it is read, from a path or from stdin', () => {
    const file = join(tempDir(), 'huge.json');
    const padding = 'x'.repeat(17 * 1024 * 1024);
    const text = JSON.stringify({ description: padding, commands: [{ command: { type: 'exec', program: 'true' } }] });
    writeFileSync(file, text);
    const r = cli(['validate', file]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(new RegExp(`${file}: the plan file is \\d+ bytes, more than the 16777216 \\(16 MiB\\)`));
    const stdin = cli(['validate', '-'], text);
    expect(stdin.status).toBe(2);
    expect(stdin.stderr).toContain('<stdin>: the plan file is larger than 16777216 bytes (16 MiB)');
  });
});

describe('plan size (max_plan_commands)', () => {
  const command = { command: { type: 'exec' as const, program: 'touch', args: ['/nonexistent/never'] } };

  test('10,001 commands: a ValidationError on `commands` naming the limit and the config field; nothing runs; memory stays modest', async () => {
    const engine = makeEngine();
    const dir = tempDir();
    const sentinel = join(dir, 'ran');
    const plan = {
      commands: Array.from({ length: 10_001 }, () => ({
        command: { type: 'exec' as const, program: 'touch', args: [sentinel] },
      })),
    };
    // A hundred thousand (5 MB of JSON) used to take a gigabyte; refused before per-command work, it takes next to nothing.
    const huge = { commands: Array.from({ length: 100_000 }, () => command) };
    const rss = process.memoryUsage().rss;
    for (const input of [plan, huge]) {
      const err = await engine.executePlan(input).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ValidationError).field).toBe('commands');
      expect((err as ValidationError).reason).toMatch(/at most 10000 are accepted \(config max_plan_commands\)/);
      await expect(engine.dryRun(input)).rejects.toMatchObject({ field: 'commands' });
      await expect(engine.createApprovalRequest(input)).rejects.toMatchObject({ field: 'commands' });
    }
    expect(process.memoryUsage().rss - rss).toBeLessThan(200 * 1024 * 1024);
    expect(await engine.listExecutions()).toEqual([]);
    expect(existsSync(sentinel)).toBe(false);
  });

  test('rollback steps count too; the limit is the config value', async () => {
    const engine = makeEngine({ max_plan_commands: 5 });
    const withRollback = { commands: Array.from({ length: 3 }, () => ({ ...command, rollback: [command] })) };
    await expect(engine.executePlan(withRollback)).rejects.toMatchObject({
      field: 'commands',
      reason: expect.stringMatching(/has 6 commands .* at most 5/),
    });
    const five = await engine.executePlan({
      commands: Array.from({ length: 5 }, () => ({ command: { type: 'exec' as const, program: 'true' } })),
    });
    expect((await engine.waitPlan(five)).status).toBe('completed');
    expect(() => parsePlan({ commands: Array.from({ length: 6 }, () => command) }, { max_plan_commands: 5 })).toThrow(
      expect.objectContaining({ field: 'commands' }),
    );
  });

  test('the CLI: a 10,001-command plan (JSON or YAML) is exit 2 naming `commands` and max_plan_commands', () => {
    const dir = tempDir();
    const sentinel = join(dir, 'ran');
    const commands = Array.from({ length: 10_001 }, () => ({
      command: { type: 'exec', program: 'touch', args: [sentinel] },
    }));
    const json = join(dir, 'big.json');
    writeFileSync(json, JSON.stringify({ commands }));
    const yaml = join(dir, 'big.yaml');
    writeFileSync(
      yaml,
      `commands:\n${commands.map(() => `  - command: {type: exec, program: touch, args: [${sentinel}]}`).join('\n')}\n`,
    );
    for (const [sub, file] of [
      ['validate', json],
      ['run', json],
      ['validate', yaml],
    ] as const) {
      const r = cli([sub, file]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain('commands: the plan has 10001 commands');
      expect(r.stderr).toContain('config max_plan_commands');
    }
    expect(existsSync(sentinel)).toBe(false);
  });

  test('over HTTP: a 10,001-command plan is a 400 on `commands`', async () => {
    const { api, engine } = await startTestServer({ approval: null });
    const res = await api('POST', '/api/plans', {
      commands: Array.from({ length: 10_001 }, () => ({ command: { type: 'exec', program: 'true' } })),
    });
    expect(res.status).toBe(400);
    expect(res.body.error.field).toBe('commands');
    expect(await engine.listExecutions()).toEqual([]);
  });
});
