import { expect, test } from 'vitest';
import { JSON_SCHEMA_NAMES, jsonSchemaOf } from '../src/index.js';

type Json = Record<string, any>;

test('every wire object has a JSON Schema', () => {
  expect(JSON_SCHEMA_NAMES.sort()).toEqual(['event', 'plan', 'plan_result', 'request', 'result']);
  for (const name of JSON_SCHEMA_NAMES) expect(jsonSchemaOf(name).$schema).toMatch(/json-schema\.org/);
});

test('the request schema lists the five command types and requires only what the parser requires', () => {
  const schema = jsonSchemaOf('request') as Json;
  expect(schema.required).toEqual(['command']);
  const types = (schema.properties.command.oneOf as Json[]).map((o) => o.properties.type.const).sort();
  expect(types).toEqual(['aws_cli', 'exec', 'script', 'sdk', 'shell']);
  const exec = (schema.properties.command.oneOf as Json[]).find((o) => o.properties.type.const === 'exec')!;
  expect(exec.required).toEqual(['type', 'program']);
});

test('generated ids publish no fixed default', () => {
  const plan = jsonSchemaOf('plan') as Json;
  expect(plan.properties.id.default).toBeUndefined();
  expect(plan.properties.commands.items.properties.id.default).toBeUndefined();
  expect(plan.properties.commands.minItems).toBe(1);
});
