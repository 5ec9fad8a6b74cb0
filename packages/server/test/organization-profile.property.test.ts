import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { bearer, type SignedUp, signupUser } from './helpers/users.js';

// The oracle is SPEC §4 written out here, independently of the implementation (nothing
// below comes from src): what a request must be refused for, and what a stored
// organization must then hold.

const INDUSTRIES = [
  'agriculture',
  'construction',
  'education',
  'energy',
  'finance',
  'government',
  'healthcare',
  'hospitality',
  'insurance',
  'legal',
  'manufacturing',
  'media',
  'nonprofit',
  'professional_services',
  'real_estate',
  'retail',
  'technology',
  'telecommunications',
  'transportation',
  'other',
];
const SIZES = ['1-10', '11-50', '51-200', '201-1000', '1001-5000', '5001+'];
/** The reserved slugs the specification names; the service may reserve more. */
const SPEC_RESERVED = ['admin', 'api', 'www', 'app'];
const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this rejects
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
const HOSTNAME = /^(?=.{1,253}$)(?!-)[a-z0-9-]{1,63}(?<!-)(?:\.(?!-)[a-z0-9-]{1,63}(?<!-))+$/;
const METADATA_MAX_KEYS = 50;
const METADATA_MAX_BYTES = 4096;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const codePoints = (s: string) => Array.from(s).length;

/**
 * Why SPEC §4 refuses `body` (empty: the specification allows it). `creating` makes
 * name and industry required. The service may refuse more (a taken slug, a key it
 * finds too long), never less.
 */
function specViolations(body: Record<string, unknown>, creating: boolean): string[] {
  const out: string[] = [];
  const { name, slug, industry, size, domains, metadata } = body;
  if (name !== undefined || creating) {
    if (typeof name !== 'string') out.push('name is not a string');
    else {
      const trimmed = name.trim();
      if (trimmed.length === 0 || codePoints(trimmed) > 120) out.push('name is not 1..120 characters');
      if (CONTROL.test(trimmed)) out.push('name has control characters');
    }
  }
  if (slug !== undefined) {
    if (typeof slug !== 'string') out.push('slug is not a string');
    else {
      const s = slug.normalize('NFKC').toLowerCase();
      if (s.length < 3 || s.length > 48 || !SLUG.test(s)) out.push('slug breaks the slug rules');
      if (SPEC_RESERVED.includes(s)) out.push('slug is reserved');
    }
  }
  if ((industry !== undefined || creating) && !(typeof industry === 'string' && INDUSTRIES.includes(industry))) out.push('industry');
  if (size !== undefined && size !== null && !(typeof size === 'string' && SIZES.includes(size))) out.push('size');
  if (domains !== undefined) {
    if (!Array.isArray(domains)) out.push('domains is not a list');
    else {
      if (new Set(domains.map((d) => (typeof d === 'string' ? d.trim().toLowerCase() : d))).size > 20) out.push('more than 20 domains');
      for (const d of domains) {
        if (typeof d !== 'string' || d.trim() === '' || /[\s/:@?#]/.test(d.trim())) out.push(`domain ${JSON.stringify(d)}`);
      }
    }
  }
  if (metadata !== undefined) {
    if (!isPlainObject(metadata)) out.push('metadata is not an object');
    else {
      const values = Object.values(metadata);
      if (values.some((v) => !(v === null || ['string', 'number', 'boolean'].includes(typeof v)))) out.push('metadata is not flat');
      if (Object.keys(metadata).length > METADATA_MAX_KEYS) out.push('metadata has too many keys');
      if (Buffer.byteLength(JSON.stringify(metadata), 'utf8') > METADATA_MAX_BYTES) out.push('metadata is too large');
    }
  }
  return out;
}

/** What the stored organization must hold for each field the accepted request sent. */
function expectStoredAsSent(o: Record<string, unknown>, body: Record<string, unknown>) {
  if (typeof body.name === 'string') expect(o.name).toBe(body.name.trim());
  if (typeof body.slug === 'string') expect(o.slug).toBe(body.slug.normalize('NFKC').toLowerCase());
  if (body.industry !== undefined) expect(o.industry).toBe(body.industry);
  if (body.size !== undefined) expect(o.size).toBe(body.size);
  if (Array.isArray(body.domains)) {
    const ascii = body.domains.every((d) => typeof d === 'string' && HOSTNAME.test(d.toLowerCase()));
    // Plain ASCII hostnames are stored lower-cased, each once, in the order sent.
    if (ascii) expect(o.domains).toEqual([...new Set(body.domains.map((d) => (d as string).toLowerCase()))]);
  }
  if (body.metadata !== undefined) expect(o.metadata).toEqual(JSON.parse(JSON.stringify(body.metadata)));
}

/** Every stored organization must satisfy the profile's invariants, whatever was sent. */
function assertValidStored(o: Record<string, unknown>) {
  const name = o.name as string;
  expect(name.length).toBeGreaterThanOrEqual(1);
  expect(codePoints(name)).toBeLessThanOrEqual(120);
  expect(name).toBe(name.trim());
  expect(CONTROL.test(name)).toBe(false);
  const slug = o.slug as string;
  expect(slug).toMatch(SLUG);
  expect(slug.length).toBeGreaterThanOrEqual(3);
  expect(slug.length).toBeLessThanOrEqual(48);
  expect(SPEC_RESERVED).not.toContain(slug);
  expect(INDUSTRIES).toContain(o.industry);
  if (o.size !== null) expect(SIZES).toContain(o.size);
  const domains = o.domains as string[];
  expect(domains.length).toBeLessThanOrEqual(20);
  expect(new Set(domains).size).toBe(domains.length);
  for (const d of domains) expect(d).toMatch(HOSTNAME);
  const metadata = o.metadata as Record<string, unknown>;
  expect(isPlainObject(metadata)).toBe(true);
  expect(Object.keys(metadata).length).toBeLessThanOrEqual(METADATA_MAX_KEYS);
  expect(Buffer.byteLength(JSON.stringify(metadata))).toBeLessThanOrEqual(METADATA_MAX_BYTES);
  for (const v of Object.values(metadata)) expect(v === null || ['string', 'number', 'boolean'].includes(typeof v)).toBe(true);
}

const anyJson = fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null));
// Mostly plausible values (so requests reach the database), with hostile ones mixed in.
const mostly = <T, U>(plausible: fc.Arbitrary<T>, hostile: fc.Arbitrary<U>) =>
  fc.oneof({ arbitrary: plausible, weight: 4 }, { arbitrary: hostile, weight: 1 });
const nameArb = mostly(
  fc.oneof(fc.string({ minLength: 1, maxLength: 125 }), fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 })),
  anyJson,
);
const slugArb = mostly(
  fc.oneof(
    fc.stringMatching(/^[a-z0-9]{3,20}(-[a-z0-9]{1,10})?$/),
    fc.stringMatching(/^[a-zA-Z0-9-]{1,50}$/),
    fc.constantFrom(...SPEC_RESERVED, 'ADMIN', 'ＡＰＩ', 'ＡＢＣ-def', 'abc--def'),
  ),
  fc.oneof(fc.string({ maxLength: 60 }), anyJson),
);
const industryArb = mostly(
  fc.constantFrom(...INDUSTRIES),
  fc.oneof(
    fc.constantFrom(...INDUSTRIES).map((i) => ` ${i.toUpperCase()}`),
    fc.string(),
    anyJson,
  ),
);
const domainsArb = mostly(
  fc.array(
    fc.oneof(
      { arbitrary: fc.domain(), weight: 5 },
      { arbitrary: fc.string({ maxLength: 30 }), weight: 1 },
      { arbitrary: fc.webUrl(), weight: 1 },
    ),
    { maxLength: 22 },
  ),
  anyJson,
);
const metadataArb = mostly(
  fc.oneof(
    { arbitrary: fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), anyJson, { maxKeys: 8 }), weight: 4 },
    {
      arbitrary: fc.dictionary(fc.string({ minLength: 1, maxLength: 110 }), mostly(anyJson, fc.array(fc.integer(), { maxLength: 2 })), {
        maxKeys: 55,
      }),
      weight: 1,
    },
    {
      // Long values around the 4 KiB limit.
      arbitrary: fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.string({ minLength: 600, maxLength: 1000 }), {
        minKeys: 3,
        maxKeys: 7,
      }),
      weight: 1,
    },
  ),
  fc.oneof(fc.object({ maxDepth: 2 }), anyJson),
);

describe.each(ENGINES)('organization profile properties (%s)', (engine) => {
  let t: TestApp;
  let owner: SignedUp;
  let orgId: string;
  beforeAll(async () => {
    t = await startApp(engine);
    owner = await signupUser(t.app);
    orgId = (
      await t.app.inject({
        method: 'POST',
        url: '/v1/organizations',
        headers: bearer(owner.access),
        payload: { name: 'Prop', industry: 'other' },
      })
    ).json().id;
  });
  afterAll(() => t.close());

  it('random profiles never produce a 500 and never store an invalid value', async () => {
    let stored = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            name: nameArb,
            slug: slugArb,
            industry: industryArb,
            size: fc.oneof(fc.constantFrom(...SIZES), anyJson),
            domains: domainsArb,
            metadata: metadataArb,
          },
          { requiredKeys: ['name', 'industry'] },
        ),
        async (body) => {
          const sent = body as Record<string, unknown>;
          const created = await t.app.inject({ method: 'POST', url: '/v1/organizations', headers: bearer(owner.access), payload: body });
          expect([201, 400, 409]).toContain(created.statusCode);
          const refusedOnCreate = specViolations(sent, true);
          if (refusedOnCreate.length > 0) expect(created.statusCode, refusedOnCreate.join('; ')).toBe(400);
          if (created.statusCode === 201) {
            assertValidStored(created.json());
            expectStoredAsSent(created.json(), sent);
            stored++;
          } else expect(created.headers['content-type']).toMatch(/problem\+json/);
          const patched = await t.app.inject({
            method: 'PATCH',
            url: `/v1/organizations/${orgId}`,
            headers: bearer(owner.access),
            payload: body,
          });
          expect([200, 400, 409]).toContain(patched.statusCode);
          const refusedOnPatch = specViolations(sent, false);
          if (refusedOnPatch.length > 0) expect(patched.statusCode, refusedOnPatch.join('; ')).toBe(400);
          if (patched.statusCode === 200) {
            assertValidStored(patched.json());
            expectStoredAsSent(patched.json(), sent);
            stored++;
          }
        },
      ),
      // No shrinking: large metadata shrinks slowly, and the assertion message already names the rule.
      { numRuns: 300, seed: 20261123, endOnFailure: true },
    );
    // The generators reach the database, not only the validator.
    expect(stored).toBeGreaterThan(10);
    const rows = await t.db.kysely.selectFrom('organizations').selectAll().execute();
    for (const r of rows) assertValidStored(r as unknown as Record<string, unknown>);
  });
});
