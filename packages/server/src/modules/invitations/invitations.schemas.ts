import { Type } from '@sinclair/typebox';
import type { InvitationStatus } from '../../db/schema.js';
import { closed, PageQuery, Timestamp, Uuid } from '../../http/schemas.js';
import { RoleName } from '../access/access.schemas.js';

const Status = Type.Unsafe<InvitationStatus>({
  type: 'string',
  enum: ['pending', 'accepted', 'revoked', 'expired'],
});
export const Invitation = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    role: RoleName,
    status: Status,
    invited_by: Type.Union([Uuid, Type.Null()]),
    expires_at: Timestamp,
    created_at: Timestamp,
  },
  { title: 'Invitation' },
);
export const CreatedInvitation = Type.Composite([Invitation, Type.Object({ token: Type.String(), accept_url: Type.String() })]);

export const CreateInvitationBody = closed({ email: Type.String({ minLength: 3, maxLength: 320 }), role: RoleName });
export const ListInvitationsQuery = Type.Object({ ...PageQuery, status: Type.Optional(Status) });
export const InvitationParams = Type.Object({ org_id: Uuid, invitation_id: Uuid });
export const AcceptInvitationBody = closed({ token: Type.String({ minLength: 1, maxLength: 200 }) });
export const AcceptedInvitation = Type.Object({ organization_id: Uuid, role: RoleName });
