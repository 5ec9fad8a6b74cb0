import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INDUSTRIES, RESERVED_SLUGS, SIZES } from '../src/modules/organizations/profile.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { bearer, type SignedUp, signupUser } from './helpers/users.js';

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this rejects
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** Every stored organization must satisfy the profile's invariants, whatever was sent. */
function assertValidStored(o: Record<string, unknown>) {
  const name = o.name as string;
  expect(name.length).toBeGreaterThanOrEqual(1);
  expect(name.length).toBeLessThanOrEqual(120);
  expect(name).toBe(name.trim());
  expect(CONTROL.test(name)).toBe(false);
  const slug = o.slug as string;
  expect(slug).toMatch(SLUG);
  expect(slug.length).toBeGreaterThanOrEqual(3);
  expect(slug.length).toBeLessThanOrEqual(48);
  expect(RESERVED_SLUGS.has(slug)).toBe(false);
  expect(INDUSTRIES).toContain(o.industry);
  if (o.size !== null) expect(SIZES).toContain(o.size);
  const domains = o.domains as string[];
  expect(domains.length).toBeLessThanOrEqual(20);
  for (const d of domains) expect(d).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/);
  const metadata = o.metadata as Record<string, unknown>;
  expect(Object.keys(metadata).length).toBeLessThanOrEqual(50);
  expect(Buffer.byteLength(JSON.stringify(metadata))).toBeLessThanOrEqual(4096);
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
    fc.constantFrom(...RESERVED_SLUGS, 'ＡＢＣ-def', 'abc--def'),
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
          const created = await t.app.inject({ method: 'POST', url: '/v1/organizations', headers: bearer(owner.access), payload: body });
          expect([201, 400, 409]).toContain(created.statusCode);
          if (created.statusCode === 201) {
            assertValidStored(created.json());
            stored++;
          } else expect(created.headers['content-type']).toMatch(/problem\+json/);
          const patched = await t.app.inject({
            method: 'PATCH',
            url: `/v1/organizations/${orgId}`,
            headers: bearer(owner.access),
            payload: body,
          });
          expect([200, 400, 409]).toContain(patched.statusCode);
          if (patched.statusCode === 200) {
            assertValidStored(patched.json());
            stored++;
          }
        },
      ),
      { numRuns: 300, seed: 20261123 },
    );
    // The generators reach the database, not only the validator.
    expect(stored).toBeGreaterThan(10);
    const rows = await t.db.kysely.selectFrom('organizations').selectAll().execute();
    for (const r of rows) assertValidStored(r as unknown as Record<string, unknown>);
  });
});
