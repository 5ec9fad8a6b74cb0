import { type Kysely, sql } from 'kysely';
import type { Schema } from '../../db/schema.js';
import type { Tx } from '../../db/tenant-context.js';
import type { CredentialType, ToolScope, ToolStatus } from './tables.js';

// The registry's SQL. Written as tenantry_platform (platform admins); the catalogue is
// read by every request role.

export const TOOL_COLUMNS = [
  'id',
  'slug',
  'name',
  'description',
  'client_id',
  'audience',
  'status',
  'scopes',
  'created_at',
  'updated_at',
] as const;

export const CREDENTIAL_COLUMNS = [
  'id',
  'tool_id',
  'type',
  'hint',
  'jwks',
  'created_at',
  'last_used_at',
  'expires_at',
  'revoked_at',
] as const;

export const insertTool = (
  tx: Tx,
  row: { id: string; slug: string; name: string; description: string; client_id: string; audience: string; scopes: ToolScope[] },
) =>
  tx
    .insertInto('tools')
    .values({ ...row, scopes: JSON.stringify(row.scopes) })
    .returning(TOOL_COLUMNS)
    .executeTakeFirstOrThrow();

export const findTool = (tx: Tx, id: string) => tx.selectFrom('tools').select(TOOL_COLUMNS).where('id', '=', id).executeTakeFirst();

/** The tool row locked for the rest of the transaction: credential changes of one tool queue here. */
export const lockTool = (tx: Tx, id: string) =>
  tx.selectFrom('tools').select(TOOL_COLUMNS).where('id', '=', id).forUpdate().executeTakeFirst();

export function listTools(tx: Tx, f: { after?: string | undefined; status?: ToolStatus | undefined; limit: number }) {
  let q = tx
    .selectFrom('tools')
    .select(TOOL_COLUMNS)
    .orderBy('id')
    .limit(f.limit + 1);
  if (f.after) q = q.where('id', '>', f.after);
  if (f.status) q = q.where('status', '=', f.status);
  return q.execute();
}

export const updateTool = (
  tx: Tx,
  id: string,
  set: { name?: string; description?: string; audience?: string; scopes?: ToolScope[]; status?: ToolStatus },
) =>
  tx
    .updateTable('tools')
    .set({
      ...set,
      ...(set.scopes ? { scopes: JSON.stringify(set.scopes) } : {}),
      updated_at: sql<Date>`now()`,
    } as never)
    .where('id', '=', id)
    .returning(TOOL_COLUMNS)
    .executeTakeFirst();

export const countActiveCredentials = async (tx: Tx, toolId: string): Promise<number> => {
  const r = await tx
    .selectFrom('tool_credentials')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('tool_id', '=', toolId)
    .where('revoked_at', 'is', null)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', sql<Date>`now()`)]))
    .executeTakeFirstOrThrow();
  return Number(r.n);
};

export const insertCredential = (
  tx: Tx,
  row: {
    id: string;
    tool_id: string;
    type: CredentialType;
    secret_hash: Buffer | null;
    hint: string;
    jwks: string | null;
    expires_at: Date | null;
  },
) => tx.insertInto('tool_credentials').values(row).returning(CREDENTIAL_COLUMNS).executeTakeFirstOrThrow();

export const listCredentials = (tx: Tx, toolId: string) =>
  tx.selectFrom('tool_credentials').select(CREDENTIAL_COLUMNS).where('tool_id', '=', toolId).orderBy('created_at').orderBy('id').execute();

export const revokeCredential = (tx: Tx, toolId: string, id: string) =>
  tx
    .updateTable('tool_credentials')
    .set({ revoked_at: sql<Date>`now()` } as never)
    .where('tool_id', '=', toolId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning(CREDENTIAL_COLUMNS)
    .executeTakeFirst();

// Client authentication, on nobody's behalf (tenantry_user).

export interface ToolKeyRow {
  tool_id: string;
  tool_status: ToolStatus;
  audience: string;
  scopes: ToolScope[];
  credential_id: string;
  jwks: { keys: Array<Record<string, unknown>> };
  last_used_at: Date | null;
}

/** The tool of a client id with its live private_key_jwt credentials, as one statement (sql/tools.sql); no rows when it has none. */
export const toolKeys = async (db: Kysely<Schema>, clientId: string): Promise<ToolKeyRow[]> =>
  (await sql<ToolKeyRow>`select * from tenantry_tool_keys(${clientId})`.execute(db)).rows;

/** A client secret's check as the database answers it (tenantry_tool_secret_check, sql/tools.sql): never a hash. */
export interface SecretCheckRow {
  tool_id: string;
  tool_status: ToolStatus;
  audience: string;
  scopes: ToolScope[];
  /** One of the tool's live client secrets has the presented secret's hash. */
  authenticated: boolean;
}

/** What tenantry_tool_client_check adds in an organization: null unless the tool authenticated and is active. */
export interface ToolStandingColumns {
  org_status: string | null;
  enablement_status: 'active' | 'disabled' | null;
  enabled_scopes: string[] | null;
}

/**
 * A client secret checked and, in `orgId`, the tool's standing there, as one statement in
 * its own implicit transaction (sql/tools.sql); undefined for an unknown client.
 */
export const clientSecretCheck = async (
  db: Kysely<Schema>,
  clientId: string,
  secretHash: Buffer,
  orgId: string | null,
): Promise<(SecretCheckRow & ToolStandingColumns) | undefined> =>
  (
    await sql<
      SecretCheckRow & ToolStandingColumns
    >`select * from tenantry_tool_client_check(${clientId}, ${secretHash}, ${orgId}::uuid)`.execute(db)
  ).rows[0];

/** Marks a credential used, at most once a minute (a token request is not a write every time). */
export const markCredentialUsed = (tx: Tx, id: string) =>
  tx
    .updateTable('tool_credentials')
    .set({ last_used_at: sql<Date>`now()` } as never)
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`)]))
    .execute();

/** Records an assertion's jti; false when it was used before (a replay). */
export async function useAssertionJti(tx: Tx, toolId: string, jti: string, expiresAt: Date): Promise<boolean> {
  const r = await tx
    .insertInto('tool_assertion_jtis')
    .values({ tool_id: toolId, jti, expires_at: expiresAt })
    .onConflict((oc) => oc.columns(['tool_id', 'jti']).doNothing())
    .returning('jti')
    .executeTakeFirst();
  return r !== undefined;
}

/** Forgets the jtis of assertions that have expired anyway (a replay of one is refused by its exp). */
export const deleteExpiredJtis = (tx: Tx) => tx.deleteFrom('tool_assertion_jtis').where('expires_at', '<', sql<Date>`now()`).execute();
