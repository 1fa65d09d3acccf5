/** The OpenAPI 3.1 document, generated from the route table and the zod schemas that validate input. */
import { z } from 'zod';
import { ROLES } from '../vocabulary.js';
import { jsonSchemaOf } from '../wire/json-schema.js';
import { rolesWith } from './access.js';
import { ErrorSchema } from './api-schemas.js';
import type { RouteSpec } from './route-spec.js';
import { YAML_BODY_ROUTES, YAML_MEDIA_TYPES } from './yaml-body.js';

type Json = Record<string, unknown>;

function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const out = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Json;
  delete out.$schema;
  return out;
}

function schemaRef(schema: z.ZodType | string, io: 'input' | 'output'): Json {
  return typeof schema === 'string' ? { $ref: `#/components/schemas/${schema}` } : jsonSchema(schema, io);
}

/** `/api/executions/:id` -> `/api/executions/{id}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z_]+)/g, '{$1}');

function parameters(spec: RouteSpec): Json[] {
  const out: Json[] = [];
  for (const [where, schema] of [
    ['path', spec.params],
    ['query', spec.query],
  ] as const) {
    if (!schema) continue;
    const object = jsonSchema(schema, 'input') as { properties?: Record<string, Json>; required?: string[] };
    for (const [name, property] of Object.entries(object.properties ?? {})) {
      out.push({
        name,
        in: where,
        required: where === 'path' || (object.required ?? []).includes(name),
        schema: property,
      });
    }
  }
  return out;
}

/** A body is JSON; the routes that take a plan or a request take it as YAML too (yaml-body.ts). */
function bodyContent(spec: RouteSpec, schema: Json): Json {
  const content: Json = { 'application/json': { schema } };
  if (spec.method === 'POST' && YAML_BODY_ROUTES.has(spec.url))
    for (const type of YAML_MEDIA_TYPES) content[type] = { schema };
  return content;
}

export function openApiDocument(specs: readonly RouteSpec[], version: string): Json {
  const paths: Record<string, Json> = {};
  for (const spec of specs) {
    const path = (paths[openApiPath(spec.url)] ??= {});
    const responses: Json = {};
    for (const [status, response] of Object.entries(spec.responses)) {
      responses[status] = {
        description: response.description,
        ...(response.schema || response.contentType
          ? {
              content: {
                [response.contentType ?? 'application/json']: response.schema
                  ? { schema: schemaRef(response.schema, 'output') }
                  : {},
              },
            }
          : {}),
      };
    }
    responses['401'] = {
      description: 'Missing or invalid bearer token',
      content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
    };
    const roles = rolesWith(spec.access);
    if (roles.length < ROLES.length)
      responses['403'] ??= {
        description: `The signed-in principal's role is not ${roles.join(' or ')} (\`Forbidden\`)`,
        content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
      };
    path[spec.method.toLowerCase()] = {
      operationId: spec.operationId,
      summary: spec.summary,
      tags: [spec.tag],
      /** The roles that may call it (the route's access, see access.ts). */
      'x-roles': roles,
      parameters: parameters(spec),
      ...(spec.body
        ? {
            requestBody: {
              required: true,
              content: bodyContent(spec, schemaRef(spec.body.schema, 'input')),
            },
          }
        : {}),
      responses,
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'cloudops-execution-engine',
      version,
      description:
        'Run system and AWS commands in the background: plans, live output, cancellation, approvals, history. ' +
        'Objects use the wire format of the engine (snake_case fields, `type` / `event_type` tags); ' +
        '`GET /api/vocabulary` lists the statuses, risk levels and error codes.',
    },
    servers: [{ url: '/' }],
    security: [{ bearerAuth: [] }],
    tags: [
      { name: 'executions', description: 'Submit, inspect, cancel, roll back; logs and history' },
      { name: 'approvals', description: 'Dry runs and human decisions on risky work' },
      { name: 'events', description: 'Live events (SSE and WebSocket), with replay for late clients' },
      { name: 'server', description: 'Health and this document' },
    ],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description:
            "A principal's token (`cloudops-exec auth add NAME --role ROLE`), or the server's own (printed by `cloudops-exec serve`, or CLOUDOPS_EXEC_TOKEN), which is the admin",
        },
      },
      schemas: {
        ExecutionRequest: withoutMeta(jsonSchemaOf('request')),
        ExecutionPlan: withoutMeta(jsonSchemaOf('plan')),
        ExecutionEvent: withoutMeta(jsonSchemaOf('event')),
        Error: jsonSchema(ErrorSchema, 'output'),
      },
    },
  };
}

function withoutMeta(schema: Json): Json {
  const { $schema: _ignored, ...rest } = schema;
  return rest;
}
