/**
 * Plans and requests may be sent as YAML (`Content-Type: application/yaml` or `text/yaml`)
 * to the routes that take one. The body is read as text under the server's body limit,
 * like JSON; aliases are refused (written out they could pass the limit), as are nesting past
 * the JSON bound, unknown tags and non-text keys (wire/plan-text.ts). Each is the usual 400
 * `Validation` answer, its reason naming the line and column. Other routes answer 415.
 */
import type { FastifyInstance } from 'fastify';
import { parseYamlText } from '../wire/plan-text.js';
import { HttpError } from './http-errors.js';

/** The media types read as YAML (`application/x-yaml` is the older spelling some clients send). */
export const YAML_MEDIA_TYPES = ['application/yaml', 'text/yaml', 'application/x-yaml'] as const;

/** The routes (POST) whose body may be YAML: submitting a command or a plan, and their dry run. */
export const YAML_BODY_ROUTES: ReadonlySet<string> = new Set(['/api/executions', '/api/plans', '/api/dry-run']);

export function registerYamlBody(app: FastifyInstance): void {
  app.addContentTypeParser([...YAML_MEDIA_TYPES], { parseAs: 'string' }, (request, body, done) => {
    if (request.method !== 'POST' || !YAML_BODY_ROUTES.has(request.routeOptions.url ?? '')) {
      done(
        new HttpError(
          415,
          'UnsupportedMediaType',
          `${request.method} ${request.routeOptions.url ?? request.url} takes JSON only; YAML is accepted by POST ${[...YAML_BODY_ROUTES].join(', ')}`,
        ),
        undefined,
      );
      return;
    }
    try {
      done(null, parseYamlText(String(body)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
}
