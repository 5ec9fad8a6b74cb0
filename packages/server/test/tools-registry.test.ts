import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { platformAdminToken, registerTool } from './helpers/tools.js';
import { authed, signupUser } from './helpers/users.js';

// The tool registry (SPEC §10): platform admins register tools and their credentials;
// every signed-in user sees the active tools; every registry act is in the platform log.

describe.each(ENGINES)('tool registry (%s)', (engine) => {
  let t: TestApp;
  let admin: string;
  beforeAll(async () => {
    t = await startApp(engine);
    admin = await platformAdminToken(t);
  });
  afterAll(() => t.close());

  const req = (method: string, url: string, token: string, payload?: unknown) => authed(t.app, method, url, token, payload);

  it('registers a tool with a first secret shown once, stored only as a hash', async () => {
    const tool = await registerTool(t, admin);
    expect(tool.clientId).toBe(tool.id);
    expect(tool.secret).toMatch(/^tnts_[A-Za-z0-9_-]{43}$/);
    const got = await req('GET', `/v1/tools/${tool.id}`, admin);
    expect(got.statusCode).toBe(200);
    expect(got.body).not.toContain(tool.secret);
    expect(got.json()).toMatchObject({ slug: tool.slug, status: 'active', audience: tool.audience });
    expect(got.json().scopes[0]).toEqual({
      name: `${tool.slug}:contacts:read`,
      description: 'Read contacts',
      shareable: true,
      requires: 'data:read',
    });
    const creds = await req('GET', `/v1/tools/${tool.id}/credentials`, admin);
    expect(creds.statusCode).toBe(200);
    expect(creds.json().data).toEqual([
      expect.objectContaining({ id: tool.credentialId, type: 'client_secret', hint: `…${tool.secret.slice(-4)}`, last_used_at: null }),
    ]);
    expect(creds.body).not.toContain(tool.secret);
    const stored = await t.db.kysely
      .selectFrom('tool_credentials')
      .select('secret_hash')
      .where('id', '=', tool.credentialId)
      .executeTakeFirstOrThrow();
    expect(stored.secret_hash).toHaveLength(32);
    expect(Buffer.from(stored.secret_hash!).toString('utf8')).not.toContain(tool.secret.slice(5, 15));
  });

  it('refuses a duplicate slug or audience, a bad audience and scopes outside the tool’s namespace', async () => {
    const tool = await registerTool(t, admin);
    const dupSlug = await req('POST', '/v1/tools', admin, { slug: tool.slug, name: 'x', audience: 'https://other-unique.example.com' });
    expect([dupSlug.statusCode, dupSlug.json().code]).toEqual([409, 'SLUG_TAKEN']);
    const dupAud = await req('POST', '/v1/tools', admin, { slug: `${tool.slug}x`, name: 'x', audience: tool.audience });
    expect([dupAud.statusCode, dupAud.json().code]).toEqual([409, 'AUDIENCE_TAKEN']);
    for (const audience of ['not a uri', 'relative/path', 'https://x.example.com/#frag']) {
      const r = await req('POST', '/v1/tools', admin, { slug: 'badaud', name: 'x', audience });
      expect([r.statusCode, r.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    }
    const foreign = await req('POST', '/v1/tools', admin, {
      slug: 'scopey',
      name: 'x',
      audience: 'https://scopey.example.com',
      scopes: [{ name: 'crm:contacts:read' }],
    });
    expect([foreign.statusCode, foreign.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    const none = await t.db.kysely.selectFrom('tools').select('id').where('slug', 'in', ['badaud', 'scopey']).execute();
    expect(none).toEqual([]);
  });

  it('only platform admins register, change, disable or see credentials; users see active tools only', async () => {
    const user = await signupUser(t.app);
    const tool = await registerTool(t, admin);
    const off = await registerTool(t, admin);
    expect((await req('POST', `/v1/tools/${off.id}/disable`, admin)).json().status).toBe('disabled');

    expect(
      (await req('POST', '/v1/tools', user.access, { slug: 'mine', name: 'x', audience: 'https://mine.example.com' })).statusCode,
    ).toBe(403);
    expect((await req('PATCH', `/v1/tools/${tool.id}`, user.access, { name: 'pwned' })).statusCode).toBe(403);
    expect((await req('POST', `/v1/tools/${tool.id}/disable`, user.access)).statusCode).toBe(403);
    expect((await req('GET', `/v1/tools/${tool.id}/credentials`, user.access)).statusCode).toBe(403);
    expect((await req('POST', `/v1/tools/${tool.id}/credentials`, user.access, { type: 'client_secret' })).statusCode).toBe(403);

    expect((await req('GET', `/v1/tools/${tool.id}`, user.access)).statusCode).toBe(200);
    expect((await req('GET', `/v1/tools/${off.id}`, user.access)).statusCode).toBe(404);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await req('GET', `/v1/tools?limit=2${cursor ? `&cursor=${cursor}` : ''}`, user.access);
      expect(res.statusCode).toBe(200);
      seen.push(...res.json().data.map((x: { id: string; status: string }) => x.status));
      cursor = res.json().next_cursor;
    } while (cursor);
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set(['active']));
    const disabled = await req('GET', '/v1/tools?status=disabled&limit=100', admin);
    expect(disabled.json().data.map((x: { id: string }) => x.id)).toContain(off.id);
  });

  it('changes a tool; enable and disable are idempotent', async () => {
    const tool = await registerTool(t, admin);
    const patched = await req('PATCH', `/v1/tools/${tool.id}`, admin, { name: 'Renamed', scopes: [{ name: `${tool.slug}:deals:read` }] });
    expect(patched.statusCode).toBe(200);
    expect(patched.json()).toMatchObject({
      name: 'Renamed',
      scopes: [{ name: `${tool.slug}:deals:read`, shareable: false, requires: 'data:read' }],
    });
    expect((await req('POST', `/v1/tools/${tool.id}/disable`, admin)).json().status).toBe('disabled');
    expect((await req('POST', `/v1/tools/${tool.id}/disable`, admin)).json().status).toBe('disabled');
    expect((await req('POST', `/v1/tools/${tool.id}/enable`, admin)).json().status).toBe('active');
    expect((await req('PATCH', `/v1/tools/00000000-0000-7000-8000-000000000000`, admin, { name: 'x' })).statusCode).toBe(404);
  });

  it('keeps at most two active credentials: a third is 409 CREDENTIAL_LIMIT until one is revoked', async () => {
    const tool = await registerTool(t, admin);
    const second = await req('POST', `/v1/tools/${tool.id}/credentials`, admin, { type: 'client_secret' });
    expect(second.statusCode).toBe(201);
    expect(second.json().client_secret).toMatch(/^tnts_/);
    const third = await req('POST', `/v1/tools/${tool.id}/credentials`, admin, { type: 'client_secret' });
    expect([third.statusCode, third.json().code]).toEqual([409, 'CREDENTIAL_LIMIT']);
    expect((await req('DELETE', `/v1/tools/${tool.id}/credentials/${tool.credentialId}`, admin)).statusCode).toBe(204);
    expect((await req('DELETE', `/v1/tools/${tool.id}/credentials/${tool.credentialId}`, admin)).statusCode).toBe(404);
    const again = await req('POST', `/v1/tools/${tool.id}/credentials`, admin, { type: 'client_secret' });
    expect(again.statusCode).toBe(201);
    const list = (await req('GET', `/v1/tools/${tool.id}/credentials`, admin)).json().data as Array<{ revoked_at: string | null }>;
    expect(list.map((c) => c.revoked_at === null)).toEqual([false, true, true]);
  });

  it('registers a private_key_jwt JWKS with each key’s algorithm pinned, and refuses private keys', async () => {
    const { generateKeyPair, exportJWK } = await import('jose');
    const tool = await registerTool(t, admin);
    const ed = await exportJWK((await generateKeyPair('EdDSA', { crv: 'Ed25519' })).publicKey);
    const ec = await generateKeyPair('ES256', { extractable: true });
    const res = await req('POST', `/v1/tools/${tool.id}/credentials`, admin, {
      type: 'private_key_jwt',
      jwks: { keys: [ed, await exportJWK(ec.publicKey)] },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().client_secret).toBeUndefined();
    expect(res.json().credential.jwks.keys.map((k: { alg: string }) => k.alg)).toEqual(['EdDSA', 'ES256']);
    const tool2 = await registerTool(t, admin);
    const priv = await req('POST', `/v1/tools/${tool2.id}/credentials`, admin, {
      type: 'private_key_jwt',
      jwks: { keys: [await exportJWK(ec.privateKey)] },
    });
    expect([priv.statusCode, priv.json().code]).toEqual([400, 'VALIDATION_FAILED']);
    const wrongAlg = await req('POST', `/v1/tools/${tool2.id}/credentials`, admin, {
      type: 'private_key_jwt',
      jwks: { keys: [{ ...ed, alg: 'HS256' }] },
    });
    expect(wrongAlg.statusCode).toBe(400);
  });

  it('records every registry act in the platform log, which only platform admins read', async () => {
    const tool = await registerTool(t, admin);
    await req('PATCH', `/v1/tools/${tool.id}`, admin, { description: 'CRM' });
    await req('POST', `/v1/tools/${tool.id}/disable`, admin);
    await req('POST', `/v1/tools/${tool.id}/enable`, admin);
    const cred = (await req('POST', `/v1/tools/${tool.id}/credentials`, admin, { type: 'client_secret' })).json();
    await req('DELETE', `/v1/tools/${tool.id}/credentials/${cred.credential.id}`, admin);
    const log = await req('GET', '/v1/platform/audit-events?limit=100', admin);
    expect(log.statusCode).toBe(200);
    const mine = log
      .json()
      .data.filter((e: { target: { id: string } | null }) => e.target?.id === tool.id)
      .map((e: { action: string; actor: { type: string } }) => [e.action, e.actor.type]);
    expect(mine.reverse()).toEqual([
      ['tool.created', 'platform_admin'],
      ['tool.updated', 'platform_admin'],
      ['tool.disabled', 'platform_admin'],
      ['tool.enabled', 'platform_admin'],
      ['tool.credential_created', 'platform_admin'],
      ['tool.credential_revoked', 'platform_admin'],
    ]);
    expect(log.body).not.toContain(tool.secret);
    expect(log.body).not.toContain(cred.client_secret);
    const user = await signupUser(t.app);
    expect((await req('GET', '/v1/platform/audit-events', user.access)).statusCode).toBe(403);
  });
});
