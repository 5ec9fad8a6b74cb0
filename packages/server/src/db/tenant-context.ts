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
}

/** What the database says about the caller at the start of the transaction. */
export interface Entered {
  memberRole: Role | null;
  orgStatus: OrganizationStatus | null;
  platformRole: 'platform_admin' | null;
  sessionLive: boolean;
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
  if (!validId(ctx.orgId) || !validId(ctx.userId) || !validId(ctx.sessionId)) throw new InvalidTenantContext();
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
  const { rows } =
    await sql<EnteredRow>`select * from tenantry_enter(${ctx.orgId}::uuid, ${ctx.userId}::uuid, ${ctx.sessionId ?? null}::uuid)`.execute(
      tx,
    );
  return toEntered(rows[0]!);
}

/** Moves the transaction to the platform role; the database grants it only to a platform admin's live session. */
export async function enterPlatform(tx: Tx, ctx: TenantContext): Promise<boolean> {
  checkContext(ctx);
  const { rows } = await sql<{
    ok: boolean;
  }>`select tenantry_enter_platform(${ctx.userId}::uuid, ${ctx.sessionId ?? null}::uuid) as ok`.execute(tx);
  return rows[0]!.ok;
}

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
