/**
 * Short and common secret values (`test`, an emulator's favourite) are not redacted inside other
 * words, only where they stand alone; each such value is reported once in a warning that names
 * the variable, never the value.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { ApprovalWorkflow } from '../src/policy/approval.js';
import { redactData } from '../src/policy/redact-data.js';
import { redactorFor, secretStrength, secretValues } from '../src/policy/redaction.js';
import { assessHiddenContent } from '../src/policy/risk.js';
import { parsePlan } from '../src/wire/parse.js';
import { makeEngine, sh } from './helpers.js';

test('which values are searched for, and how', () => {
  expect(secretStrength('abc')).toBe('none');
  expect(secretStrength('true')).toBe('none');
  expect(secretStrength('test')).toBe('standalone');
  expect(secretStrength('s3cr3t!')).toBe('word');
  expect(secretStrength('hunter2')).toBe('word');
  expect(secretStrength('changeme')).toBe('standalone');
  expect(secretStrength('Password')).toBe('standalone');
  expect(secretStrength('k9-Zq4-xw')).toBe('substring');
});

test('a short or common value stays inside words and is hidden where it stands alone', () => {
  const redact = redactorFor(['test']);
  expect(redact('deleted bucket rb-test and test_helper, s3://test/key')).toBe(
    'deleted bucket rb-test and test_helper, s3://test/key',
  );
  expect(redact('running test suite')).toBe('running test suite');
  expect(redact('test')).toBe('***');
  expect(redact('  test  ')).toBe('  ***  ');
  expect(redact('a\ntest\nb')).toBe('a\n***\nb');
  expect(redact('password: test')).toBe('password: ***');
  expect(redact('DB_PASSWORD=test other')).toBe('DB_PASSWORD=*** other');
  expect(redact('{"Password": "test", "Name": "rb-test"}')).toBe('{"Password": "***", "Name": "rb-test"}');
  expect(redact("login 'test'")).toBe("login '***'");
  // A long, uncommon value goes wherever it is.
  expect(redactorFor(['k9-Zq4-xw'])('xk9-Zq4-xwx')).toBe('x***x');
});

test('a short value that is not a common word is hidden wherever it is a whole word', () => {
  const redact = redactorFor(['hunter2']);
  expect(redact('https://app:hunter2@db.internal/')).toBe('https://app:***@db.internal/');
  expect(redact('mysql --password hunter2 -h db')).toBe('mysql --password *** -h db');
  expect(redact('Authorization: Bearer hunter2')).toBe('Authorization: Bearer ***');
  expect(redact('<password>hunter2</password>')).toBe('<password>***</password>');
  expect(redact('hunter2')).toBe('***');
  // Inside a longer word it stays.
  expect(redact('hunter2x xhunter2 hunter2_a')).toBe('hunter2x xhunter2 hunter2_a');
  // A common short word keeps the strict rule.
  expect(redactorFor(['test', 'hunter2'])('running test suite with hunter2')).toBe('running test suite with ***');
  // The risk assessment follows: a URL holding the value hides part of the command.
  const hidden = assessHiddenContent({
    command: { type: 'exec', program: 'curl', args: ['https://app:hunter2@db.internal/'] },
    env: { DB_PASSWORD: 'hunter2' },
  });
  expect(hidden.verified).toBe(false);
});

test('data: a field equal to the value is hidden, the env var always is, a name containing it stays', () => {
  const data = {
    command: { type: 'exec', program: 'aws', args: ['s3', 'rb', 's3://rb-test', 'test'] },
    env: { DB_PASSWORD: 'test' },
  };
  expect(redactData(data, { redact_secrets: true })).toEqual({
    command: { type: 'exec', program: 'aws', args: ['s3', 'rb', 's3://rb-test', '***'] },
    env: { DB_PASSWORD: '***' },
  });
});

test('the risk assessment calls a value hidden only where redaction would hide it', () => {
  const env = { DB_PASSWORD: 'test' };
  const inName = assessHiddenContent({ command: { type: 'exec', program: 'echo', args: ['rb-test'] }, env });
  expect(inName.verified).toBe(true);
  const whole = assessHiddenContent({ command: { type: 'exec', program: 'echo', args: ['test'] }, env });
  expect(whole.verified).toBe(false);
  expect(whole.reasons.join(' ')).toContain('DB_PASSWORD');
});

test('through the engine: output, log and result keep rb-test; a line that is the secret is hidden', async () => {
  const engine = makeEngine();
  const id = await engine.execute({
    ...sh('echo "removed bucket rb-test"; echo "$DB_PASSWORD"; echo "password: $DB_PASSWORD"'),
    env: { DB_PASSWORD: 'test' },
  });
  const result = await engine.wait(id);
  expect(result.stdout).toBe('removed bucket rb-test\n***\npassword: ***\n');
  const log = readFileSync(result.log_path, 'utf8');
  expect(log).toContain('[stdout] removed bucket rb-test');
  expect(log).not.toMatch(/\[stdout\] test$/m);
  await engine.shutdown();
});

test('one warning per value per process, naming the variable and not the value', () => {
  const script = `
    import { secretValues } from ${JSON.stringify(join(import.meta.dirname, '../dist/policy/redaction.js'))};
    secretValues({ DB_PASSWORD: 'hunter2' });
    secretValues({ DB_PASSWORD: 'hunter2' }, { OTHER_TOKEN: 'hunter2' });
    secretValues({ API_TOKEN: 'a-long-random-value-1234' });
  `;
  const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
    encoding: 'utf8',
    cwd: join(import.meta.dirname, '..'),
  });
  expect(r.status, r.stderr).toBe(0);
  const warnings = r.stderr.split('\n').filter((l) => l.includes('CLOUDOPS_WEAK_SECRET'));
  expect(warnings).toHaveLength(1);
  expect(warnings[0]).toContain('DB_PASSWORD');
  expect(r.stderr).not.toContain('hunter2');
  expect(secretValues({ X_TOKEN: 'true', Y_TOKEN: 'ab' })).toEqual([]);
});

test('a secret hides content across the plan: in another command, a rollback step, or another variable with its value', () => {
  const workflow = new ApprovalWorkflow();
  const secret = { API_TOKEN: '/etc/hidden-target' };
  const request = (plan: object) => workflow.createApprovalRequest(parsePlan(plan));
  const cat = { command: { type: 'exec', program: 'cat', args: ['/etc/hidden-target'] } };

  // Command B reads a path that is command A's secret value: B shows "cat ***".
  const across = request({ commands: [{ command: { type: 'exec', program: 'true', args: [] }, env: secret }, cat] });
  expect(across.commands[1]).toMatchObject({ verified: false });
  expect(across.commands[1]!.risk_reasons.join(' ')).toContain('API_TOKEN');

  // A rollback step holding its command's secret.
  const rollback = request({
    commands: [{ command: { type: 'exec', program: 'true', args: [] }, env: secret, rollback: [cat] }],
  });
  expect(rollback.commands[0]).toMatchObject({ verified: false });

  // The same value under a plain name, used as "$F": the env shows F=***.
  const alias = request({
    commands: [{ command: { type: 'shell', command: 'cat "$F"' }, env: { ...secret, F: '/etc/hidden-target' } }],
  });
  expect(alias.commands[0]).toMatchObject({ verified: false });

  // Nothing hidden: verified as before.
  const plain = request({
    commands: [
      { command: { type: 'exec', program: 'true', args: [] }, env: secret },
      { command: { type: 'exec', program: 'cat', args: ['/etc/hostname'] } },
    ],
  });
  expect(plain.commands.map((c) => c.verified)).toEqual([true, true]);
});
