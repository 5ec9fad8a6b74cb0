import { Type } from '@sinclair/typebox';
import { closed, ref, Uuid } from '../../http/schemas.js';
import { RoleName } from '../access/access.schemas.js';
import { TokenResponse } from '../oauth/oauth.schemas.js';

// Raw sizes are bounded here; the finer rules (trimming, normalisation) live in users.ts.
const Email = Type.String({ minLength: 3, maxLength: 320, description: 'Trimmed and lower-cased; at most 254 characters' });
const Password = Type.String({ minLength: 12, maxLength: 256 });
const Name = Type.String({ minLength: 1, maxLength: 200, description: '1 to 120 characters, no control characters' });

export const User = Type.Object({ id: Uuid, email: Type.String(), name: Type.String() }, { $id: 'User', title: 'User' });

export const SignupBody = closed({
  email: Email,
  password: Password,
  name: Name,
  invitation_token: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'Join the inviting organization; the email must be the invited one' }),
  ),
});
export const SignupResponse = Type.Composite([TokenResponse, Type.Object({ user: ref(User) })], {
  $id: 'SignupResponse',
  title: 'SignupResponse',
});

export const LoginBody = closed({
  email: Email,
  password: Type.String({ minLength: 1, maxLength: 256 }),
  organization_id: Type.Optional(Uuid),
});

export const Membership = Type.Object(
  { organization_id: Uuid, name: Type.String(), slug: Type.String(), role: RoleName },
  { $id: 'Membership', title: 'Membership' },
);

export const Me = Type.Object(
  {
    id: Uuid,
    email: Type.String(),
    name: Type.String(),
    platform_role: Type.Union([Type.Literal('platform_admin'), Type.Null()]),
    email_verified: Type.Boolean(),
    memberships: Type.Array(ref(Membership)),
  },
  { $id: 'Me', title: 'Me' },
);

export const PatchMeBody = closed(
  {
    name: Type.Optional(Name),
    email: Type.Optional(
      Type.String({
        minLength: 3,
        maxLength: 320,
        description: 'A new address: it receives a link, and the account switches to it once the link is used',
      }),
    ),
    password: Type.Optional(Password),
    current_password: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { minProperties: 1 },
);
