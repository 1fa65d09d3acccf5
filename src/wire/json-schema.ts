/** JSON Schemas of the wire objects, generated from the same zod schemas that validate input. */
import { z } from 'zod';
import {
  ExecutionEventSchema,
  ExecutionPlanSchema,
  ExecutionRequestSchema,
  ExecutionResultSchema,
  GeneratedId,
  PlanExecutionResultSchema,
} from './schema.js';

const SCHEMAS = {
  request: ExecutionRequestSchema,
  plan: ExecutionPlanSchema,
  event: ExecutionEventSchema,
  result: ExecutionResultSchema,
  plan_result: PlanExecutionResultSchema,
} as const;

export type JsonSchemaName = keyof typeof SCHEMAS;
export const JSON_SCHEMA_NAMES = Object.keys(SCHEMAS) as JsonSchemaName[];

/**
 * The JSON Schema of one wire object, as a caller writes it (`io: 'input'`: fields with
 * defaults are optional). A generated id has no fixed default, so none is published.
 */
export function jsonSchemaOf(name: JsonSchemaName): Record<string, unknown> {
  return inputJsonSchema(SCHEMAS[name]);
}

/**
 * The JSON Schema of any input built from wire schemas (a tool's arguments, say), as `jsonSchemaOf`
 * writes it. `shared`: a sub-schema used more than once (a request inside a plan and on its own)
 * is written once under `$defs` and referred to (a third of the size for a plan tool).
 */
export function inputJsonSchema(schema: z.ZodType, options: { shared?: boolean } = {}): Record<string, unknown> {
  return z.toJSONSchema(schema, {
    io: 'input',
    ...(options.shared ? { reused: 'ref' as const } : {}),
    override: (ctx) => {
      if (ctx.zodSchema === GeneratedId) {
        delete ctx.jsonSchema.default;
        ctx.jsonSchema.description = 'UUID; generated when omitted';
      }
    },
  }) as Record<string, unknown>;
}
