/**
 * The shared wire-format conformance samples: every valid sample round-trips through the
 * parser and serializer, every invalid one is rejected with the error the README names.
 * The directories are enumerated, so a new sample without an expectation fails here.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import {
  DEFAULT_CONFIG,
  parseEvent,
  parsePlan,
  parseRequest,
  serialize,
  ValidationError,
  type ValidationErrorCode,
  validatePlan,
  validateRequest,
} from '../src/index.js';

const root = new URL('../../shared/conformance/', import.meta.url);
const validDir = new URL('valid/', root);
const invalidDir = new URL('invalid/', root);

function jsonFiles(dir: URL): string[] {
  return readdirSync(fileURLToPath(dir))
    .filter((f) => f.endsWith('.json'))
    .sort();
}

function readJson(dir: URL, file: string): unknown {
  return JSON.parse(readFileSync(fileURLToPath(new URL(file, dir)), 'utf8'));
}

type Parser = (input: unknown) => unknown;

function parserFor(file: string): Parser | undefined {
  if (file.startsWith('request_')) return parseRequest;
  if (file.startsWith('plan_')) return parsePlan;
  if (file.startsWith('event_')) return parseEvent;
  return undefined;
}

/** Every key/value of `original` is present and equal in `actual` (recursively); arrays must match in length. */
function expectSuperset(actual: unknown, original: unknown, path = '$'): void {
  if (original === null || typeof original !== 'object') {
    expect(actual, path).toEqual(original);
    return;
  }
  if (Array.isArray(original)) {
    expect(Array.isArray(actual), `${path} is an array`).toBe(true);
    const list = actual as unknown[];
    expect(list.length, `${path}.length`).toBe(original.length);
    original.forEach((item, i) => expectSuperset(list[i], item, `${path}[${i}]`));
    return;
  }
  expect(actual !== null && typeof actual === 'object' && !Array.isArray(actual), `${path} is an object`).toBe(true);
  const obj = actual as Record<string, unknown>;
  for (const [key, value] of Object.entries(original)) {
    expect(Object.hasOwn(obj, key), `${path}.${key} is present`).toBe(true);
    expectSuperset(obj[key], value, `${path}.${key}`);
  }
}

test('the conformance directory exists and has samples', () => {
  expect(existsSync(fileURLToPath(root))).toBe(true);
  expect(jsonFiles(validDir).length).toBeGreaterThan(0);
  expect(jsonFiles(invalidDir).length).toBeGreaterThan(0);
});

test('every valid sample has a known prefix', () => {
  const unknown = jsonFiles(validDir).filter((f) => parserFor(f) === undefined);
  expect(unknown).toEqual([]);
});

describe('valid samples round-trip', () => {
  for (const file of jsonFiles(validDir)) {
    test(file, () => {
      const parse = parserFor(file);
      expect(parse, `no parser for ${file}`).toBeDefined();
      const original = readJson(validDir, file);
      const parsed = parse!(original);
      const reserialized: unknown = JSON.parse(serialize(parsed as Parameters<typeof serialize>[0]));
      expectSuperset(reserialized, original);
      // The serialized form is a fixed point of parse.
      expect(parse!(reserialized)).toEqual(parsed);
      // And parsing from JSON text gives the same object.
      expect(parse!(serialize(parsed as Parameters<typeof serialize>[0]))).toEqual(parsed);
    });
  }
});

interface Expectation {
  kind: ValidationErrorCode;
  check: (err: ValidationError) => void;
}

const EXPECTED: Record<string, Expectation> = {
  'unknown_command_type.json': {
    kind: 'InvalidCommand',
    check: (err) => {
      expect(err.message).toContain('powershell');
      expect(err.field).toBe('command.type');
    },
  },
  'exec_missing_program.json': {
    kind: 'MissingField',
    check: (err) => {
      expect(err.field).toBe('command.program');
      expect(err.message).toMatch(/^Validation error: Missing required field: /);
      expect(err.message).toContain('command.program');
    },
  },
  'plan_cycle.json': {
    kind: 'InvalidPlan',
    check: (err) => {
      expect(err.message).toMatch(/^Validation error: Invalid execution plan: /);
      expect(err.message).toMatch(/\b0\b/);
      expect(err.message).toMatch(/\b1\b/);
      expect(err.message).toMatch(/cycle/);
    },
  },
  'plan_dependency_out_of_range.json': {
    kind: 'InvalidPlan',
    check: (err) => {
      expect(err.message).toMatch(/^Validation error: Invalid execution plan: /);
      expect(err.message).toMatch(/\b7\b/);
      expect(err.field).toBe('strategy.dependencies.1');
    },
  },
  'timeout_too_large.json': {
    kind: 'TimeoutTooLarge',
    check: (err) => {
      expect(err.message).toContain('99999999ms > 600000ms');
      expect(err.message).toMatch(/^Validation error: Timeout exceeds maximum allowed: /);
      expect(err.field).toBe('timeout_ms');
    },
  },
};

/** Parse, then validate under the default config; returns what was thrown (or undefined). */
async function rejectionOf(file: string, json: unknown): Promise<unknown> {
  try {
    if (file.startsWith('plan_')) {
      await validatePlan(parsePlan(json), DEFAULT_CONFIG);
    } else if (file.startsWith('event_')) {
      parseEvent(json);
    } else {
      // Invalid samples are requests unless named plan_ / event_.
      await validateRequest(parseRequest(json), DEFAULT_CONFIG);
    }
  } catch (err) {
    return err;
  }
  return undefined;
}

test('every invalid sample has an expectation, and every expectation a sample', () => {
  expect(jsonFiles(invalidDir)).toEqual(Object.keys(EXPECTED).sort());
});

describe('invalid samples are rejected with the README error', () => {
  for (const file of jsonFiles(invalidDir)) {
    test(file, async () => {
      const expected = EXPECTED[file];
      expect(expected, `no expectation for invalid/${file}`).toBeDefined();
      const err = await rejectionOf(file, readJson(invalidDir, file));
      expect(err).toBeInstanceOf(ValidationError);
      const verr = err as ValidationError;
      expect(verr.kind).toBe(expected!.kind);
      expected!.check(verr);
    });
  }
});

test('the plan cycle message names the cycle in dependency order', async () => {
  const err = await rejectionOf('plan_cycle.json', readJson(invalidDir, 'plan_cycle.json'));
  expect((err as ValidationError).message).toMatch(/0 -> 1 -> 0|1 -> 0 -> 1/);
});
