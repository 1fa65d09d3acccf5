/** ExecutionConfig defaults (the seed's `ExecutionConfig::default()`) and validation. */
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { logDirOf, logPathOf } from '../src/config.js';
import { DEFAULT_CONFIG, ExecutionEngine, resolveConfig } from '../src/index.js';
import { validationErrorOf } from './helpers.js';

test('DEFAULT_CONFIG has the seed defaults', () => {
  expect(DEFAULT_CONFIG).toMatchObject({
    default_timeout_ms: 120_000,
    max_timeout_ms: 600_000,
    stream_output: true,
    log_dir: null,
    max_concurrent_executions: 10,
  });
});

test('DEFAULT_CONFIG is frozen', () => {
  expect(Object.isFrozen(DEFAULT_CONFIG)).toBe(true);
});

test('resolveConfig() with no input equals DEFAULT_CONFIG', () => {
  expect(resolveConfig()).toEqual(DEFAULT_CONFIG);
  expect(resolveConfig({})).toEqual(DEFAULT_CONFIG);
});

test('resolveConfig keeps given values and fills the rest', () => {
  const config = resolveConfig({ default_timeout_ms: 300_000, max_concurrent_executions: 3, log_dir: '/var/log/x' });
  expect(config.default_timeout_ms).toBe(300_000);
  expect(config.max_concurrent_executions).toBe(3);
  expect(config.log_dir).toBe('/var/log/x');
  expect(config.max_timeout_ms).toBe(600_000);
  expect(config.stream_output).toBe(true);
});

test.each([0, -1, 1.5])(
  'resolveConfig rejects max_concurrent_executions %j on config.max_concurrent_executions',
  (value) => {
    const err = validationErrorOf(() => resolveConfig({ max_concurrent_executions: value }));
    expect(err.field).toBe('config.max_concurrent_executions');
    expect(err.message).toContain('config.max_concurrent_executions');
  },
);

test('resolveConfig rejects a wrong type with the config. path', () => {
  const err = validationErrorOf(() => resolveConfig({ stream_output: 'yes' as unknown as boolean }));
  expect(err.field).toBe('config.stream_output');
});

test('resolveConfig rejects default_timeout_ms > max_timeout_ms', () => {
  const err = validationErrorOf(() => resolveConfig({ default_timeout_ms: 700_000 }));
  expect(err.kind).toBe('TimeoutTooLarge');
  expect(err.field).toBe('config.default_timeout_ms');
  expect(err.message).toContain('700000ms > 600000ms');
});

test('resolveConfig accepts default_timeout_ms == max_timeout_ms', () => {
  expect(resolveConfig({ default_timeout_ms: 1000, max_timeout_ms: 1000 }).default_timeout_ms).toBe(1000);
});

test('resolveConfig reports every bad field', () => {
  const err = validationErrorOf(() => resolveConfig({ max_concurrent_executions: 0, max_timeout_ms: -1 }));
  expect(err.issues.map((i) => i.field).sort()).toEqual(['config.max_concurrent_executions', 'config.max_timeout_ms']);
});

test('new ExecutionEngine({max_concurrent_executions: 0}) throws a ValidationError', () => {
  const err = validationErrorOf(() => new ExecutionEngine({ max_concurrent_executions: 0 }));
  expect(err.field).toBe('config.max_concurrent_executions');
});

test('the log dir defaults to the per-user state dir ($XDG_STATE_HOME under test)', () => {
  expect(logDirOf(DEFAULT_CONFIG)).toBe(join(process.env.XDG_STATE_HOME!, 'cloudops-execution-engine'));
  expect(logPathOf(resolveConfig({ log_dir: '/logs' }), 'abc')).toBe(join('/logs', 'abc.log'));
});
