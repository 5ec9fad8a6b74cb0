import { Type } from '@sinclair/typebox';
import type { InvitationStatus } from '../../db/schema.js';
import { closed, Page, PageQuery, Timestamp, Uuid } from '../../http/schemas.js';
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
  { $id: 'Invitation', title: 'Invitation' },
);
export const InvitationPage = Page('InvitationPage', Invitation);
export const CreatedInvitation = Type.Composite(
  [
    Invitation,
    Type.Object({
      token: Type.String({ description: 'Shown only here; the invitee accepts with it' }),
      accept_url: Type.String({ description: 'The link the invitation email carries' }),
    }),
  ],
  { $id: 'CreatedInvitation', title: 'CreatedInvitation' },
);

export const CreateInvitationBody = closed({ email: Type.String({ minLength: 3, maxLength: 320 }), role: RoleName });
export const ListInvitationsQuery = Type.Object({ ...PageQuery, status: Type.Optional(Status) });
export const InvitationParams = Type.Object({ org_id: Uuid, invitation_id: Uuid });
export const AcceptInvitationBody = closed({ token: Type.String({ minLength: 1, maxLength: 200 }) });
export const AcceptedInvitation = Type.Object(
  { organization_id: Uuid, role: RoleName },
  { $id: 'AcceptedInvitation', title: 'AcceptedInvitation' },
);
