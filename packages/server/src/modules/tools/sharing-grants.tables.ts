// Row type of the sharing-grant table (migration 075), merged into the schema.
import type { ColumnType } from 'kysely';
import type { SharingGrantStatus } from './sharing-grants.schemas.js';

type Stamp = ColumnType<Date | null, never, Date | string | null>;

export interface SharingGrantsTable {
  organization_id: string;
  id: string;
  provider_tool_id: string;
  consumer_tool_id: string;
  scopes: string[];
  purpose: string;
  status: ColumnType<SharingGrantStatus, SharingGrantStatus | undefined, SharingGrantStatus>;
  granted_by: string | null;
  created_at: ColumnType<Date, never, never>;
  expires_at: ColumnType<Date | null, Date | string | null | undefined, never>;
  revoked_at: Stamp;
  suspended_at: Stamp;
  token_audited_at: Stamp;
}

declare module '../../db/schema.js' {
  interface Schema {
    sharing_grants: SharingGrantsTable;
  }
}
