// OAuth client authentication of platform tools (RFC 6749 §2.3, RFC 7523 §2.2):
// client_secret_basic, client_secret_post and private_key_jwt. The token endpoint's
// client_credentials grant uses it, and so does every endpoint a tool calls as itself
// (introspection, token exchange).
import { createPublicKey, type KeyObject } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, type JWK, errors as joseErrors, jwtVerify } from 'jose';
import type { Database } from '../../db/database.js';
import { OAuthError } from '../../http/errors.js';
import { addressKey, type CredentialLimits } from '../../http/rate-limit.js';
import { anonymous } from '../access/transactions.js';
import { hashClientSecret } from '../tools/credentials.js';
import type { ToolScope, ToolStatus } from '../tools/tables.js';
import {
  clientSecretCheck,
  markCredentialUsed,
  type SecretCheckRow,
  type ToolKeyRow,
  toolKeys,
  useAssertionJti,
} from '../tools/tools.queries.js';
import { CLOCK_TOLERANCE_SECONDS } from './tokens.js';

export const JWT_BEARER_ASSERTION = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
export const CLIENT_AUTH_METHODS = ['client_secret_basic', 'client_secret_post', 'private_key_jwt'] as const;
export type ClientAuthMethod = (typeof CLIENT_AUTH_METHODS)[number];
export const ASSERTION_ALGS = ['EdDSA', 'ES256', 'RS256'] as const;

/** An assertion may not live longer than this: the store of used jtis stays small. */
const MAX_ASSERTION_LIFETIME_SECONDS = 300;

/** What the client sends to authenticate, from the body and the Authorization header. */
export interface ClientAuthRequest {
  authorization?: string | undefined;
  client_id?: string | undefined;
  client_secret?: string | undefined;
  client_assertion_type?: string | undefined;
  client_assertion?: string | undefined;
  ip: string;
}

/** A tool whose credential checked out. Its status is the caller's to judge (a disabled tool is invalid_client too). */
export interface AuthenticatedClient {
  toolId: string;
  clientId: string;
  status: ToolStatus;
  audience: string;
  catalogue: ToolScope[];
  method: ClientAuthMethod;
}

export interface ClientAuthDeps {
  db: Database;
  credentialLimits: CredentialLimits;
  /** What an assertion's `aud` may be: the token endpoint's URL or the issuer. */
  assertionAudiences: readonly string[];
}

const BASIC = /^Basic +([A-Za-z0-9+/]+=*) *$/i;

/** Every failure looks the same, whichever part was wrong. */
const invalidClient = (basic: boolean) =>
  new OAuthError(
    'invalid_client',
    'Client authentication failed',
    401,
    basic ? { 'www-authenticate': 'Basic realm="tenantry"' } : { 'www-authenticate': 'Bearer realm="tenantry"' },
  );

type Presented =
  | { method: 'client_secret_basic' | 'client_secret_post'; clientId: string; secret: string }
  | { method: 'private_key_jwt'; clientId: string; assertion: string };

/** RFC 6749 Appendix A.1: a client_id is VSCHAR; anything else (a NUL, say) names no client and never reaches the database. */
const CLIENT_ID = /^[\x20-\x7e]{1,200}$/;

/** Which method the request uses; more than one, or a malformed one, is invalid_request (RFC 6749 §2.3). */
function presented(r: ClientAuthRequest): Presented | undefined {
  const p = presentedAs(r);
  if (p && !CLIENT_ID.test(p.clientId)) throw invalidClient(p.method === 'client_secret_basic');
  return p;
}

function presentedAs(r: ClientAuthRequest): Presented | undefined {
  const basic = r.authorization !== undefined && /^basic /i.test(r.authorization);
  const methods = [basic, r.client_secret !== undefined, r.client_assertion !== undefined].filter(Boolean).length;
  if (methods > 1) throw new OAuthError('invalid_request', 'Use exactly one client authentication method');
  if (basic) {
    const m = BASIC.exec(r.authorization!);
    const text = m ? Buffer.from(m[1]!, 'base64').toString('utf8') : '';
    const colon = text.indexOf(':');
    if (colon < 0) throw invalidClient(true);
    let clientId: string;
    let secret: string;
    try {
      // RFC 6749 §2.3.1: both parts are form-urlencoded before they are joined.
      clientId = decodeURIComponent(text.slice(0, colon).replaceAll('+', ' '));
      secret = decodeURIComponent(text.slice(colon + 1).replaceAll('+', ' '));
    } catch {
      throw invalidClient(true);
    }
    if (r.client_id !== undefined && r.client_id !== clientId)
      throw new OAuthError('invalid_request', 'client_id does not match the Authorization header');
    return { method: 'client_secret_basic', clientId, secret };
  }
  if (r.client_secret !== undefined) {
    if (!r.client_id) throw new OAuthError('invalid_request', 'client_id is required with client_secret');
    return { method: 'client_secret_post', clientId: r.client_id, secret: r.client_secret };
  }
  if (r.client_assertion !== undefined) {
    if (r.client_assertion_type !== JWT_BEARER_ASSERTION) {
      throw new OAuthError('invalid_request', `client_assertion_type must be ${JWT_BEARER_ASSERTION}`);
    }
    let iss: unknown;
    try {
      iss = decodeJwt(r.client_assertion).iss;
    } catch {
      throw invalidClient(false);
    }
    if (typeof iss !== 'string' || (r.client_id !== undefined && r.client_id !== iss)) throw invalidClient(false);
    return { method: 'private_key_jwt', clientId: iss, assertion: r.client_assertion };
  }
  return undefined;
}

/** A private_key_jwt key, pinned to its one algorithm. */
function keysOf(rows: ToolKeyRow[]): Array<{ credentialId: string; kid: string | undefined; alg: string; key: KeyObject }> {
  return rows.flatMap((row) =>
    row.jwks
      ? (row.jwks.keys as JWK[]).map((jwk) => ({
          credentialId: row.credential_id,
          kid: jwk.kid,
          alg: jwk.alg!,
          key: createPublicKey({
            key: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, n: jwk.n, e: jwk.e } as import('node:crypto').JsonWebKey,
            format: 'jwk',
          }),
        }))
      : [],
  );
}

/**
 * RFC 7523 §3: signed by one of the client's keys with that key's algorithm, `iss` = `sub` =
 * the client id, `aud` the token endpoint or the issuer, unexpired and short-lived, with a
 * `jti` not seen before. Returns the credential whose key verified it.
 */
async function verifyAssertion(deps: ClientAuthDeps, rows: ToolKeyRow[], clientId: string, assertion: string): Promise<string | undefined> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(assertion);
  } catch {
    return undefined;
  }
  const candidates = keysOf(rows).filter((k) => k.alg === header.alg && (header.kid === undefined || k.kid === header.kid));
  for (const k of candidates) {
    try {
      const { payload } = await jwtVerify(assertion, k.key, {
        algorithms: [k.alg],
        issuer: clientId,
        subject: clientId,
        audience: [...deps.assertionAudiences],
        clockTolerance: CLOCK_TOLERANCE_SECONDS,
        requiredClaims: ['exp', 'jti'],
      });
      const now = Math.floor(Date.now() / 1000);
      if (typeof payload.jti !== 'string' || payload.jti.length > 200) return undefined;
      if (payload.exp! > now + MAX_ASSERTION_LIFETIME_SECONDS) return undefined;
      const fresh = await anonymous(deps.db, (tx) =>
        useAssertionJti(tx, rows[0]!.tool_id, payload.jti!, new Date((payload.exp! + CLOCK_TOLERANCE_SECONDS + 60) * 1000)),
      );
      return fresh ? k.credentialId : undefined;
    } catch (err) {
      if (err instanceof joseErrors.JOSEError) continue;
      throw err;
    }
  }
  return undefined;
}

/**
 * The one statement that checks a presented client secret (by its SHA-256: the database
 * compares hashes and returns none), with whatever else the same statement reads for the
 * endpoint (the tool's standing in an organization, an API key it asks about); undefined
 * for an unknown client.
 */
export type SecretStatement<R> = (clientId: string, secretHash: Buffer) => Promise<(SecretCheckRow & R) | undefined>;

/** An authenticated client, and what its secret's statement read besides (undefined after private_key_jwt). */
export interface AuthenticatedWith<R> {
  client: AuthenticatedClient;
  read: R | undefined;
}

const clientOf = (row: SecretCheckRow | ToolKeyRow, clientId: string, method: ClientAuthMethod): AuthenticatedClient => ({
  toolId: row.tool_id,
  clientId,
  status: row.tool_status,
  audience: row.audience,
  catalogue: row.scopes,
  method,
});

/** private_key_jwt: the tool's keys read, the assertion verified and its jti used, then the credential marked used. */
async function byAssertion(deps: ClientAuthDeps, clientId: string, assertion: string): Promise<AuthenticatedClient | undefined> {
  const rows = clientId.length <= 200 ? await toolKeys(deps.db.kysely, clientId) : [];
  if (rows.length === 0) return undefined;
  const credentialId = await verifyAssertion(deps, rows, clientId, assertion);
  if (!credentialId) return undefined;
  const used = rows.find((row) => row.credential_id === credentialId)!;
  if (used.last_used_at === null || Date.now() - new Date(used.last_used_at).getTime() > 60_000) {
    await anonymous(deps.db, (tx) => markCredentialUsed(tx, credentialId));
  }
  return clientOf(rows[0]!, clientId, 'private_key_jwt');
}

/**
 * Authenticates the tool calling, or throws invalid_client (401). Failures are counted per
 * client address, and an address over the limit is refused (429) before any check: guessing
 * a 256-bit secret is hopeless anyway, and a success spends nothing, so a busy tool is never
 * throttled by its own requests, nor locked out by someone else's guesses from elsewhere.
 * A client secret is checked by `statement`, one round trip that may read more for the
 * endpoint; private_key_jwt takes its own reads, and `read` is undefined then.
 */
export async function authenticateClientWith<R>(
  deps: ClientAuthDeps,
  r: ClientAuthRequest,
  statement: SecretStatement<R>,
): Promise<AuthenticatedWith<R>> {
  const p = presented(r);
  const basic = p?.method === 'client_secret_basic';
  if (!p) throw invalidClient(false);
  const account = `client-auth:${addressKey(r.ip)}`;
  await deps.credentialLimits.refuseIfLocked(account);
  let found: AuthenticatedWith<R> | undefined;
  if (p.method === 'private_key_jwt') {
    const client = await byAssertion(deps, p.clientId, p.assertion);
    found = client && { client, read: undefined };
  } else {
    const row = p.clientId.length <= 200 ? await statement(p.clientId, hashClientSecret(p.secret)) : undefined;
    found = row?.authenticated ? { client: clientOf(row, p.clientId, p.method), read: row } : undefined;
  }
  if (!found) {
    await deps.credentialLimits.failed(account);
    throw invalidClient(basic);
  }
  return found;
}

/** Authenticates the tool calling (see authenticateClientWith), reading nothing else. */
export const authenticateClient = async (deps: ClientAuthDeps, r: ClientAuthRequest): Promise<AuthenticatedClient> =>
  (await authenticateClientWith(deps, r, (clientId, hash) => clientSecretCheck(deps.db.kysely, clientId, hash, null))).client;

/** invalid_client for a tool that authenticated but is disabled: it is refused like a bad credential. */
export function requireActiveClient(c: AuthenticatedClient): AuthenticatedClient {
  if (c.status !== 'active') throw new OAuthError('invalid_client', 'The tool is disabled', 401);
  return c;
}
