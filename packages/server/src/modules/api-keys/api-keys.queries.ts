import { type Kysely, sql } from 'kysely';
import type { Schema } from '../../db/schema.js';
import type { Tx } from '../../db/tenant-context.js';

// All SQL of API keys. The request role never reads key_hash: a presented key is
// compared by tenantry_api_key_of() (sql/api-keys.sql).

/** The audience of the tool a key is for (null: none), as the list shows it. */
const audience = sql<string | null>`(select t.audience from tools t where t.id = api_keys.tool_id)`.as('audience');

const COLUMNS = [
  'id',
  'name',
  'start',
  'scopes',
  'tool_id',
  'created_by',
  'created_at',
  'expires_at',
  'last_used_at',
  'revoked_at',
  'replaced_by',
] as const;

const apiKeys = (tx: Tx) => tx.selectFrom('api_keys').select(COLUMNS).select(audience);

export const findApiKey = (tx: Tx, orgId: string, id: string) =>
  apiKeys(tx).where('organization_id', '=', orgId).where('id', '=', id).executeTakeFirst();

/** The key locked, so a concurrent revoke and rotate of one key queue here. */
export const lockApiKey = (tx: Tx, orgId: string, id: string) =>
  apiKeys(tx)
    .select(sql<boolean>`revoked_at is null and (expires_at is null or expires_at > now())`.as('live'))
    .where('organization_id', '=', orgId)
    .where('id', '=', id)
    .forUpdate()
    .executeTakeFirst();

export function listApiKeys(tx: Tx, orgId: string, f: { after?: string | undefined; limit: number }) {
  let q = apiKeys(tx)
    .where('organization_id', '=', orgId)
    .orderBy('id')
    .limit(f.limit + 1);
  if (f.after) q = q.where('id', '>', f.after);
  return q.execute();
}

export interface NewApiKeyRow {
  organization_id: string;
  id: string;
  key_id: string;
  key_hash: Buffer;
  start: string;
  name: string;
  scopes: string[];
  tool_id: string | null;
  created_by: string;
}

/** Expiry as seconds from now (database clock), or an absolute time carried over from a rotated key. */
export type Expiry = { inSeconds: number } | { at: Date | null };

export const insertApiKey = (tx: Tx, row: NewApiKeyRow, expiry: Expiry) =>
  tx
    .insertInto('api_keys')
    .values({
      ...row,
      expires_at: 'inSeconds' in expiry ? sql<Date>`now() + make_interval(secs => ${expiry.inSeconds})` : expiry.at,
    })
    .returning(COLUMNS)
    .returning(audience)
    .executeTakeFirstOrThrow();

export const markRevoked = (tx: Tx, orgId: string, id: string) =>
  tx
    .updateTable('api_keys')
    .set({ revoked_at: sql<Date>`now()` })
    .where('organization_id', '=', orgId)
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .executeTakeFirst();

/** A rotated key ends after `graceSeconds` (or at its own expiry, if sooner), replaced by `by`. */
export const markRotated = (tx: Tx, orgId: string, id: string, by: string, graceSeconds: number) =>
  tx
    .updateTable('api_keys')
    .set({
      replaced_by: by,
      expires_at: sql<Date>`least(coalesce(expires_at, 'infinity'), now() + make_interval(secs => ${graceSeconds}))`,
    })
    .where('organization_id', '=', orgId)
    .where('id', '=', id)
    .returning(['expires_at'])
    .executeTakeFirstOrThrow();

/**
 * Marks a key used, unless it was marked less than a minute ago (by any instance): at
 * most one write a minute per key, whatever the request rate.
 */
export const touchApiKey = (tx: Tx, orgId: string, id: string) =>
  tx
    .updateTable('api_keys')
    .set({ last_used_at: sql<Date>`now()` })
    .where('organization_id', '=', orgId)
    .where('id', '=', id)
    .where((eb) => eb.or([eb('last_used_at', 'is', null), eb('last_used_at', '<', sql<Date>`now() - interval '1 minute'`)]))
    .execute();

/**
 * The tools an organization may give keys for: active tools enabled (and not disabled)
 * here, each with its audience and scope catalogue.
 */
export const enabledTools = (tx: Tx, orgId: string) =>
  tx
    .selectFrom('organization_tools as ot')
    .innerJoin('tools as t', 't.id', 'ot.tool_id')
    .select(['t.id', 't.audience', 't.scopes'])
    .where('ot.organization_id', '=', orgId)
    .where('ot.status', '=', 'active')
    .where('t.status', '=', 'active')
    .execute();

/** A presented key by key id and keyed hash (tenantry_api_key_of, across organizations): no row when none has both. */
export const apiKeyOf = async (tx: Tx, keyId: string, hash: Buffer) =>
  (
    await sql<{
      organization_id: string;
      id: string;
      tool_id: string | null;
      live: boolean;
    }>`select organization_id, id, tool_id, live from tenantry_api_key_of(${keyId}, ${hash})`.execute(tx)
  ).rows[0];

// The server secret, when API_KEY_SECRET is not set: read and written as the connecting
// user (no request role has any privilege on api_key_secrets).

export const readServerSecret = async (db: Kysely<Schema>) =>
  (await db.selectFrom('api_key_secrets').select('secret').where('id', '=', 1).executeTakeFirst())?.secret;

export const insertServerSecret = (db: Kysely<Schema>, secret: Buffer) =>
  db
    .insertInto('api_key_secrets')
    .values({ id: 1, secret })
    .onConflict((oc) => oc.doNothing())
    .execute();
