import { Type } from '@sinclair/typebox';
import { closed, Uuid } from '../../http/schemas.js';

const EmailedToken = Type.String({ minLength: 1, maxLength: 200, description: 'The token from the emailed link' });

export const VerifyEmailBody = closed({ token: EmailedToken }, { title: 'VerifyEmailBody' });

export const EmailVerified = Type.Object(
  { user_id: Uuid, email: Type.String(), email_verified: Type.Literal(true) },
  { $id: 'EmailVerified', title: 'EmailVerified', description: "The account's address, now verified" },
);

export const PasswordResetRequestBody = closed(
  { email: Type.String({ minLength: 3, maxLength: 320, description: 'The address of the account' }) },
  { title: 'PasswordResetRequestBody' },
);

export const PasswordResetBody = closed(
  { token: EmailedToken, password: Type.String({ minLength: 12, maxLength: 256 }) },
  { title: 'PasswordResetBody' },
);

export const DeleteMeBody = closed({ current_password: Type.String({ minLength: 1, maxLength: 256 }) }, { title: 'DeleteMeBody' });

/** The response of a route that answers 202 with no body. */
export const Accepted = (description: string) => Type.Null({ description });
