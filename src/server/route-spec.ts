/**
 * Routes are declared once, as data: the same zod schemas validate a request's params,
 * query and body (errors name the field) and describe the route in the OpenAPI document.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { parseWith } from '../wire/parse.js';
import type { Access } from './access.js';

export interface ResponseSpec {
  description: string;
  /** A zod schema (documented as JSON Schema) or a `#/components/schemas` name. */
  schema?: z.ZodType | string;
  /** Default `application/json`. */
  contentType?: string;
}

export interface RouteInput<P, Q, B> {
  params: P;
  query: Q;
  body: B;
  request: FastifyRequest;
  reply: FastifyReply;
}

// biome-ignore lint/suspicious/noExplicitAny: a route table holds specs of every shape; each handler is typed by its own schemas
export interface RouteSpec<P = any, Q = any, B = any> {
  method: 'GET' | 'POST' | 'DELETE';
  /** Fastify syntax: `/api/executions/:id`. */
  url: string;
  operationId: string;
  summary: string;
  tag: string;
  /** What the signed-in principal's role must allow (access.ts); checked before the route sees the request. */
  access: Access;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  /** A zod schema, or a component name with the function that parses it. */
  body?: { schema: string | z.ZodType; parse: (input: unknown) => B };
  responses: Record<number, ResponseSpec>;
  /** Routes fastify registers itself (the WebSocket) are documented but not registered here. */
  external?: boolean;
  handler?: (input: RouteInput<P, Q, B>) => Promise<unknown>;
}

/** Declare a route with its types inferred from its schemas. */
export function route<P = undefined, Q = undefined, B = undefined>(spec: RouteSpec<P, Q, B>): RouteSpec<P, Q, B> {
  return spec;
}

/** A body validated by a zod schema, documented inline. */
export function bodyOf<S extends z.ZodType>(schema: S): { schema: S; parse: (input: unknown) => z.output<S> } {
  return { schema, parse: (input) => parseWith(schema, input) };
}

export function registerRoutes(app: FastifyInstance, specs: readonly RouteSpec[]): void {
  for (const spec of specs) {
    if (spec.external || !spec.handler) continue;
    const handler = spec.handler;
    app.route({
      method: spec.method,
      url: spec.url,
      config: { access: spec.access },
      handler: async (request, reply) => {
        const params = spec.params ? parseWith(spec.params, request.params) : undefined;
        const query = spec.query ? parseWith(spec.query, request.query) : undefined;
        const body = spec.body ? spec.body.parse(request.body ?? {}) : undefined;
        const result = await handler({ params, query, body, request, reply });
        // A handler that answered itself (a stream, a redirect) returns the reply.
        return result === reply ? reply : result;
      },
    });
  }
}

/** Query-string helpers: everything arrives as text. */
export const queryInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
export const queryBool = z.enum(['true', 'false']).transform((v) => v === 'true');
