import { type RawBuilder, sql, type Transaction } from 'kysely';
import type { Database } from './database.js';
import { isUuid } from './ids.js';
import type { OrganizationStatus, Role, Schema } from './schema.js';
import { inTenantTransaction, readInOneStatement } from './tenant-pattern.js';

export type Tx = Transaction<Schema>;

export interface TenantContext {
  /** The organization whose rows this transaction may touch; null for user-level work. */
  orgId: string | null;
  /** The acting user; null for anonymous work (signup, login). */
  userId: string | null;
  /** The session behind the caller's access token, checked for revocation. */
  sessionId?: string | null;
  /** The platform tool acting (no user then): its enablement in the organization is read on entering. */
  toolId?: string | null;
  /** The organization API key acting (no user then): whether it is still live is read on entering. */
  apiKeyId?: string | null;
}

/** An API key's standing as the database returns it on entering (tenantry_enter_api_key, sql/api-keys.sql). */
export interface ApiKeyStanding {
  /** Neither revoked nor expired, by the database's clock. */
  live: boolean;
  /** The permissions and tool scopes the key carries. */
  scopes: readonly string[];
  /** The tool the key is for; null for Tenantry's API and any enabled tool. */
  toolId: string | null;
  expiresAt: Date | null;
}

/** A tool's standing as the database returns it on entering (tenantry_enter_tool, sql/tools.sql). */
export interface ToolStanding {
  /** The tool's own status in the registry; null when it no longer exists. */
  status: 'active' | 'disabled' | null;
  /** Its enablement in the organization entered; null when it was never enabled there. */
  enablement: 'active' | 'disabled' | null;
  /** The scopes its enablement grants. */
  scopes: readonly string[];
}

/** What the database says about the caller at the start of the transaction. */
export interface Entered {
  memberRole: Role | null;
  orgStatus: OrganizationStatus | null;
  platformRole: 'platform_admin' | null;
  sessionLive: boolean;
  /** Set when a tool entered. */
  tool?: ToolStanding;
  /** Set when an API key entered. */
  apiKey?: ApiKeyStanding;
}

export class InvalidTenantContext extends Error {
  constructor() {
    super('tenant context ids must be UUIDs');
    this.name = 'InvalidTenantContext';
  }
}

const validId = (v: string | null | undefined) => v === null || v === undefined || isUuid(v);

/** Ids are checked before any SQL runs: a non-UUID never reaches the database. */
function checkContext(ctx: TenantContext): void {
  if (!validId(ctx.orgId) || !validId(ctx.userId) || !validId(ctx.sessionId) || !validId(ctx.toolId) || !validId(ctx.apiKeyId)) {
    throw new InvalidTenantContext();
  }
}

/** The caller's context as the database returns it (tenantry_enter and the one-statement reads). */
export interface EnteredRow {
  member_role: Role | null;
  org_status: OrganizationStatus | null;
  platform_role: 'platform_admin' | null;
  session_live: boolean;
}

export const toEntered = (row: EnteredRow): Entered => ({
  memberRole: row.member_role,
  orgStatus: row.org_status,
  platformRole: row.platform_role,
  sessionLive: row.session_live,
});

// Tenantry's tenant context: the functions of sql/ and migrations that enter it.

/**
 * Switches the transaction to the application role and sets tenant and user
 * transaction-locally (`set_config(..., true)`, bound parameters). Returns the
 * caller's current membership, platform role and session state in the same statement.
 * May be called again inside a transaction to change the context.
 */
export async function enterTenant(tx: Tx, ctx: TenantContext): Promise<Entered> {
  checkContext(ctx);
  if (ctx.toolId) return enterAsTool(tx, ctx.orgId, ctx.toolId);
  if (ctx.apiKeyId) return enterAsApiKey(tx, ctx.orgId, ctx.apiKeyId);
  const { rows } =
    await sql<EnteredRow>`select * from tenantry_enter(${ctx.orgId}::uuid, ${ctx.userId}::uuid, ${ctx.sessionId ?? null}::uuid)`.execute(
      tx,
    );
  return toEntered(rows[0]!);
}

/**
 * A tool's context: the request role, the tenant, no user, and the tool, whose registry
 * status and enablement come back from the same statement. A live tool is one that
 * still exists and is active.
 */
async function enterAsTool(tx: Tx, orgId: string | null, toolId: string): Promise<Entered> {
  const { rows } = await sql<{
    tool_status: ToolStanding['status'];
    org_status: OrganizationStatus | null;
    enablement_status: ToolStanding['enablement'];
    scopes: string[] | null;
  }>`select * from tenantry_enter_tool(${orgId}::uuid, ${toolId}::uuid)`.execute(tx);
  const r = rows[0]!;
  return {
    memberRole: null,
    orgStatus: r.org_status,
    platformRole: null,
    sessionLive: r.tool_status === 'active',
    tool: { status: r.tool_status, enablement: r.enablement_status, scopes: r.scopes ?? [] },
  };
}

/** An API key's context as the database returns it (tenantry_enter_api_key and the key's one-statement reads). */
export interface ApiKeyEnteredRow {
  org_status: OrganizationStatus | null;
  key_live: boolean;
  scopes: string[] | null;
  tool_id: string | null;
  expires_at: Date | null;
}

const toApiKeyEntered = (r: ApiKeyEnteredRow): Entered => ({
  memberRole: null,
  orgStatus: r.org_status,
  platformRole: null,
  sessionLive: r.key_live,
  apiKey: { live: r.key_live, scopes: r.scopes ?? [], toolId: r.tool_id, expiresAt: r.expires_at },
});

/**
 * An API key's context: the organization's request role, the tenant, no user, and the key,
 * whose state comes back from the same statement. Live means neither revoked nor expired.
 */
async function enterAsApiKey(tx: Tx, orgId: string | null, apiKeyId: string): Promise<Entered> {
  const { rows } = await sql<ApiKeyEnteredRow>`select * from tenantry_enter_api_key(${orgId}::uuid, ${apiKeyId}::uuid)`.execute(tx);
  return toApiKeyEntered(rows[0]!);
}

/** Moves the transaction to the platform role; the database grants it only to a platform admin's live session. */
export async function enterPlatform(tx: Tx, ctx: TenantContext): Promise<boolean> {
  checkContext(ctx);
  const { rows } = await sql<{
    ok: boolean;
  }>`select tenantry_enter_platform(${ctx.userId}::uuid, ${ctx.sessionId ?? null}::uuid) as ok`.execute(tx);
  return rows[0]!.ok;
}

/** Moves the transaction to tenantry_worker, the role of background work (sql/events.sql), as nobody in no organization. */
export async function enterWorker(tx: Tx): Promise<void> {
  await sql`select tenantry_enter_worker()`.execute(tx);
}

/** Runs `fn` in one transaction as tenantry_worker (see enterWorker). */
export const withWorker = <T>(db: Database, fn: (tx: Tx) => Promise<T>): Promise<T> =>
  inTenantTransaction(db.kysely, () => undefined, enterWorker, fn);

/**
 * A read that is one statement, one round trip: `statement` calls a function that
 * enters the context itself (sql/reads.sql) and returns one row, the caller's context
 * next to what it read.
 */
export async function readInContext<R>(
  db: Database,
  ctx: TenantContext,
  statement: (ctx: TenantContext) => RawBuilder<EnteredRow & R>,
): Promise<{ entered: Entered; row: R }> {
  const row = await readInOneStatement(
    db.kysely,
    () => checkContext(ctx),
    () => statement(ctx),
  );
  return { entered: toEntered(row), row };
}

/**
 * The same for an API key: `statement` calls a key's read (sql/reads.sql), which enters
 * the key's context (tenantry_enter_api_key) itself and returns the key's state as read
 * then next to what it read.
 */
export async function readAsApiKeyInContext<R>(
  db: Database,
  ctx: TenantContext,
  statement: (ctx: TenantContext) => RawBuilder<ApiKeyEnteredRow & R>,
): Promise<{ entered: Entered; row: R }> {
  const row = await readInOneStatement(
    db.kysely,
    () => checkContext(ctx),
    () => statement(ctx),
  );
  return { entered: toApiKeyEntered(row), row };
}

/** Runs `fn` in one transaction entered with `ctx` (see enterTenant and inTenantTransaction). */
export function withTenant<T>(db: Database, ctx: TenantContext, fn: (tx: Tx, entered: Entered) => Promise<T>): Promise<T> {
  return inTenantTransaction(
    db.kysely,
    () => checkContext(ctx),
    (tx) => enterTenant(tx, ctx),
    fn,
  );
}

/**
 * Runs `fn` in one transaction whose first statement, `enter`, calls a function of sql/
 * that enters its context itself (tenantry_enter before anything else), and hands `fn`
 * what that statement returned: one round trip fewer than withTenant.
 */
export function withEnteringStatement<E, T>(
  db: Database,
  enter: (tx: Tx) => Promise<E>,
  fn: (tx: Tx, entered: E) => Promise<T>,
): Promise<T> {
  return inTenantTransaction(db.kysely, () => undefined, enter, fn);
}
