import { Type } from '@sinclair/typebox';
import { Timestamp, Uuid } from '../../http/schemas.js';
import { ROLES } from './roles.js';

export const RoleName = Type.Unsafe<(typeof ROLES)[number]>({ type: 'string', enum: [...ROLES] });

/**
 * A member as every response returns it. The database renders it, once, into each
 * membership's stored entry (sql/member-entry.sql, tenantry_member_entry): a change of
 * shape here is a change there, which the migrator re-renders into every entry.
 */
export const Member = Type.Object(
  { user_id: Uuid, email: Type.String(), name: Type.String(), role: RoleName, joined_at: Timestamp },
  { title: 'Member', additionalProperties: false },
);
