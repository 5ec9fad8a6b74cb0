import { readFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApp, type TestApp } from '../../server/test/helpers/app.js';
import { CLIENT_FILE, clientSource } from '../scripts/client-source.mjs';
import { type ApiComponents, createApiClient } from '../src/index.js';

describe('the typed API client', () => {
  let t: TestApp;
  let baseUrl: string;
  beforeAll(async () => {
    t = await startApp('pglite');
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    baseUrl = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  });
  afterAll(() => t?.close());

  it('is generated from the server’s current OpenAPI document (run `npm run generate:client` when this fails)', async () => {
    const fresh = await clientSource(t.app.swagger());
    const checkedIn = await readFile(CLIENT_FILE, 'utf8');
    expect(checkedIn === fresh, 'src/client/schema.ts differs from a fresh generation: run `npm run generate:client`').toBe(true);
  });

  it('signs up, reads /v1/me and gets a typed problem, over HTTP', async () => {
    const api = createApiClient({ baseUrl });
    const email = `client-${crypto.randomUUID()}@example.com`;
    const signup = await api.POST('/v1/auth/signup', { body: { email, password: 'correct horse battery staple', name: 'Client Dev' } });
    if (!signup.data) throw new Error(JSON.stringify(signup.error));
    const token: string = signup.data.access_token;
    const authed = createApiClient({ baseUrl, headers: () => ({ authorization: `Bearer ${token}` }) });
    const me = await authed.GET('/v1/me');
    expect(me.data?.email).toBe(email);
    const missing = await authed.GET('/v1/organizations/{org_id}', { params: { path: { org_id: crypto.randomUUID() } } });
    expect(missing.response.status).toBe(404);
    expect(missing.error?.code).toBe('NOT_FOUND');
    const org: ApiComponents['schemas']['Organization'] | undefined = (
      await authed.POST('/v1/organizations', { body: { name: 'Typed Client Co', industry: 'technology', size: '11-50' } })
    ).data;
    expect(org?.status).toBe('active');
    const members = await authed.GET('/v1/organizations/{org_id}/members', { params: { path: { org_id: org!.id }, query: { limit: 5 } } });
    expect(members.data?.data).toHaveLength(1);
  });

  it('the types refuse wrong paths, parameters and bodies (checked by `npm run typecheck`)', () => {
    const api = createApiClient({ baseUrl: 'http://127.0.0.1:1' });
    const never = () => {
      // @ts-expect-error no such path
      void api.GET('/v1/nothing-here');
      // @ts-expect-error the path parameter is required
      void api.GET('/v1/organizations/{org_id}');
      // @ts-expect-error signup needs a body
      void api.POST('/v1/auth/signup');
      // @ts-expect-error not one of the sizes
      void api.POST('/v1/organizations', { body: { name: 'x', industry: 'technology', size: 'huge' } });
    };
    expect(typeof never).toBe('function');
  });
});
