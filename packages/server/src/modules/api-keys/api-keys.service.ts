import type { Database } from '../../db/database.js';
import { isUuid, uuidv7 } from '../../db/ids.js';
import type { Tx } from '../../db/tenant-context.js';
import { AppError, type FieldError, forbidden, notFound } from '../../http/errors.js';
import { decodeCursor, page } from '../../http/pagination.js';
import { actingUser, type Caller, type OrgCaller } from '../access/gate.js';
import { PERMISSIONS, type Permission, permissionsOf } from '../access/roles.js';
import { inOrganization } from '../access/transactions.js';
import { record } from '../audit/audit.js';
import { type Expiry, type findApiKey, insertApiKey, listApiKeys, lockApiKey, markRevoked, markRotated } from './api-keys.queries.js';
import { generateKey, keyHash, startOf } from './key-format.js';

export interface ApiKeyDeps {
  db: Database;
  /** The server secret key hashes are keyed with (server-secret.ts). */
  secret: () => Promise<Buffer>;
}

type KeyRow = Awaited<ReturnType<typeof findApiKey>> & {};

/** A key as the API shows it. */
const toApiKey = (row: KeyRow) => {
  const { tool_id: _tool, ...rest } = row;
  return { ...rest, audience: null as string | null };
};

const TENANTRY_PERMISSIONS: ReadonlySet<string> = new Set(PERMISSIONS);

/**
 * The scopes a key may carry: the caller's own Tenantry permissions, and the scopes of the
 * tools enabled in the organization; a key for one tool (`audience`), that tool's only.
 * A scope nobody could grant here is a 400; a Tenantry permission above the caller's own a 403.
 */
function checkScopes(c: OrgCaller, scopes: readonly string[], audience: string | null): void {
  if (audience !== null) throw unknownAudience();
  const own = new Set<string>(c.role ? permissionsOf(c.role) : []);
  const unknown: FieldError[] = scopes.flatMap((s, i) =>
    TENANTRY_PERMISSIONS.has(s) ? [] : [{ path: `/body/scopes/${i}`, message: `is not a permission or a scope of a tool enabled here` }],
  );
  if (unknown.length > 0) throw new AppError('VALIDATION_FAILED', 'Unknown scopes', unknown);
  const above = scopes.filter((s) => !own.has(s as Permission));
  if (above.length > 0) throw forbidden(`A key cannot carry permissions you do not hold: ${above.join(', ')}`);
}

const unknownAudience = () =>
  new AppError('VALIDATION_FAILED', 'No tool with this audience is enabled in the organization', [
    { path: '/body/audience', message: 'is not the audience of a tool enabled in this organization' },
  ]);

/** Writes a new key and answers it with its text, shown only this once. */
async function issueKey(
  secret: Buffer,
  tx: Tx,
  c: OrgCaller,
  k: { name: string; scopes: string[]; toolId: string | null; expiry: Expiry },
) {
  const { key, keyId } = generateKey();
  const row = await insertApiKey(
    tx,
    {
      organization_id: c.organizationId,
      id: uuidv7(),
      key_id: keyId,
      key_hash: keyHash(secret, key),
      start: startOf(key),
      name: k.name,
      scopes: k.scopes,
      tool_id: k.toolId,
      created_by: actingUser(c),
    },
    k.expiry,
  );
  return { ...toApiKey(row), key };
}

export async function createApiKey(
  deps: ApiKeyDeps,
  caller: Caller,
  orgId: string,
  body: { name: string; scopes: string[]; expires_in?: number | undefined; audience?: string | undefined },
) {
  // Read before the transaction: on the embedded engine it holds the only connection.
  const secret = await deps.secret();
  return inOrganization(deps.db, caller, orgId, 'api_keys:manage', async (tx, c) => {
    checkScopes(c, body.scopes, body.audience ?? null);
    const expiry: Expiry = body.expires_in === undefined ? { at: null } : { inSeconds: body.expires_in };
    const created = await issueKey(secret, tx, c, { name: body.name, scopes: body.scopes, toolId: null, expiry });
    await record(tx, c, {
      action: 'api_key.created',
      target: { type: 'api_key', id: created.id },
      data: { name: created.name, scopes: created.scopes, audience: created.audience, expires_at: created.expires_at },
    });
    return created;
  });
}

export async function getApiKeys(
  deps: ApiKeyDeps,
  caller: Caller,
  orgId: string,
  q: { limit?: number | undefined; cursor?: string | undefined },
) {
  const limit = q.limit ?? 20;
  const after = decodeCursor(q.cursor, isUuid);
  return inOrganization(deps.db, caller, orgId, 'api_keys:manage', async (tx) => {
    const result = page(await listApiKeys(tx, orgId, { after, limit }), limit, (k) => k.id);
    return { data: result.data.map(toApiKey), next_cursor: result.next_cursor };
  });
}

/** Revokes a key: its next request is refused, on every instance. */
export async function revokeApiKey(deps: ApiKeyDeps, caller: Caller, orgId: string, id: string) {
  return inOrganization(deps.db, caller, orgId, 'api_keys:manage', async (tx, c) => {
    const k = await lockApiKey(tx, orgId, id);
    if (!k) throw notFound('API key');
    if (!(await markRevoked(tx, orgId, id)).numUpdatedRows) throw new AppError('INVALID_STATE', 'The API key is already revoked');
    await record(tx, c, { action: 'api_key.revoked', target: { type: 'api_key', id }, data: { name: k.name } });
  });
}

/**
 * Issues a key with the same name, scopes, audience and expiry, and ends the old one
 * after `graceSeconds`. The caller must be able to grant the key's scopes themself.
 */
export async function rotateApiKey(deps: ApiKeyDeps, caller: Caller, orgId: string, id: string, graceSeconds: number) {
  const secret = await deps.secret();
  return inOrganization(deps.db, caller, orgId, 'api_keys:manage', async (tx, c) => {
    const old = await lockApiKey(tx, orgId, id);
    if (!old) throw notFound('API key');
    if (!old.live || old.replaced_by !== null) {
      throw new AppError('INVALID_STATE', 'Only a live key that was not rotated already can be rotated');
    }
    checkScopes(c, old.scopes, null);
    const created = await issueKey(secret, tx, c, {
      name: old.name,
      scopes: old.scopes,
      toolId: old.tool_id,
      expiry: { at: old.expires_at },
    });
    const ended = await markRotated(tx, orgId, id, created.id, graceSeconds);
    await record(tx, c, {
      action: 'api_key.rotated',
      target: { type: 'api_key', id },
      data: { name: old.name, new_api_key_id: created.id, old_expires_at: ended.expires_at },
    });
    return created;
  });
}
