/**
 * Every failure leaves the server as one JSON shape, `{ error: { code, message, ... } }`,
 * with validation problems naming the field, and a status a client can branch on. The
 * engine's errors answer with the status the error catalogue (errors.ts `ERRORS`) gives.
 */
import { ERRORS, ExecutionError, ValidationError } from '../errors.js';

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    /** Validation only: the kind of problem (`InvalidField`, ...), the first bad field and why, every problem found. */
    kind?: string;
    field?: string;
    reason?: string;
    issues?: ValidationError['issues'];
  };
}

/** Fastify's own request errors: body too large, bad JSON, wrong content type. */
const FASTIFY_CODES: Record<string, { status: number; code: string; field?: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'PayloadTooLarge' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'UnsupportedMediaType' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'InvalidContentLength' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'Validation', field: '' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'Validation', field: '' },
};

export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export function httpErrorOf(err: unknown): { status: number; body: ErrorBody } {
  if (err instanceof ValidationError) {
    return {
      status: ERRORS.Validation.status,
      body: {
        error: {
          code: 'Validation',
          message: err.message,
          kind: err.kind,
          field: err.field,
          reason: err.reason,
          issues: err.issues,
        },
      },
    };
  }
  if (err instanceof ExecutionError) {
    // `?? 500`: a code outside the catalogue (built by JavaScript that skipped the types) is the server's fault.
    return { status: ERRORS[err.code]?.status ?? 500, body: { error: { code: err.code, message: err.message } } };
  }
  if (err instanceof HttpError)
    return { status: err.statusCode, body: { error: { code: err.code, message: err.message } } };
  const fastifyCode = (err as { code?: string } | null)?.code;
  const known = fastifyCode ? FASTIFY_CODES[fastifyCode] : undefined;
  if (known) {
    const message = (err as Error).message;
    const body: ErrorBody = { error: { code: known.code, message } };
    if (known.field !== undefined)
      Object.assign(body.error, { kind: 'InvalidField', field: known.field, reason: message });
    return { status: known.status, body };
  }
  const status = (err as { statusCode?: number } | null)?.statusCode;
  if (status && status >= 400 && status < 500)
    return { status, body: { error: { code: 'BadRequest', message: (err as Error).message } } };
  return { status: 500, body: { error: { code: 'Internal', message: 'Internal server error' } } };
}
