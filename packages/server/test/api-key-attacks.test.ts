import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHECKSUM_LENGTH, checksumOf, generateKey } from '../src/modules/api-keys/key-format.js';
import { createKey } from './helpers/api-keys.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { authed, bearer } from './helpers/users.js';

// Attacks on organization API keys, each named after the attack it stops.

describe.each(ENGINES)('API key attacks (%s)', (engine) => {
  let t: TestApp;
  let a: OrgWithRoles;
  let b: OrgWithRoles;
  let keyA: { id: string; key: string };
  const statements: string[] = [];
  beforeAll(async () => {
    t = await startApp(engine, {}, { onQuery: (q) => statements.push(q) });
    a = await orgWithRoles(t.app, t.db, 'Org A');
    b = await orgWithRoles(t.app, t.db, 'Org B');
    keyA = await createKey(t.app, a.id, a.owner.access, { scopes: ['members:read', 'organization:read', 'audit:read', 'events:read'] });
  });
  afterAll(() => t.close());

  it("a key of organization A used on organization B's routes is the 404 of a non-member", async () => {
    for (const path of ['', '/members', '/audit-events', '/events']) {
      const res = await authed(t.app, 'GET', `/v1/organizations/${b.id}${path}`, keyA.key);
      expect(res.statusCode, path).toBe(404);
      expect(res.json().code).toBe('NOT_FOUND');
    }
    expect((await authed(t.app, 'GET', `/v1/organizations/${a.id}/members`, keyA.key)).statusCode).toBe(200);
  });

  it.each([
    ['?api_key=', 'api_key'],
    ['?access_token=', 'access_token'],
    ['?token=', 'token'],
  ])('a key in the query string (%s) is refused with 400, even a valid one, on any route', async (_label, param) => {
    for (const path of [`/v1/organizations/${a.id}/members`, '/v1/me', '/healthz']) {
      const res = await t.app.inject({ method: 'GET', url: `${path}?${param}=${encodeURIComponent(keyA.key)}` });
      expect(res.statusCode, path).toBe(400);
      expect(res.json().errors[0].path).toBe(`/query/${param}`);
      expect(res.body).not.toContain(keyA.key);
    }
    // With the key in the header as well, the URL's copy is still refused.
    const both = await t.app.inject({
      method: 'GET',
      url: `/v1/organizations/${a.id}/members?${param}=${keyA.key}`,
      headers: bearer(keyA.key),
    });
    expect(both.statusCode).toBe(400);
  });

  it('a JWT as ?access_token= is refused too (no RFC 6750 query form)', async () => {
    const res = await t.app.inject({ method: 'GET', url: `/v1/me?access_token=${a.owner.access}` });
    expect(res.statusCode).toBe(400);
  });

  it('a key on /v1/me (a route that needs a person) is refused', async () => {
    for (const method of ['GET', 'PATCH'] as const) {
      const res = await authed(t.app, method, '/v1/me', keyA.key, method === 'PATCH' ? { name: 'Key' } : undefined);
      expect(res.statusCode).toBe(403);
    }
    expect((await authed(t.app, 'GET', '/v1/organizations', keyA.key)).statusCode).toBe(403);
    expect((await authed(t.app, 'POST', '/v1/organizations', keyA.key, { name: 'By key', industry: 'other' })).statusCode).toBe(403);
  });

  it('a malformed key or one whose checksum fails is refused before any database work', async () => {
    const { key } = generateKey();
    const wrongChecksum = `${key.slice(0, -1)}${key.endsWith('0') ? '1' : '0'}`;
    const before = statements.length;
    for (const bad of [wrongChecksum, 'tnty_short', `${key}x`, `tnty_${'a'.repeat(16)}_${'b'.repeat(38)}`]) {
      const res = await t.app.inject({ method: 'GET', url: `/v1/organizations/${a.id}/members`, headers: bearer(bad) });
      expect(res.statusCode, bad).toBe(401);
    }
    expect(statements.slice(before)).toEqual([]);
  });

  it('a well-formed key with a valid checksum that was never issued is refused (401), like a guessed secret for a real key id', async () => {
    const forged = generateKey().key;
    expect((await authed(t.app, 'GET', `/v1/organizations/${a.id}/members`, forged)).statusCode).toBe(401);
    // The real key's id with another secret (checksum recomputed, as an attacker can).
    const body = `${keyA.key.slice(0, 22)}${generateKey().key.slice(22, 54)}`;
    const guessed = `${body}${checksumOf(body)}`;
    expect(guessed.length).toBe(keyA.key.length);
    expect(guessed.slice(-CHECKSUM_LENGTH)).toBe(checksumOf(body));
    const res = await authed(t.app, 'GET', `/v1/organizations/${a.id}/members`, guessed);
    expect(res.statusCode).toBe(401);
  });

  it('a key never carries more than its creator could grant (an admin asking for owners:manage is refused)', async () => {
    const res = await authed(t.app, 'POST', `/v1/organizations/${a.id}/api-keys`, a.admin.access, {
      name: 'Escalate',
      scopes: ['owners:manage', 'organization:delete'],
    });
    expect(res.statusCode).toBe(403);
    const rows = await t.db.kysely.selectFrom('api_keys').select('name').where('organization_id', '=', a.id).execute();
    expect(rows.map((r) => r.name)).not.toContain('Escalate');
  });

  it('a key cannot mint, rotate or revoke keys (no self-perpetuation after a leak)', async () => {
    const base = `/v1/organizations/${a.id}/api-keys`;
    expect((await authed(t.app, 'POST', base, keyA.key, { name: 'Child', scopes: ['members:read'] })).statusCode).toBe(403);
    expect((await authed(t.app, 'POST', `${base}/${keyA.id}/rotate`, keyA.key, { grace_seconds: 0 })).statusCode).toBe(403);
    expect((await authed(t.app, 'DELETE', `${base}/${keyA.id}`, keyA.key)).statusCode).toBe(403);
    expect((await authed(t.app, 'GET', base, keyA.key)).statusCode).toBe(403);
  });
});
