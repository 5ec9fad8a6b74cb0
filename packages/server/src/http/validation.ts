import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldError } from './errors.js';

const make = (coerce: boolean) =>
  addFormats.default(
    new Ajv.default({
      // Bodies are taken as sent: no coercion ("5" is not 5) and unknown fields are errors, not silently dropped.
      coerceTypes: coerce ? 'array' : false,
      removeAdditional: false,
      useDefaults: true,
      allErrors: true,
      strict: false,
    }),
  );

const bodies = make(false);
const urls = make(true);

/** Strict for bodies; query strings and path parameters are text, so they are coerced to the declared types. */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
  (httpPart === 'body' ? bodies : urls).compile(schema as object) as ReturnType<FastifySchemaCompiler<unknown>>;

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/** Ajv errors as problem+json `errors`: a JSON pointer into the request part and a message a person can act on. */
export function fieldErrors(errors: ErrorObject[], part: string | undefined): FieldError[] {
  const prefix = `/${PART_NAMES[part ?? 'body'] ?? part}`;
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of errors) {
    let path = prefix + e.instancePath;
    let message = e.message ?? 'is invalid';
    const p = e.params as Record<string, unknown>;
    if (e.keyword === 'required') {
      path += `/${String(p.missingProperty)}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      path += `/${String(p.additionalProperty)}`;
      message = 'is not an allowed field';
    } else if (e.keyword === 'enum') message = `must be one of: ${(p.allowedValues as unknown[]).map(String).join(', ')}`;
    else if (e.keyword === 'anyOf' || e.keyword === 'oneOf') continue;
    const key = `${path} ${message}`;
    if (!seen.has(key)) {
      seen.add(key);
      out.push({ path, message });
    }
  }
  if (out.length === 0 && errors[0]) out.push({ path: prefix + errors[0].instancePath, message: errors[0].message ?? 'is invalid' });
  return out;
}
