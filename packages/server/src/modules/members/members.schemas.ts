import { Type } from '@sinclair/typebox';
import { closed, Timestamp, Uuid } from '../../http/schemas.js';
import { RoleName } from '../access/access.schemas.js';

export const Member = Type.Object(
  { user_id: Uuid, email: Type.String(), name: Type.String(), role: RoleName, joined_at: Timestamp },
  { title: 'Member' },
);
export const MemberParams = Type.Object({ org_id: Uuid, user_id: Uuid });
export const ChangeRoleBody = closed({ role: RoleName });
