import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { classifyDatabaseError, unreachableRetryAfter } from '../db/faults.js';
import { InvalidTenantContext } from '../db/tenant-context.js';
import { AppError, OAuthError, problemOf } from './errors.js';
import { fieldErrors } from './validation.js';

const FASTIFY_CODES: Record<string, () => AppError> = {
  FST_ERR_CTP_BODY_TOO_LARGE: () => new AppError('PAYLOAD_TOO_LARGE', 'Request bodies are limited to 64 KiB'),
  FST_ERR_CTP_INVALID_MEDIA_TYPE: () => new AppError('UNSUPPORTED_MEDIA_TYPE', 'Send the body as application/json'),
  FST_ERR_CTP_INVALID_JSON_BODY: () => new AppError('MALFORMED_JSON'),
  FST_ERR_CTP_EMPTY_JSON_BODY: () => new AppError('MALFORMED_JSON', 'The body is empty but Content-Type is application/json'),
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: () => new AppError('VALIDATION_FAILED', 'Content-Length does not match the body'),
  FST_ERR_CTP_INVALID_TYPE: () => new AppError('UNSUPPORTED_MEDIA_TYPE', 'Invalid Content-Type header'),
};

export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  // Sent as itself on /oauth/*; anywhere else it is a refused request, never an internal error.
  if (err instanceof OAuthError) return new AppError('VALIDATION_FAILED', err.description);
  if (err instanceof InvalidTenantContext) return new AppError('NOT_FOUND', 'Organization not found');
  const e = err as FastifyError & { validation?: unknown; validationContext?: string };
  if (e && Array.isArray(e.validation)) {
    return new AppError('VALIDATION_FAILED', 'The request does not match the schema', fieldErrors(e.validation, e.validationContext));
  }
  if (e && typeof e.code === 'string') {
    const known = FASTIFY_CODES[e.code];
    if (known) return known();
  }
  // Database errors are classified where the query runs; this catches one raised elsewhere.
  const db = classifyDatabaseError(err, unreachableRetryAfter(0));
  if (db instanceof AppError) return db;
  if (e instanceof SyntaxError && (e as FastifyError).statusCode === 400) return new AppError('MALFORMED_JSON');
  const status = (e as FastifyError)?.statusCode;
  if (status === 404) return new AppError('NOT_FOUND');
  if (status === 405) return new AppError('METHOD_NOT_ALLOWED');
  if (status === 413) return new AppError('PAYLOAD_TOO_LARGE');
  if (status === 415) return new AppError('UNSUPPORTED_MEDIA_TYPE');
  if (status !== undefined && status >= 400 && status < 500) return new AppError('VALIDATION_FAILED', 'The request is malformed');
  return new AppError('INTERNAL', 'An unexpected error occurred; it has been logged');
}

function sendOAuth(err: unknown, appErr: AppError, reply: FastifyReply) {
  const o =
    err instanceof OAuthError
      ? err
      : new OAuthError(
          'invalid_request',
          appErr.errors?.map((f) => `${f.path} ${f.message}`).join('; ') || appErr.detail || appErr.message,
          appErr.status,
          appErr.headers,
        );
  const body: Record<string, string> = { error: o.error, error_description: o.description };
  if (appErr.status >= 500 && !(err instanceof OAuthError)) {
    body.error = appErr.status === 503 ? 'temporarily_unavailable' : 'server_error';
  }
  return reply
    .status(o.status)
    .headers({ 'cache-control': 'no-store', ...(o.headers ?? {}) })
    .type('application/json')
    .send(body);
}

export function registerErrorHandling(app: FastifyInstance) {
  // Fastify parses text/plain bodies by default, which turned a non-JSON body into a 400
  // "must be object" instead of the 415 of §1. Without the parser it is FST_ERR_CTP_INVALID_MEDIA_TYPE.
  // (Registered here because this runs on the root instance before any route or scope.)
  app.removeContentTypeParser('text/plain');
  app.setErrorHandler((err, request: FastifyRequest, reply: FastifyReply) => {
    const appErr = toAppError(err);
    if (appErr.code === 'INTERNAL') request.log.error({ err }, 'unhandled error');
    else if (appErr.status >= 500) request.log.warn({ err }, appErr.message);
    if (request.routeOptions.config?.oauth) return sendOAuth(err, appErr, reply);
    return reply
      .status(appErr.status)
      .headers(appErr.headers ?? {})
      .type('application/problem+json')
      .send(problemOf(appErr, request.id));
  });

  app.setNotFoundHandler((request, reply) => {
    reply
      .status(404)
      .type('application/problem+json')
      .send(problemOf(new AppError('NOT_FOUND', `No route for ${request.method} ${request.url.split('?')[0]}`), request.id));
  });
}
