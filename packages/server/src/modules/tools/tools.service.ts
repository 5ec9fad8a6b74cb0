import type { Database } from '../../db/database.js';
import { isUuid, uuidv7 } from '../../db/ids.js';
import type { Tx } from '../../db/tenant-context.js';
import { AppError, notFound } from '../../http/errors.js';
import { decodeCursor, page } from '../../http/pagination.js';
import type { Caller } from '../access/gate.js';
import { actorOf } from '../access/principal.js';
import { PERMISSIONS } from '../access/roles.js';
import { asPlatformAdmin, inUserContext, widenToPlatform } from '../access/transactions.js';
import { type PlatformAuditEvent, recordPlatform } from '../audit/platform.js';
import { jwksHint, newClientSecret, normalizeJwks } from './credentials.js';
import type { ToolScope, ToolStatus } from './tables.js';
import {
  countActiveCredentials,
  findTool,
  insertCredential,
  insertTool,
  listCredentials,
  listTools,
  lockTool,
  revokeCredential,
  updateTool,
} from './tools.queries.js';

// The registry (SPEC §10): platform admins register tools and their credentials; every
// signed-in user reads the active ones (organization admins choose from them).

/** Active credentials a tool may hold at once: the current one and the next (rotation). */
export const MAX_ACTIVE_CREDENTIALS = 2;

const TENANTRY_PERMISSIONS: ReadonlySet<string> = new Set(PERMISSIONS);
export const isTenantryPermission = (scope: string): boolean => TENANTRY_PERMISSIONS.has(scope);

const onlyAdmins = 'Only platform admins manage the tool registry';
const asRegistrar = <T>(db: Database, caller: Caller, fn: (tx: Tx) => Promise<T>) => asPlatformAdmin(db, caller, onlyAdmins, fn);

const invalid = (path: string, message: string) => new AppError('VALIDATION_FAILED', message, [{ path, message }]);

/** An absolute URI without a fragment, not Tenantry's own API. */
function checkAudience(audience: string, tenantryAudience: string): string {
  let u: URL;
  try {
    u = new URL(audience);
  } catch {
    throw invalid('/body/audience', 'must be an absolute URI');
  }
  if (u.hash || !/^[a-z][a-z0-9+.-]*:/i.test(audience)) throw invalid('/body/audience', 'must be an absolute URI without a fragment');
  if (audience === tenantryAudience) throw invalid('/body/audience', 'is the audience of Tenantry’s own API');
  return audience;
}

type ScopeInput = { name: string; description?: string | undefined; shareable?: boolean | undefined; requires?: string | undefined };

/** The catalogue: the tool's own scopes are `<slug>:…`; Tenantry permissions are allowed by name. */
function checkScopes(slug: string, scopes: ScopeInput[]): ToolScope[] {
  const seen = new Set<string>();
  return scopes.map((s, i) => {
    const own = s.name.startsWith(`${slug}:`);
    if (!own && !isTenantryPermission(s.name)) {
      throw invalid(`/body/scopes/${i}/name`, `must start with "${slug}:" or be a Tenantry permission`);
    }
    if (seen.has(s.name)) throw invalid(`/body/scopes/${i}/name`, 'is listed twice');
    seen.add(s.name);
    const requires = s.requires ?? 'data:read';
    if (!isTenantryPermission(requires)) throw invalid(`/body/scopes/${i}/requires`, 'must be a Tenantry permission');
    // Tenantry's own permissions are never shared between tools.
    if (!own && s.shareable) throw invalid(`/body/scopes/${i}/shareable`, 'a Tenantry permission cannot be shareable');
    return { name: s.name, description: s.description ?? '', shareable: s.shareable ?? false, requires };
  });
}

/** Slug and audience are unique across the registry. */
function uniqueViolation(err: unknown): AppError | undefined {
  const e = err as { code?: string; constraint?: string; detail?: string; message?: string };
  if (e.code !== '23505') return undefined;
  const where = `${e.constraint ?? ''} ${e.detail ?? ''} ${e.message ?? ''}`;
  return where.includes('audience') ? new AppError('AUDIENCE_TAKEN') : new AppError('SLUG_TAKEN', 'Another tool already has this slug');
}

const audit = (tx: Tx, caller: Caller, e: PlatformAuditEvent) =>
  recordPlatform(tx, { actor: actorOf(caller.principal, 'platform_admin'), meta: caller.meta }, e);

const toolTarget = (id: string) => ({ type: 'tool', id });

export interface RegistryDeps {
  db: Database;
  /** Tenantry's own API audience, which no tool may take. */
  apiAudience: string;
}

export async function createTool(
  deps: RegistryDeps,
  caller: Caller,
  body: { slug: string; name: string; description?: string | undefined; audience: string; scopes?: ScopeInput[] | undefined },
) {
  const audience = checkAudience(body.audience, deps.apiAudience);
  const scopes = checkScopes(body.slug, body.scopes ?? []);
  const id = uuidv7();
  const secret = newClientSecret();
  return asRegistrar(deps.db, caller, async (tx) => {
    let tool: Awaited<ReturnType<typeof insertTool>>;
    try {
      tool = await insertTool(tx, {
        id,
        slug: body.slug,
        name: body.name,
        description: body.description ?? '',
        client_id: id,
        audience,
        scopes,
      });
    } catch (err) {
      throw uniqueViolation(err) ?? err;
    }
    const credential = await insertCredential(tx, {
      id: uuidv7(),
      tool_id: id,
      type: 'client_secret',
      secret_hash: secret.hash,
      hint: secret.hint,
      jwks: null,
      expires_at: null,
    });
    await audit(tx, caller, {
      action: 'tool.created',
      target: toolTarget(id),
      data: { slug: tool.slug, audience, credential_id: credential.id },
    });
    return { tool, credential_id: credential.id, client_secret: secret.secret };
  });
}

/** Platform admins see every tool; anyone else signed in, the active ones. */
export async function getTools(
  db: Database,
  caller: Caller,
  q: { limit?: number | undefined; cursor?: string | undefined; status?: ToolStatus | undefined },
) {
  const limit = q.limit ?? 20;
  const after = decodeCursor(q.cursor, isUuid);
  return inUserContext(db, caller.principal, async (tx, e) => {
    const admin = await widenToPlatform(tx, caller.principal, e);
    const status = admin ? q.status : 'active';
    return page(await listTools(tx, { after, status, limit }), limit, (t) => t.id);
  });
}

export async function getTool(db: Database, caller: Caller, id: string) {
  return inUserContext(db, caller.principal, async (tx, e) => {
    const admin = await widenToPlatform(tx, caller.principal, e);
    const tool = await findTool(tx, id);
    if (!tool || (!admin && tool.status !== 'active')) throw notFound('Tool');
    return tool;
  });
}

export async function patchTool(
  deps: RegistryDeps,
  caller: Caller,
  id: string,
  body: { name?: string | undefined; description?: string | undefined; audience?: string | undefined; scopes?: ScopeInput[] | undefined },
) {
  const audience = body.audience === undefined ? undefined : checkAudience(body.audience, deps.apiAudience);
  return asRegistrar(deps.db, caller, async (tx) => {
    const before = await lockTool(tx, id);
    if (!before) throw notFound('Tool');
    const scopes = body.scopes === undefined ? undefined : checkScopes(before.slug, body.scopes);
    const set = {
      ...(body.name !== undefined ? { name: body.name } : {}),
      ...(body.description !== undefined ? { description: body.description } : {}),
      ...(audience !== undefined ? { audience } : {}),
      ...(scopes !== undefined ? { scopes } : {}),
    };
    let tool: Awaited<ReturnType<typeof updateTool>>;
    try {
      tool = await updateTool(tx, id, set);
    } catch (err) {
      throw uniqueViolation(err) ?? err;
    }
    await audit(tx, caller, { action: 'tool.updated', target: toolTarget(id), data: { fields: Object.keys(set).sort() } });
    return tool!;
  });
}

/** Disabling stops the tool at once: its tokens are refused on the next request, and it gets no new ones. */
export const setToolStatus = (db: Database, caller: Caller, id: string, status: ToolStatus) =>
  asRegistrar(db, caller, async (tx) => {
    const before = await lockTool(tx, id);
    if (!before) throw notFound('Tool');
    if (before.status === status) return before;
    const tool = (await updateTool(tx, id, { status }))!;
    await audit(tx, caller, { action: status === 'disabled' ? 'tool.disabled' : 'tool.enabled', target: toolTarget(id), data: {} });
    return tool;
  });

type CredentialBody =
  | { type: 'client_secret'; expires_in?: number | undefined }
  | { type: 'private_key_jwt'; jwks: { keys: Array<Record<string, unknown>> }; expires_in?: number | undefined };

export async function addCredential(db: Database, caller: Caller, toolId: string, body: CredentialBody) {
  const secret = body.type === 'client_secret' ? newClientSecret() : undefined;
  const jwks = body.type === 'private_key_jwt' ? await normalizeJwks(body.jwks) : undefined;
  const expiresAt = body.expires_in === undefined ? null : new Date(Date.now() + body.expires_in * 1000);
  return asRegistrar(db, caller, async (tx) => {
    // Locked: two concurrent additions cannot both see one active credential.
    if (!(await lockTool(tx, toolId))) throw notFound('Tool');
    if ((await countActiveCredentials(tx, toolId)) >= MAX_ACTIVE_CREDENTIALS) throw new AppError('CREDENTIAL_LIMIT');
    const credential = await insertCredential(tx, {
      id: uuidv7(),
      tool_id: toolId,
      type: body.type,
      secret_hash: secret?.hash ?? null,
      hint: secret?.hint ?? jwksHint(jwks!),
      jwks: jwks ? JSON.stringify(jwks) : null,
      expires_at: expiresAt,
    });
    await audit(tx, caller, {
      action: 'tool.credential_created',
      target: toolTarget(toolId),
      data: { credential_id: credential.id, type: body.type },
    });
    return secret ? { credential, client_secret: secret.secret } : { credential };
  });
}

export const getCredentials = (db: Database, caller: Caller, toolId: string) =>
  asRegistrar(db, caller, async (tx) => {
    if (!(await findTool(tx, toolId))) throw notFound('Tool');
    return { data: await listCredentials(tx, toolId) };
  });

export const removeCredential = (db: Database, caller: Caller, toolId: string, credentialId: string) =>
  asRegistrar(db, caller, async (tx) => {
    const revoked = await revokeCredential(tx, toolId, credentialId);
    if (!revoked) throw notFound('Credential');
    await audit(tx, caller, { action: 'tool.credential_revoked', target: toolTarget(toolId), data: { credential_id: credentialId } });
  });
