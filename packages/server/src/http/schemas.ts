import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { ERRORS, type ErrorCode } from './errors.js';

// Shared schema pieces. Bodies are closed objects: unknown fields are a 400.
// A schema with an `$id` is a named component of the OpenAPI document (http/openapi.ts registers
// them); routes point at it with `ref`, never embed it, so it is described once.

export const Uuid = Type.String({ format: 'uuid' });
/** RFC 3339; rows carry Date objects, which the serializer writes as ISO strings. */
export const Timestamp = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' });

/** A reference to a named component schema; `description` describes the response or property that uses it. */
export function ref<T extends TSchema>(schema: T, description?: string) {
  if (!schema.$id) throw new Error('ref() needs a schema with an $id');
  return Type.Unsafe<Static<T>>({ $ref: `${schema.$id}#`, ...(description ? { description } : {}) });
}

export const ErrorCodeSchema = Type.Unsafe<ErrorCode>({
  $id: 'ErrorCode',
  type: 'string',
  enum: Object.keys(ERRORS),
  description: 'The stable code of an error in the catalogue; each response lists the codes it can carry',
});

export const FieldError = Type.Object(
  {
    path: Type.String({ description: 'JSON pointer into the request part: /body/…, /query/…, /path/…' }),
    message: Type.String(),
  },
  { $id: 'FieldError', title: 'FieldError', description: 'One entry per invalid field' },
);

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: ref(ErrorCodeSchema),
    detail: Type.String(),
    errors: Type.Optional(Type.Array(ref(FieldError))),
    request_id: Type.String(),
  },
  { $id: 'Problem', title: 'Problem', description: 'RFC 9457 problem details' },
);

export const closed = <T extends Parameters<typeof Type.Object>[0]>(props: T, opts: Parameters<typeof Type.Object>[1] = {}) =>
  Type.Object(props, { additionalProperties: false, ...opts });

/** A named page of `item`s: `{ data, next_cursor }`. */
export const Page = <T extends TSchema>(name: string, item: T) =>
  Type.Object(
    {
      data: Type.Array(ref(item)),
      next_cursor: Type.Union([Type.String(), Type.Null()], { description: 'Pass as `cursor` for the next page; null on the last' }),
    },
    { $id: name, title: name },
  );

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
};

const RetryAfter = { type: 'integer', minimum: 1, description: 'Seconds to wait before retrying' };

const STATUS_DESCRIPTIONS: Record<number, string> = {
  400: 'The request is invalid',
  401: 'No valid access token, or wrong credentials',
  403: 'The caller may not do this',
  404: 'Not found, or not visible to the caller',
  405: 'Method not allowed',
  409: 'Conflicts with the current state',
  413: 'The body is larger than 64 KiB',
  415: 'The body is not JSON',
  429: 'Too many attempts; retry after Retry-After seconds',
  503: 'A dependency is unavailable; retry after Retry-After seconds',
};

/** Statuses that tell the client when to come back. */
const RETRY_STATUSES = new Set([429, 503]);

/** The codes every route that takes a JSON body can answer besides its own. */
export const BODY_ERRORS = ['VALIDATION_FAILED', 'MALFORMED_JSON', 'PAYLOAD_TOO_LARGE', 'UNSUPPORTED_MEDIA_TYPE'] as const;
/** The codes of a route that needs a bearer access token. */
export const AUTH_ERRORS = ['UNAUTHENTICATED', 'FORBIDDEN'] as const;
/** A route that reads or writes the database. */
export const DB_ERRORS = ['SERVICE_UNAVAILABLE'] as const;

type Codes = ErrorCode | readonly ErrorCode[];

/**
 * The problem+json responses a route may answer, one per status, each listing the catalogue
 * codes it can carry. Typed `never`: no handler returns them, the error handler sends them.
 */
export function problems(...codes: Codes[]): Record<number, TSchema> {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of new Set(codes.flat())) {
    const status = ERRORS[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const out: Record<number, TSchema> = {};
  for (const [status, list] of [...byStatus].sort(([a], [b]) => a - b)) {
    out[status] = Type.Unsafe<never>({
      description: `${STATUS_DESCRIPTIONS[status] ?? 'Problem'}: ${list.join(', ')}`,
      ...(RETRY_STATUSES.has(status) ? { headers: { 'Retry-After': RetryAfter } } : {}),
      content: {
        'application/problem+json': {
          schema: {
            allOf: [{ $ref: 'Problem#' }, { type: 'object', required: ['code'], properties: { code: { type: 'string', enum: list } } }],
          },
        },
      },
    });
  }
  return out;
}

/** The response of a route that answers 204 with no body. */
export const NoContent = (description: string) => Type.Null({ description });

export const bearer = [{ bearer: [] as string[] }];
