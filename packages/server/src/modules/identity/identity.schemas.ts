import { Type } from '@sinclair/typebox';
import { closed, Uuid } from '../../http/schemas.js';

// Raw sizes are bounded here; the finer rules (trimming, normalisation) live in users.ts.
const Email = Type.String({ minLength: 3, maxLength: 320, description: 'Trimmed and lower-cased; at most 254 characters' });
const Password = Type.String({ minLength: 12, maxLength: 256 });
const Name = Type.String({ minLength: 1, maxLength: 200, description: '1 to 120 characters, no control characters' });
const RoleName = Type.Union([Type.Literal('owner'), Type.Literal('admin'), Type.Literal('member'), Type.Literal('viewer')]);

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
  organization_id: Type.Union([Uuid, Type.Null()]),
});

export const User = Type.Object({ id: Uuid, email: Type.String(), name: Type.String() });

export const SignupBody = closed({
  email: Email,
  password: Password,
  name: Name,
  invitation_token: Type.Optional(
    Type.String({ minLength: 1, maxLength: 200, description: 'Join the inviting organization; the email must be the invited one' }),
  ),
});
export const SignupResponse = Type.Composite([TokenResponse, Type.Object({ user: User })]);

export const LoginBody = closed({
  email: Email,
  password: Type.String({ minLength: 1, maxLength: 256 }),
  organization_id: Type.Optional(Uuid),
});

export const Me = Type.Object({
  id: Uuid,
  email: Type.String(),
  name: Type.String(),
  platform_role: Type.Union([Type.Literal('platform_admin'), Type.Null()]),
  memberships: Type.Array(Type.Object({ organization_id: Uuid, name: Type.String(), slug: Type.String(), role: RoleName })),
});

export const PatchMeBody = closed(
  {
    name: Type.Optional(Name),
    password: Type.Optional(Password),
    current_password: Type.Optional(Type.String({ minLength: 1, maxLength: 256 })),
  },
  { minProperties: 1 },
);

// /oauth/* follow RFC 6749: standard parameters are accepted and unknown ones ignored.
export const TokenRequest = Type.Object({
  grant_type: Type.String({ maxLength: 100 }),
  refresh_token: Type.Optional(Type.String({ maxLength: 1000 })),
  organization_id: Type.Optional(Type.String({ maxLength: 100 })),
  client_id: Type.Optional(Type.String({ maxLength: 200 })),
  scope: Type.Optional(Type.String({ maxLength: 1000 })),
});

export const RevokeRequest = Type.Object({
  token: Type.String({ maxLength: 8192 }),
  token_type_hint: Type.Optional(Type.String({ maxLength: 100 })),
  client_id: Type.Optional(Type.String({ maxLength: 200 })),
});

export const OAuthErrorBody = Type.Object({ error: Type.String(), error_description: Type.Optional(Type.String()) });
