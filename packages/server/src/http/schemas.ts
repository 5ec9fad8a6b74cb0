import { type TSchema, Type } from '@sinclair/typebox';

// Shared schema pieces. Bodies are closed objects: unknown fields are a 400.

export const Uuid = Type.String({ format: 'uuid' });
/** RFC 3339; rows carry Date objects, which the serializer writes as ISO strings. */
export const Timestamp = Type.Unsafe<Date | string>({ type: 'string', format: 'date-time' });

export const Problem = Type.Object(
  {
    type: Type.String(),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.String(),
    detail: Type.String(),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String(), message: Type.String() }))),
    request_id: Type.String(),
  },
  { title: 'Problem', description: 'RFC 9457 problem details' },
);

export const closed = <T extends Parameters<typeof Type.Object>[0]>(props: T, opts: Parameters<typeof Type.Object>[1] = {}) =>
  Type.Object(props, { additionalProperties: false, ...opts });

export const Page = <T extends TSchema>(item: T) =>
  Type.Object({ data: Type.Array(item), next_cursor: Type.Union([Type.String(), Type.Null()]) });

export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  cursor: Type.Optional(Type.String({ maxLength: 512 })),
};

/** Response schemas for the errors a route may answer, documented in OpenAPI. */
export const errorResponses = (...statuses: number[]): Record<number, TSchema> =>
  Object.fromEntries(statuses.map((s) => [s, { ...Problem, description: 'Problem details' }]));

export const bearer = [{ bearer: [] as string[] }];
