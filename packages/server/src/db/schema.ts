// Row types of the tables, as Kysely sees them.
import type { ColumnType, Generated } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;
type UpdatedAt = ColumnType<Date, Date | string | undefined, Date | string>;

export type Role = 'owner' | 'admin' | 'member' | 'viewer';
export type OrganizationStatus = 'active' | 'suspended' | 'archived';
export type InvitationStatus = 'pending' | 'accepted' | 'revoked' | 'expired';

export interface UsersTable {
  id: string;
  email: string;
  name: string;
  password_hash: string | null;
  platform_role: 'platform_admin' | null;
  email_verified_at: ColumnType<Date | null, Date | string | undefined, Date | string>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface OrganizationsTable {
  id: string;
  name: string;
  slug: string;
  industry: string;
  size: string | null;
  domains: ColumnType<string[], string[] | undefined, string[]>;
  status: ColumnType<OrganizationStatus, OrganizationStatus | undefined, OrganizationStatus>;
  metadata: ColumnType<Record<string, unknown>, string | undefined, string>;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface MembershipsTable {
  organization_id: string;
  user_id: string;
  role: Role;
  created_at: CreatedAt;
  updated_at: UpdatedAt;
}

export interface SigningKeysTable {
  kid: string;
  alg: ColumnType<string, string | undefined, never>;
  public_jwk: ColumnType<Record<string, unknown>, string, never>;
  private_pkcs8: string;
  created_at: CreatedAt;
  retired_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface SessionsTable {
  id: string;
  user_id: string;
  client_id: string;
  active_organization_id: string | null;
  created_at: CreatedAt;
  expires_at: ColumnType<Date, Date, never>;
  revoked_at: ColumnType<Date | null, never, Date | null>;
  revoked_reason: string | null;
}

export interface RefreshTokensTable {
  token_hash: Buffer;
  session_id: string;
  created_at: CreatedAt;
  used_at: ColumnType<Date | null, never, Date | null>;
}

export interface AuditEventsTable {
  organization_id: string;
  id: string;
  actor_type: 'user' | 'platform_admin' | 'system' | 'tool' | 'api_key';
  actor_id: string | null;
  action: string;
  target_type: string | null;
  target_id: string | null;
  data: ColumnType<Record<string, unknown>, string, never>;
  ip: string | null;
  request_id: string | null;
  occurred_at: ColumnType<Date, never, never>;
  /** Set by the chain trigger (sql/audit-chain.sql), whatever an insert says. */
  chain_seq: ColumnType<string | null, never, never>;
  prev_hash: ColumnType<Buffer | null, never, never>;
  hash: ColumnType<Buffer | null, never, never>;
}

export interface AuditChainHeadsTable {
  organization_id: string;
  seq: ColumnType<string, never, never>;
  last_event_id: ColumnType<string | null, never, never>;
  prev_hash: ColumnType<Buffer | null, never, never>;
  hash: ColumnType<Buffer | null, never, never>;
}

export interface AuditSigningKeysTable {
  kid: string;
  public_jwk: ColumnType<Record<string, unknown>, string, never>;
  private_pkcs8: string;
  created_at: CreatedAt;
  retired_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface AuditCheckpointsTable {
  organization_id: string;
  chain_seq: ColumnType<string, string, never>;
  last_event_id: string;
  hash: ColumnType<Buffer, Buffer, never>;
  signed_at: ColumnType<Date, Date, never>;
  kid: string;
  signature: ColumnType<Buffer, Buffer, never>;
}

export interface InvitationsTable {
  organization_id: string;
  id: string;
  email: string;
  role: Role;
  token_hash: Buffer;
  invited_by: string | null;
  status: ColumnType<InvitationStatus, 'pending' | undefined, Exclude<InvitationStatus, 'pending'>>;
  expires_at: ColumnType<Date, Date, never>;
  created_at: CreatedAt;
  accepted_at: ColumnType<Date | null, never, Date>;
  accepted_by: ColumnType<string | null, never, string>;
  revoked_at: ColumnType<Date | null, never, Date>;
}

export type AccountTokenPurpose = 'verify_email' | 'reset_password' | 'change_email';

export interface AccountTokensTable {
  token_hash: Buffer;
  user_id: string;
  purpose: AccountTokenPurpose;
  email: string;
  created_at: CreatedAt;
  expires_at: ColumnType<Date, Date | string, never>;
  used_at: ColumnType<Date | null, never, Date>;
}

export interface EmailOutboxTable {
  id: string;
  recipient: string;
  subject: string;
  text_body: string | null;
  html_body: string | null;
  attempts: ColumnType<number, never, number>;
  next_attempt_at: ColumnType<Date, Date | undefined, Date>;
  last_error: ColumnType<string | null, never, string | null>;
  sent_at: ColumnType<Date | null, never, Date>;
  failed_at: ColumnType<Date | null, never, Date>;
  lease_until: ColumnType<Date | null, never, Date | null>;
  created_at: CreatedAt;
}

export interface ApiKeysTable {
  organization_id: string;
  id: string;
  key_id: ColumnType<string, string, never>;
  key_hash: ColumnType<Buffer, Buffer, never>;
  start: ColumnType<string, string, never>;
  name: ColumnType<string, string, never>;
  scopes: ColumnType<string[], string[], never>;
  tool_id: ColumnType<string | null, string | null, never>;
  created_by: ColumnType<string | null, string, never>;
  created_at: CreatedAt;
  expires_at: ColumnType<Date | null, Date | null | undefined, Date | null>;
  last_used_at: ColumnType<Date | null, never, Date>;
  revoked_at: ColumnType<Date | null, never, Date>;
  replaced_by: ColumnType<string | null, never, string>;
}

export interface ApiKeySecretsTable {
  id: number;
  secret: Buffer;
  created_at: CreatedAt;
}

export interface SchemaMigrationsTable {
  version: number;
  name: string;
  applied_at: Generated<Date>;
  /** sha256 of the file as applied; null for rows recorded before checksums were kept. */
  checksum: string | null;
}

export interface Schema {
  users: UsersTable;
  organizations: OrganizationsTable;
  memberships: MembershipsTable;
  signing_keys: SigningKeysTable;
  sessions: SessionsTable;
  refresh_tokens: RefreshTokensTable;
  audit_events: AuditEventsTable;
  audit_chain_heads: AuditChainHeadsTable;
  audit_signing_keys: AuditSigningKeysTable;
  audit_checkpoints: AuditCheckpointsTable;
  invitations: InvitationsTable;
  email_outbox: EmailOutboxTable;
  account_tokens: AccountTokensTable;
  api_keys: ApiKeysTable;
  api_key_secrets: ApiKeySecretsTable;
  schema_migrations: SchemaMigrationsTable;
}
