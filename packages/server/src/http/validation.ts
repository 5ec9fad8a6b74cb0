import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import type { FieldError } from './errors.js';

const RFC3339 = /^\d{4}-\d\d-\d\dt\d\d:\d\d:\d\d(?:\.\d+)?(?:z|[+-]\d\d:\d\d)$/i;

const make = (coerce: boolean) => {
  const ajv = addFormats.default(
    new Ajv.default({
      // Bodies are taken as sent: no coercion ("5" is not 5) and unknown fields are errors, not silently dropped.
      coerceTypes: coerce ? 'array' : false,
      removeAdditional: false,
      useDefaults: true,
      allErrors: true,
      strict: false,
    }),
  );
  // A date-time is one JavaScript can hold: RFC 3339 also allows a leap second (23:59:60),
  // which no Date represents, so it is a 400 here rather than an invalid date further on.
  ajv.addFormat('date-time', { type: 'string', validate: (s: string) => RFC3339.test(s) && Number.isFinite(Date.parse(s)) });
  return ajv;
};

const bodies = make(false);
const urls = make(true);

// U+0000 and unpaired surrogates are valid JSON and valid URL text, but PostgreSQL text
// and jsonb cannot store them: they are refused in every string of every request part,
// keys included, before any route sees them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: U+0000 is exactly what this finds
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const pointer = (path: string, key: string) => `${path}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;

/** The JSON pointer of the first string (value or key) in `data` that the database cannot store. */
export function findUnstorableText(data: unknown, path = ''): string | null {
  if (typeof data === 'string') return UNSTORABLE.test(data) ? path : null;
  if (Array.isArray(data)) {
    for (let i = 0; i < data.length; i++) {
      const bad = findUnstorableText(data[i], `${path}/${i}`);
      if (bad !== null) return bad;
    }
    return null;
  }
  if (data !== null && typeof data === 'object') {
    for (const [k, v] of Object.entries(data)) {
      const at = pointer(path, UNSTORABLE.test(k) ? '' : k);
      if (UNSTORABLE.test(k)) return at;
      const bad = findUnstorableText(v, at);
      if (bad !== null) return bad;
    }
  }
  return null;
}

type Validate = ((data: unknown) => boolean) & { errors?: ErrorObject[] | null };

/** Strict for bodies; query strings and path parameters are text, so they are coerced to the declared types. */
export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const validate: Validate = (httpPart === 'body' ? bodies : urls).compile(schema as object);
  const checked: Validate = (data) => {
    if (!validate(data)) {
      checked.errors = validate.errors ?? null;
      return false;
    }
    const bad = findUnstorableText(data);
    checked.errors =
      bad === null
        ? null
        : [
            {
              instancePath: bad,
              schemaPath: '',
              keyword: 'unstorable',
              params: {},
              message: 'must not contain U+0000 or unpaired surrogates',
            },
          ];
    return bad === null;
  };
  return checked as ReturnType<FastifySchemaCompiler<unknown>>;
};

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
