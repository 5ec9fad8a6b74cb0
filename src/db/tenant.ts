import { sql, type Transaction } from 'kysely';
import type { Database } from './database.js';
import { isUuid } from './ids.js';
import type { OrganizationStatus, Role, Schema } from './schema.js';

export type Tx = Transaction<Schema>;

export interface TenantContext {
  /** The organization whose rows this transaction may touch; null for user-level work. */
  orgId: string | null;
  /** The acting user; null for anonymous work (signup, login). */
  userId: string | null;
}

/** What the database says about the caller at the start of the transaction. */
export interface Entered {
  memberRole: Role | null;
  orgStatus: OrganizationStatus | null;
}

export class InvalidTenantContext extends Error {
  constructor() {
    super('tenant context ids must be UUIDs');
    this.name = 'InvalidTenantContext';
  }
}

/**
 * Runs `fn` in one transaction as the application role, with the tenant and user
 * set transaction-locally (`set_config(..., true)`, bound parameters). The
 * transaction always ends: COMMIT on success, ROLLBACK on error, and a connection
 * whose ROLLBACK failed is destroyed, never pooled again.
 */
export async function withTenant<T>(db: Database, ctx: TenantContext, fn: (tx: Tx, entered: Entered) => Promise<T>): Promise<T> {
  // Checked before any SQL runs: a non-UUID never reaches the database.
  if ((ctx.orgId !== null && !isUuid(ctx.orgId)) || (ctx.userId !== null && !isUuid(ctx.userId))) {
    throw new InvalidTenantContext();
  }
  return db.kysely.transaction().execute(async (tx) => {
    const { rows } = await sql<{ member_role: Role | null; org_status: OrganizationStatus | null }>`
      select member_role, org_status from tenantry_enter(${ctx.orgId}::uuid, ${ctx.userId}::uuid)`.execute(tx);
    const row = rows[0];
    return fn(tx, { memberRole: row?.member_role ?? null, orgStatus: row?.org_status ?? null });
  });
}
