import { Type } from '@sinclair/typebox';
import { closed, Page, Timestamp, Uuid } from '../../http/schemas.js';
import { RoleName } from '../access/access.schemas.js';

/**
 * A member as every response returns it. The database renders it, once, into each
 * membership's stored entry (sql/member-entry.sql, tenantry_member_entry): a change of
 * shape here is a change there, which the migrator re-renders into every entry.
 */
export const Member = Type.Object(
  { user_id: Uuid, email: Type.String(), name: Type.String(), role: RoleName, joined_at: Timestamp },
  { $id: 'Member', title: 'Member', additionalProperties: false },
);
export const MemberPage = Page('MemberPage', Member);
export const MemberParams = Type.Object({ org_id: Uuid, user_id: Uuid });
export const ChangeRoleBody = closed({ role: RoleName });
