// A local stand-in for Tenantry's token issuer: an Ed25519 key, a JWKS served over real
// HTTP on loopback (counting its fetches), and access tokens shaped as SPEC §2/§10 says.
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type JWK, type JWTPayload, SignJWT } from 'jose';

export const ISSUER = 'https://tenantry.test';
export const AUDIENCE = 'https://crm.tools.test';

export interface Issuer {
  kid: string;
  key: KeyObject;
  jwksUrl: string;
  /** Fetches of the JWKS so far. */
  fetches(): number;
  /** Adds a key to the served JWKS (a rotation); returns it. */
  rotate(): { kid: string; key: KeyObject };
  /** Makes the JWKS answer 500 (or serve again). */
  fail(on: boolean): void;
  /** A token with the claims of a user in an organization, for this tool, `changes` applied (undefined removes a claim). */
  mint(changes?: Record<string, unknown>, header?: Record<string, unknown>, key?: { kid: string; key: KeyObject }): Promise<string>;
  close(): Promise<void>;
}

export const jwkOf = (kid: string, key: KeyObject): JWK => ({
  ...(key.type === 'private' ? createPublicKey(key) : key).export({ format: 'jwk' }),
  kid,
  alg: 'EdDSA',
  use: 'sig',
});

export const userClaims = (): JWTPayload => {
  const now = Math.floor(Date.now() / 1000);
  return {
    iss: ISSUER,
    aud: AUDIENCE,
    sub: crypto.randomUUID(),
    sid: crypto.randomUUID(),
    client_id: 'tenantry',
    principal: 'user',
    org_id: crypto.randomUUID(),
    org_role: 'member',
    permissions: ['crm:contacts:read', 'data:read'],
    iat: now,
    exp: now + 900,
    jti: crypto.randomUUID(),
  };
};

export async function startIssuer(): Promise<Issuer> {
  const keys: Array<{ kid: string; key: KeyObject }> = [];
  const add = () => {
    const k = { kid: `k-${crypto.randomUUID()}`, key: generateKeyPairSync('ed25519').privateKey };
    keys.push(k);
    return k;
  };
  const first = add();
  let fetches = 0;
  let failing = false;
  const server: Server = createServer((_req, res) => {
    fetches++;
    if (failing) return void res.writeHead(500).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: keys.map((k) => jwkOf(k.kid, k.key)) }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    kid: first.kid,
    key: first.key,
    jwksUrl: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    fetches: () => fetches,
    rotate: add,
    fail: (on) => {
      failing = on;
    },
    async mint(changes = {}, header = {}, key = first) {
      const payload: Record<string, unknown> = userClaims();
      for (const [k, v] of Object.entries(changes)) {
        if (v === undefined) delete payload[k];
        else payload[k] = v;
      }
      return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: key.kid, ...header }).sign(key.key);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
