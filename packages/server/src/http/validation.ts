import ValidatorSelector from '@fastify/ajv-compiler';
import Ajv, { type ErrorObject } from 'ajv';
import addFormats from 'ajv-formats';
import type { FastifySchemaCompiler } from 'fastify';
import { compiledOnce, compilerKind } from './compiled-schemas.js';
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
// Fastify's own compiler keeps one Ajv per set of shared schemas and options.
const fastifyOwn = ValidatorSelector();

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

/** What Fastify hands a validator compiler for one part of one route. */
type RouteSchema = { httpPart?: string; schema: unknown };

/** Fastify's compilersFactory.buildValidator: its own Ajv validators, for a route scope that builds its compiler from it. */
type BuildValidator = ReturnType<typeof ValidatorSelector>;

/**
 * Strict for bodies; query strings and path parameters are text, so they are coerced to the
 * declared types. Like the response serializers (lazy-serializers.ts), each route's validator
 * compiles on its first use instead of while the routes register (Ajv's code generation for
 * every route and part was a tenth of an embedded start); compileRest compiles the ones not
 * used yet, once the server listens and is idle.
 *
 * A scope that adds schemas of its own (the OAuth form routes) has Fastify build its validators
 * from compilersFactory.buildValidator, Fastify's own Ajv, not from validatorCompiler:
 * buildValidator is that same compiler, made lazy the same way and with the same check for
 * unstorable text (a NUL in a form field reached PostgreSQL as a 500), without an Ajv instance
 * made for them at every start.
 */
export function lazyValidators(): {
  validatorCompiler: FastifySchemaCompiler<unknown>;
  buildValidator: BuildValidator;
  compileRest: () => Promise<void>;
} {
  const pending = new Set<() => Validate>();
  /**
   * A validator that compiles with `compile` on its first call; `check` runs the compiled one
   * and gives null for valid data, else the errors, which go where Fastify reads them.
   */
  const onFirstUse = (compile: () => Validate, check: (validate: Validate, data: unknown) => ErrorObject[] | null): Validate => {
    let compiled: Validate | undefined;
    const compileOnce = () => {
      pending.delete(compileOnce);
      compiled ??= compile();
      return compiled;
    };
    pending.add(compileOnce);
    const validate: Validate = (data) => {
      validate.errors = check(compiled ?? compileOnce(), data);
      return validate.errors === null;
    };
    return validate;
  };
  /** The schema's errors, else text PostgreSQL cannot store (one error), else null. */
  const errorsOf = (validate: Validate, data: unknown): ErrorObject[] | null => {
    if (!validate(data)) return validate.errors ?? [];
    const bad = findUnstorableText(data);
    return bad === null
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
  };

  const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) =>
    onFirstUse(() => {
      const ajv = httpPart === 'body' ? bodies : urls;
      return compiledOnce(`validator ${ajv === bodies ? 'body' : 'url'}`, schema, () => ajv.compile(schema as object) as Validate);
    }, errorsOf) as ReturnType<FastifySchemaCompiler<unknown>>;

  const buildValidator: BuildValidator = (externalSchemas, options) => {
    const kind = compilerKind('fastify validator', externalSchemas, options);
    let real: ReturnType<BuildValidator> | undefined;
    return ((route) =>
      onFirstUse(
        () =>
          compiledOnce(kind, [(route as RouteSchema).httpPart, (route as RouteSchema).schema], () => {
            real ??= fastifyOwn(externalSchemas, options);
            return real(route) as unknown as Validate;
          }),
        errorsOf,
      )) as ReturnType<BuildValidator>;
  };

  const compileRest = async () => {
    for (const compile of [...pending]) {
      compile();
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { validatorCompiler, buildValidator, compileRest };
}

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/**
 * Ajv errors as problem+json `errors`: one entry per field, a JSON pointer into the request part
 * and a message a person can act on. Ajv reports a union (`anyOf`) as one error per branch plus
 * one for the union, and a wrong enum value as both a type and an enum error; each becomes one entry.
 */
export function fieldErrors(errors: ErrorObject[], part: string | undefined): FieldError[] {
  const prefix = `/${PART_NAMES[part ?? 'body'] ?? part}`;
  const byPath = new Map<string, ErrorObject[]>();
  const unions = new Map<string, string>();
  // Outer unions first, so a union nested in a branch is part of its outer union's entry.
  const unionErrors = errors.filter(isUnion).sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  const consumed = new Set<ErrorObject>();
  for (const u of unionErrors) {
    if (consumed.has(u)) continue;
    // The same union applies to several values (each metadata value): a branch error is this value's or inside it.
    const within = (e: ErrorObject) => e.instancePath === u.instancePath || e.instancePath.startsWith(`${u.instancePath}/`);
    const branches = errors.filter((e) => e !== u && e.schemaPath.startsWith(`${u.schemaPath}/`) && within(e));
    for (const e of [u, ...branches]) consumed.add(e);
    const path = prefix + u.instancePath;
    if (!unions.has(path)) unions.set(path, unionMessage(u, branches));
  }
  for (const e of errors) {
    if (consumed.has(e)) continue;
    const path = prefix + e.instancePath + fieldOf(e);
    byPath.set(path, [...(byPath.get(path) ?? []), e]);
  }
  const out: FieldError[] = [];
  for (const [path, message] of unions) out.push({ path, message });
  for (const [path, list] of byPath) {
    if (unions.has(path)) continue;
    // "must be one of: …" already says the type.
    const shown = list.some((e) => e.keyword === 'enum') ? list.filter((e) => e.keyword !== 'type') : list;
    out.push({ path, message: [...new Set(shown.map(messageOf))].join('; ') });
  }
  if (out.length === 0 && errors[0]) out.push({ path: prefix + errors[0].instancePath, message: errors[0].message ?? 'is invalid' });
  return out;
}

const isUnion = (e: ErrorObject) => e.keyword === 'anyOf' || e.keyword === 'oneOf';

/** The property a `required` or `additionalProperties` error is about: the field, not its object. */
function fieldOf(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'required') return `/${String(p.missingProperty)}`;
  if (e.keyword === 'additionalProperties') return `/${String(p.additionalProperty)}`;
  return '';
}

function messageOf(e: ErrorObject): string {
  const p = e.params as Record<string, unknown>;
  if (e.keyword === 'required') return 'is required';
  if (e.keyword === 'additionalProperties') return 'is not an allowed field';
  if (e.keyword === 'enum') return `must be one of: ${(p.allowedValues as unknown[]).map(String).join(', ')}`;
  return e.message ?? 'is invalid';
}

/**
 * One message for a value that matched no branch of a union: the branch whose type it has says
 * what is wrong with it (too long, not one of the values); otherwise the message lists what it may be.
 */
function unionMessage(union: ErrorObject, branchErrors: ErrorObject[]): string {
  const branches = new Map<string, ErrorObject[]>();
  for (const e of branchErrors) {
    const branch = e.schemaPath.slice(union.schemaPath.length + 1).split('/')[0]!;
    branches.set(branch, [...(branches.get(branch) ?? []), e]);
  }
  const allowed: string[] = [];
  for (const list of branches.values()) {
    const enumError = list.find((e) => e.keyword === 'enum');
    const typeError = list.find((e) => e.keyword === 'type' && e.instancePath === union.instancePath);
    if (!enumError && !typeError) return [...new Set(list.map(messageOf))].join('; ');
    if (enumError) allowed.push(...(enumError.params as { allowedValues: unknown[] }).allowedValues.map(String));
    else allowed.push(String((typeError!.params as { type: unknown }).type));
  }
  if (allowed.length === 0) return union.message ?? 'is invalid';
  return `must be one of: ${allowed.join(', ')}`;
}
