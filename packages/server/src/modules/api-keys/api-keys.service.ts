import type { Database } from '../../db/database.js';
import { isUuid, uuidv7 } from '../../db/ids.js';
import type { Tx } from '../../db/tenant-context.js';
import { AppError, type FieldError, forbidden, notFound } from '../../http/errors.js';
import { decodeCursor, page } from '../../http/pagination.js';
import { actingUser, type Caller, type OrgCaller } from '../access/gate.js';
import { PERMISSIONS, permissionsOf } from '../access/roles.js';
import { inOrganization } from '../access/transactions.js';
import { record } from '../audit/audit.js';
import {
  type Expiry,
  enabledTools,
  type findApiKey,
  insertApiKey,
  listApiKeys,
  lockApiKey,
  markRevoked,
  markRotated,
} from './api-keys.queries.js';
import { generateKey, keyHash, startOf } from './key-format.js';

export interface ApiKeyDeps {
  db: Database;
  /** The server secret key hashes are keyed with (server-secret.ts). */
  secret: () => Promise<Buffer>;
}

type KeyRow = NonNullable<Awaited<ReturnType<typeof findApiKey>>>;

/** A key as the API shows it (the tool it is for appears as its audience). */
const toApiKey = ({ tool_id: _tool, ...rest }: KeyRow) => rest;

const TENANTRY_PERMISSIONS: ReadonlySet<string> = new Set(PERMISSIONS);

type EnabledTool = Awaited<ReturnType<typeof enabledTools>>[number];

const scopeErrors = (scopes: readonly string[], allowed: (s: string) => boolean, message: string): FieldError[] =>
  scopes.flatMap((s, i) => (allowed(s) ? [] : [{ path: `/body/scopes/${i}`, message }]));

/**
 * The scopes a key may carry, and the tool it is for: the caller's own Tenantry
 * permissions and the scopes of the tools enabled in the organization (each only if the
 * caller holds the permission that scope `requires`); with `audience`, that tool's
 * scopes only. A scope nobody could grant here is a 400; one above the caller's own a 403.
 */
async function allowedScopes(tx: Tx, c: OrgCaller, scopes: readonly string[], audience: string | null): Promise<string | null> {
  const tools = await enabledTools(tx, c.organizationId);
  const tool = audience === null ? undefined : tools.find((t) => t.audience === audience);
  if (audience !== null && !tool) {
    throw new AppError('VALIDATION_FAILED', 'No tool with this audience is enabled in the organization', [
      { path: '/body/audience', message: 'is not the audience of a tool enabled in this organization' },
    ]);
  }
  const catalogue = new Map(
    (tool ? [tool] : tools).flatMap((t: EnabledTool) => t.scopes.map((sc) => [sc.name, sc.requires ?? 'data:read'] as const)),
  );
  const known = (s: string) => catalogue.has(s) || (!tool && TENANTRY_PERMISSIONS.has(s));
  const unknown = scopeErrors(
    scopes,
    known,
    tool ? 'is not a scope of this tool' : 'is not a permission or a scope of a tool enabled here',
  );
  if (unknown.length > 0) throw new AppError('VALIDATION_FAILED', 'Unknown scopes', unknown);
  const own = new Set<string>(c.role ? permissionsOf(c.role) : []);
  const above = scopes.filter((s) => !own.has(catalogue.get(s) ?? s));
  if (above.length > 0) throw forbidden(`A key cannot carry what you may not grant: ${above.join(', ')}`);
  return tool?.id ?? null;
}

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
    const toolId = await allowedScopes(tx, c, body.scopes, body.audience ?? null);
    const expiry: Expiry = body.expires_in === undefined ? { at: null } : { inSeconds: body.expires_in };
    const created = await issueKey(secret, tx, c, { name: body.name, scopes: body.scopes, toolId, expiry });
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
    await allowedScopes(tx, c, old.scopes, old.audience);
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
