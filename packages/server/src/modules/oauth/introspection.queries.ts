import { type Kysely, sql } from 'kysely';
import type { OrganizationStatus, Schema } from '../../db/schema.js';
import type { SecretCheckRow } from '../tools/tools.queries.js';

/** What tenantry_introspect_api_key (sql/introspection.sql) reads past the client's check; null where it did not reach. */
export interface KeyIntrospectionColumns {
  key_id: string | null;
  key_org: string | null;
  key_tool: string | null;
  /** Live by the lookup (neither revoked nor expired). */
  key_found_live: boolean | null;
  /** The key's state as its own context reads it. */
  key_org_status: OrganizationStatus | null;
  key_live: boolean | null;
  key_scopes: string[] | null;
  key_expires_at: Date | null;
  /** The tool's standing as its own context in the key's organization reads it. */
  standing_tool_status: 'active' | 'disabled' | null;
  standing_org_status: OrganizationStatus | null;
  enablement_status: 'active' | 'disabled' | null;
}

/** A tool's client secret checked and the API key it asks about read, as one statement; undefined for an unknown client. */
export const introspectKeyStatement = async (
  db: Kysely<Schema>,
  clientId: string,
  secretHash: Buffer,
  keyId: string,
  keyHash: Buffer,
): Promise<(SecretCheckRow & KeyIntrospectionColumns) | undefined> =>
  (
    await sql<SecretCheckRow & KeyIntrospectionColumns>`
      select * from tenantry_introspect_api_key(${clientId}, ${secretHash}, ${keyId}, ${keyHash})`.execute(db)
  ).rows[0];
