/**
 * Every failure leaves the server as one JSON shape, `{ error: { code, message, ... } }`,
 * with validation problems naming the field, and a status a client can branch on.
 */
import { ExecutionError, ValidationError, type ExecutionErrorCode } from '../errors.js';

export interface ErrorBody {
  error: {
    code: string;
    message: string;
    /** Validation only: the seed's variant, the first bad field and why, and every problem found. */
    kind?: string;
    field?: string;
    reason?: string;
    issues?: ValidationError['issues'];
  };
}

const STATUS_OF: Partial<Record<ExecutionErrorCode, number>> = {
  Validation: 400,
  NotFound: 404,
  NotCompleted: 409,
  NotRunning: 409,
  DuplicateId: 409,
  ApprovalRequired: 409,
  ApprovalRejected: 409,
  ShuttingDown: 503,
  ExecutorNotAvailable: 422,
};

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
      status: 400,
      body: { error: { code: 'Validation', message: err.message, kind: err.kind, field: err.field, reason: err.reason, issues: err.issues } },
    };
  }
  if (err instanceof ExecutionError) return { status: STATUS_OF[err.code] ?? 500, body: { error: { code: err.code, message: err.message } } };
  if (err instanceof HttpError) return { status: err.statusCode, body: { error: { code: err.code, message: err.message } } };
  const fastifyCode = (err as { code?: string } | null)?.code;
  const known = fastifyCode ? FASTIFY_CODES[fastifyCode] : undefined;
  if (known) {
    const message = (err as Error).message;
    const body: ErrorBody = { error: { code: known.code, message } };
    if (known.field !== undefined) Object.assign(body.error, { kind: 'InvalidField', field: known.field, reason: message });
    return { status: known.status, body };
  }
  const status = (err as { statusCode?: number } | null)?.statusCode;
  if (status && status >= 400 && status < 500) return { status, body: { error: { code: 'BadRequest', message: (err as Error).message } } };
  return { status: 500, body: { error: { code: 'Internal', message: 'Internal server error' } } };
}
