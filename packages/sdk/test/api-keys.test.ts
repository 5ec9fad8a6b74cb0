import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { apiKeyChecksum, createTenantry, parseApiKey, type TenantryEvent } from '../src/index.js';
import { AUDIENCE, ISSUER, type Issuer, startIssuer } from './helpers/issuer.js';

// Keys made by the server's key format (packages/server/src/modules/api-keys/key-format.ts).
const SERVER_MADE = [
  ['tnty_oDYPV33teT3kvga5_F9iWVkncOUWVlqTZaFPH0Om4WePArZLT3w493K', 'oDYPV33teT3kvga5'],
  ['tnty_giwILUax3AnybYEH_KwOwbRDfUK6jd0PsHy6vYgexJBY7NvXk02K9tS', 'giwILUax3AnybYEH'],
  ['tnty_3sQJBqiWwvE33Wwa_b8KK2cJfuyRCoQpCroBpwLobZYLFlCRv1Zb6Yv', '3sQJBqiWwvE33Wwa'],
] as const;

const ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
const base62 = (n: number) => Array.from(crypto.getRandomValues(new Uint8Array(n)), (b) => ALPHABET[b % 62]).join('');
const newKey = () => {
  const body = `tnty_${base62(16)}_${base62(32)}`;
  return `${body}${apiKeyChecksum(body)}`;
};

describe('API key checksums', () => {
  it('accept the keys the server makes, with their key ids', () => {
    for (const [key, id] of SERVER_MADE) expect(parseApiKey(key)).toEqual({ keyId: id });
  });

  it('refuse any one changed character, and anything not shaped like a key', () => {
    const [key] = SERVER_MADE[0];
    for (let i = 5; i < key.length; i++) {
      if (key[i] === '_') continue;
      const changed = key.slice(0, i) + (key[i] === 'a' ? 'b' : 'a') + key.slice(i + 1);
      expect(parseApiKey(changed), `position ${i}`).toBeNull();
    }
    for (const bad of ['', 'tnty_', `${key}x`, key.slice(0, -1), key.replace('tnty_', 'tnty-'), `Bearer ${key}`, key.toUpperCase()]) {
      expect(parseApiKey(bad)).toBeNull();
    }
  });
});

/** Stands in for Tenantry's POST /oauth/introspect (RFC 7662), answering from a table of keys. */
interface Introspection {
  requests: Array<{ authorization: string | undefined; body: string }>;
  keys: Map<string, Record<string, unknown>>;
  url: string;
  server: Server;
}
async function startIntrospection(): Promise<Introspection> {
  const state = { requests: [] as Introspection['requests'], keys: new Map<string, Record<string, unknown>>() };
  const read = (req: IncomingMessage) =>
    new Promise<string>((resolve) => {
      let s = '';
      req.on('data', (c) => {
        s += c;
      });
      req.on('end', () => resolve(s));
    });
  const server = createServer(async (req, res) => {
    const body = await read(req);
    state.requests.push({ authorization: req.headers.authorization, body });
    if (req.headers.authorization !== `Basic ${Buffer.from('crm-client:crm-secret').toString('base64')}`) {
      return void res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'invalid_client' }));
    }
    const token = new URLSearchParams(body).get('token') ?? '';
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(state.keys.get(token) ?? { active: false }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { ...state, server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/oauth/introspect` };
}

describe('API keys through introspection', () => {
  let issuer: Issuer;
  let intro: Introspection;
  let clock: number;
  const org = crypto.randomUUID();
  const tenantry = () =>
    createTenantry({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: issuer.jwksUrl,
      now: () => clock,
      apiKeys: { endpoint: intro.url, clientId: 'crm-client', clientSecret: 'crm-secret' },
    });
  const active = (keyId: string, scope = 'crm:contacts:read') => ({
    active: true,
    principal: 'api_key',
    sub: keyId,
    client_id: 'crm-client',
    org_id: org,
    scope,
    exp: Math.floor(clock / 1000) + 3600,
  });

  beforeAll(async () => {
    issuer = await startIssuer();
    intro = await startIntrospection();
  });
  beforeEach(() => {
    clock = Date.now();
    intro.requests.length = 0;
  });
  afterAll(async () => {
    await new Promise((r) => intro.server.close(r));
    await issuer.close();
  });

  it('a key whose checksum fails is refused without a request', async () => {
    const t = tenantry();
    const key = newKey();
    // The last checksum character changed to another (a key already ending in A would stay valid).
    const wrongChecksum = `${key.slice(0, -1)}${key.endsWith('A') ? 'B' : 'A'}`;
    await expect(t.authenticate({ headers: { authorization: `Bearer ${wrongChecksum}` } })).rejects.toMatchObject({ status: 401 });
    expect(intro.requests).toEqual([]);
  });

  it('an active key is the api_key principal, asked with the tool’s client credentials, and kept at most 30 s', async () => {
    const t = tenantry();
    const key = newKey();
    intro.keys.set(key, active(parseApiKey(key)!.keyId));
    const p = await t.authenticate({ headers: { authorization: `Bearer ${key}` } }, { permissions: ['crm:contacts:read'] }, org);
    expect(p).toMatchObject({ type: 'api_key', id: parseApiKey(key)!.keyId, orgId: org, permissions: ['crm:contacts:read'] });
    expect(intro.requests).toHaveLength(1);
    expect(new URLSearchParams(intro.requests[0]!.body).get('token')).toBe(key);
    await Promise.all(Array.from({ length: 10 }, () => t.verifyApiKey(key)));
    expect(intro.requests).toHaveLength(1);
    clock += 29_000;
    await t.verifyApiKey(key);
    expect(intro.requests).toHaveLength(1);
    clock += 1_001;
    intro.keys.set(key, { active: false }); // revoked at Tenantry: the next introspection says so
    await expect(t.verifyApiKey(key)).rejects.toMatchObject({ status: 401 });
    expect(intro.requests).toHaveLength(2);
  });

  it('concurrent first uses of a key share one introspection; inactive answers are not kept', async () => {
    const t = tenantry();
    const key = newKey();
    await expect(t.verifyApiKey(key)).rejects.toMatchObject({ status: 401 });
    intro.keys.set(key, active(parseApiKey(key)!.keyId));
    intro.requests.length = 0;
    await Promise.all(Array.from({ length: 20 }, () => t.verifyApiKey(key)));
    expect(intro.requests).toHaveLength(1);
  });

  it('an api_key.revoked event refuses the key at once, inside the 30 s of its kept answer', async () => {
    const t = tenantry();
    const key = newKey();
    const keyId = parseApiKey(key)!.keyId;
    intro.keys.set(key, active(keyId));
    await t.verifyApiKey(key);
    const revoked: TenantryEvent = {
      id: crypto.randomUUID(),
      type: 'api_key.revoked',
      timestamp: new Date(clock).toISOString(),
      organization_id: org,
      actor: { type: 'user', id: crypto.randomUUID() },
      data: { api_key_id: keyId },
    };
    t.revocations!.apply(revoked);
    await expect(t.verifyApiKey(key)).rejects.toMatchObject({ status: 401 });
  });

  it('a key of another organization is 404 on this organization’s route; an answer for another principal is refused', async () => {
    const t = tenantry();
    const key = newKey();
    intro.keys.set(key, active(parseApiKey(key)!.keyId));
    await expect(t.authenticate({ headers: { authorization: `Bearer ${key}` } }, {}, crypto.randomUUID())).rejects.toMatchObject({
      status: 404,
    });
    const tokenLike = newKey();
    intro.keys.set(tokenLike, { ...active('x'), principal: 'user' });
    await expect(t.verifyApiKey(tokenLike)).rejects.toMatchObject({ status: 401 });
  });

  it('answers 503 when Tenantry cannot be asked', async () => {
    const t = createTenantry({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: issuer.jwksUrl,
      apiKeys: { endpoint: 'http://127.0.0.1:1/oauth/introspect', clientId: 'crm-client', clientSecret: 'crm-secret' },
    });
    await expect(t.verifyApiKey(newKey())).rejects.toMatchObject({ status: 503 });
  });
});
