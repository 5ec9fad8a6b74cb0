// Row types of the platform-tool tables (migration 060), merged into the schema.
import type { ColumnType } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export type ToolStatus = 'active' | 'disabled';
export type CredentialType = 'client_secret' | 'private_key_jwt';

/** One entry of a tool's scope catalogue. */
export interface ToolScope {
  name: string;
  description: string;
  shareable: boolean;
  /** The Tenantry permission a user must hold for the scope to be delegated on their behalf. */
  requires: string;
}

export interface ToolsTable {
  id: string;
  slug: string;
  name: string;
  description: string;
  client_id: ColumnType<string, string, never>;
  audience: string;
  status: ColumnType<ToolStatus, ToolStatus | undefined, ToolStatus>;
  scopes: ColumnType<ToolScope[], string, string>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface ToolCredentialsTable {
  id: string;
  tool_id: string;
  type: CredentialType;
  secret_hash: ColumnType<Buffer | null, Buffer | null, never>;
  hint: string;
  jwks: ColumnType<Record<string, unknown> | null, string | null, never>;
  created_at: CreatedAt;
  last_used_at: ColumnType<Date | null, never, Date | string>;
  expires_at: ColumnType<Date | null, Date | string | null | undefined, never>;
  revoked_at: ColumnType<Date | null, never, Date | string>;
}

export interface ToolAssertionJtisTable {
  tool_id: string;
  jti: string;
  expires_at: ColumnType<Date, Date | string, never>;
}

export type EnablementStatus = 'active' | 'disabled';

export interface OrganizationToolsTable {
  organization_id: string;
  tool_id: string;
  status: ColumnType<EnablementStatus, EnablementStatus | undefined, EnablementStatus>;
  scopes: string[];
  enabled_by: string | null;
  enabled_at: ColumnType<Date, Date | string | undefined, Date | string>;
  updated_at: UpdatedAt;
}

export interface PlatformAuditEventsTable {
  id: string;
  actor_type: string;
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  data: ColumnType<Record<string, unknown>, string, never>;
  ip: string | null;
  request_id: string | null;
  occurred_at: ColumnType<Date, never, never>;
}

declare module '../../db/schema.js' {
  interface Schema {
    tools: ToolsTable;
    tool_credentials: ToolCredentialsTable;
    tool_assertion_jtis: ToolAssertionJtisTable;
    organization_tools: OrganizationToolsTable;
    platform_audit_events: PlatformAuditEventsTable;
  }
}
