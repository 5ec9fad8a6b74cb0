import { sql } from 'kysely';
import type { Tx } from '../../db/tenant-context.js';

// Enablement (organization_tools, a tenant table under forced RLS): read and written in
// the organization's context; a tool reads its own rows across organizations in user mode.

export const ENABLEMENT_COLUMNS = ['organization_id', 'tool_id', 'status', 'scopes', 'enabled_by', 'enabled_at'] as const;

/**
 * The organization's view of the registry: every active tool, and every tool with an
 * enablement here whatever its registry status, with that enablement (null when never enabled).
 */
export function listOrganizationTools(tx: Tx, orgId: string, f: { after?: string | undefined; limit: number; only?: string }) {
  let q = tx
    .selectFrom('tools as t')
    .leftJoin('organization_tools as ot', (j) => j.onRef('ot.tool_id', '=', 't.id').on('ot.organization_id', '=', orgId))
    .select([
      't.id as tool_id',
      't.slug',
      't.name',
      't.description',
      't.audience',
      't.status as tool_status',
      't.scopes as catalogue',
      'ot.status',
      'ot.scopes',
      'ot.enabled_by',
      'ot.enabled_at',
    ])
    .where((eb) => eb.or([eb('t.status', '=', 'active'), eb('ot.tool_id', 'is not', null)]))
    .orderBy('t.id')
    .limit(f.limit + 1);
  if (f.after) q = q.where('t.id', '>', f.after);
  if (f.only) q = q.where('t.id', '=', f.only);
  return q.execute();
}

/** The enablement row, locked for the rest of the transaction (two admins changing it queue here). */
export const lockEnablement = (tx: Tx, orgId: string, toolId: string) =>
  tx
    .selectFrom('organization_tools')
    .select(ENABLEMENT_COLUMNS)
    .where('organization_id', '=', orgId)
    .where('tool_id', '=', toolId)
    .forUpdate()
    .executeTakeFirst();

export const insertEnablement = (tx: Tx, row: { organization_id: string; tool_id: string; scopes: string[]; enabled_by: string }) =>
  tx.insertInto('organization_tools').values(row).returning(ENABLEMENT_COLUMNS).executeTakeFirstOrThrow();

export const updateEnablement = (
  tx: Tx,
  orgId: string,
  toolId: string,
  set: { status: 'active' | 'disabled'; scopes?: string[]; enabled_by?: string; enabled_at?: Date },
) =>
  tx
    .updateTable('organization_tools')
    .set({ ...set, updated_at: sql<Date>`now()` } as never)
    .where('organization_id', '=', orgId)
    .where('tool_id', '=', toolId)
    .returning(ENABLEMENT_COLUMNS)
    .executeTakeFirstOrThrow();

/** A tool's active enablements across organizations (its own rows only: sql/policies/organization_tools.sql). */
export function listToolEnablements(tx: Tx, toolId: string, f: { after?: string | undefined; limit: number }) {
  let q = tx
    .selectFrom('organization_tools')
    .select(['organization_id', 'scopes', 'enabled_at'])
    .where('tool_id', '=', toolId)
    .where('status', '=', 'active')
    .orderBy('organization_id')
    .limit(f.limit + 1);
  if (f.after) q = q.where('organization_id', '>', f.after);
  return q.execute();
}
