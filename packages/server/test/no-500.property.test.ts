import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { createOrg } from './helpers/orgs.js';
import { authed, bearer, type SignedUp, signupUser } from './helpers/users.js';

// Nothing a client sends answers 500: every string field of every route in the OpenAPI
// document (bodies, query strings, path parameters, record keys) is filled with text that
// validates as JSON but that the database cannot store or JavaScript cannot parse.
// The routes come from the document, so a new route is covered without touching this file.

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  format?: string;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  properties?: Record<string, Schema>;
  required?: string[];
  patternProperties?: Record<string, Schema>;
  additionalProperties?: boolean | Schema;
  items?: Schema;
}

interface Operation {
  parameters?: Array<{ in: string; name: string; schema: Schema }>;
  requestBody?: { content: Record<string, { schema: Schema }> };
}

/** Text that is valid JSON but not storable or not representable: NUL, lone surrogates, a leap second. */
const hostile = fc.constantFrom(
  '\u0000',
  'a\u0000b@example.com',
  '\uD800',
  'x\uDC00y',
  'user\uD83D@example.com',
  '2016-12-31T23:59:60Z',
  '9999-12-31T23:59:60+14:00',
  '\u202Eevil',
  '',
  ' ',
  '%',
  '..',
);
const anyUnit = fc.string({ unit: fc.integer({ min: 0, max: 0xffff }).map((c) => String.fromCharCode(c)), maxLength: 12 });
/** Plausible text (an email, a word) with a NUL or a lone surrogate inside. */
const spiked = fc
  .tuple(
    fc.constantFrom('', 'ab', 'a@b.example', 'name'),
    fc.constantFrom('\u0000', '\uD800', '\uDFFF'),
    fc.constantFrom('', 'x@example.com', 'z'),
  )
  .map(([a, b, c]) => a + b + c);
const text = fc.oneof(
  { arbitrary: spiked, weight: 3 },
  { arbitrary: hostile, weight: 2 },
  anyUnit,
  fc.string({ unit: 'binary', maxLength: 12 }),
);

function arbitraryOf(s: Schema, ids: string[], depth = 0): fc.Arbitrary<unknown> {
  if (s.const !== undefined) return fc.oneof(fc.constant(s.const), text);
  if (s.enum) return fc.oneof(fc.constantFrom(...s.enum), text);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((a) => arbitraryOf(a, ids, depth)));
  if (s.allOf) return arbitraryOf(Object.assign({}, ...s.allOf), ids, depth);
  const type = Array.isArray(s.type) ? s.type[0] : s.type;
  switch (type) {
    case 'string':
      if (s.format === 'uuid') return fc.oneof(fc.constantFrom(...ids), fc.uuid(), text);
      if (s.format === 'date-time')
        return fc.oneof(
          fc.date({ noInvalidDate: true }).map((d) => d.toISOString()),
          text,
        );
      return fc.oneof(
        text,
        fc.string({ minLength: 12, maxLength: 20 }).map((v) => `${v}@example.com`),
        fc.string({ maxLength: 30 }),
      );
    case 'integer':
    case 'number':
      return fc.oneof(fc.integer({ min: -2, max: 120 }), text);
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array':
      return depth > 3 ? fc.constant([]) : fc.array(arbitraryOf(s.items ?? {}, ids, depth + 1), { maxLength: 3 });
    case 'object':
    case undefined: {
      if (depth > 3) return fc.constant({});
      const props = s.properties ?? {};
      const fixed = fc.record(Object.fromEntries(Object.entries(props).map(([k, v]) => [k, arbitraryOf(v, ids, depth + 1)])), {
        requiredKeys: (s.required ?? []).filter((k) => k in props),
      });
      const open = [
        ...Object.values(s.patternProperties ?? {}),
        ...(typeof s.additionalProperties === 'object' ? [s.additionalProperties] : []),
      ];
      if (open.length === 0) return fixed;
      const extra = fc.dictionary(text, arbitraryOf(open[0]!, ids, depth + 1), { maxKeys: 3 });
      return fc.tuple(fixed, extra).map(([a, b]) => ({ ...b, ...a }));
    }
    default:
      return text;
  }
}

/** A lone surrogate has no UTF-8 form: sent as the bytes a careless client would write. */
const encode = (v: unknown) => {
  try {
    return encodeURIComponent(String(v));
  } catch {
    return '%ED%A0%80';
  }
};

describe.each(ENGINES)('no input answers 500 (%s)', (engine) => {
  let t: TestApp;
  let owner: SignedUp;
  let ids: string[];
  const operations: Array<{ method: string; path: string; op: Operation }> = [];

  beforeAll(async () => {
    t = await startApp(engine);
    owner = await signupUser(t.app);
    const org = await createOrg(t.app, owner);
    const invited = await authed(t.app, 'POST', `/v1/organizations/${org.id}/invitations`, owner.access, {
      email: 'invited@example.com',
      role: 'member',
    });
    ids = [org.id, owner.id, invited.json().id];
    const doc = t.app.swagger() as { paths: Record<string, Record<string, Operation>> };
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(item)) {
        if (['get', 'post', 'put', 'patch', 'delete'].includes(method)) operations.push({ method: method.toUpperCase(), path, op });
      }
    }
  });
  afterAll(() => t?.close());

  it('the route table is read from the OpenAPI document', () => {
    expect(operations.map((o) => `${o.method} ${o.path}`)).toEqual(
      expect.arrayContaining(['POST /v1/auth/login', 'PATCH /v1/organizations/{org_id}', 'GET /v1/organizations/{org_id}/audit-events']),
    );
  });

  it('every string field of every route, with NUL, lone surrogates and leap seconds: never a 500', async () => {
    for (const { method, path, op } of operations) {
      const params = op.parameters ?? [];
      const pathParams = fc.record(
        Object.fromEntries(params.filter((p) => p.in === 'path').map((p) => [p.name, arbitraryOf(p.schema, ids)])),
      );
      const query = fc.record(Object.fromEntries(params.filter((p) => p.in === 'query').map((p) => [p.name, arbitraryOf(p.schema, ids)])), {
        requiredKeys: [],
      });
      const bodySchema = op.requestBody?.content['application/json']?.schema;
      const body = bodySchema ? arbitraryOf(bodySchema, ids) : fc.constant(undefined);
      await fc.assert(
        fc.asyncProperty(pathParams, query, body, async (pp, qs, payload) => {
          const url =
            path.replace(/\{(\w+)\}/g, (_m, name: string) => encode(pp[name])) +
            (Object.keys(qs).length
              ? `?${Object.entries(qs)
                  .map(([k, v]) => `${k}=${encode(v)}`)
                  .join('&')}`
              : '');
          const res = await t.app.inject({
            method: method as 'GET',
            url,
            headers: { ...bearer(owner.access), ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
            ...(payload === undefined ? {} : { payload: JSON.stringify(payload) }),
          });
          expect(res.statusCode, `${method} ${url} ${JSON.stringify(payload)} → ${res.body}`).toBeLessThan(500);
        }),
        { numRuns: 40 },
      );
    }
    // Some 2,500 requests: seconds of CPU on a quiet machine, many times that beside other work.
    // The limit only catches a hang; no answer here depends on how long it took.
  }, 180_000);
});
