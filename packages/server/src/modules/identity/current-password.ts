import type { Database } from '../../db/database.js';
import { AppError } from '../../http/errors.js';
import type { CredentialLimits } from '../../http/rate-limit.js';
import type { Principal } from '../access/principal.js';
import { inUserContext } from '../access/transactions.js';
import { findOwnPasswordHash } from './identity.queries.js';
import { type PasswordHashing, verifyPassword } from './passwords.js';

/**
 * Checks the signed-in user's current password (a password or email change, account
 * deletion) under the same limits as login's, on the same account budget: a stolen
 * access token is no password oracle. The hash is read only through sql/credentials.sql.
 */
export async function checkCurrentPassword(
  db: Database,
  limits: CredentialLimits,
  p: Principal,
  ip: string,
  currentPassword: string,
  hashing: PasswordHashing = 'owasp',
): Promise<void> {
  await limits.attempt('current_password', ip);
  const stored = await inUserContext(db, p, (tx) => findOwnPasswordHash(tx));
  await limits.refuseIfLocked(stored.email);
  if (!(await verifyPassword(stored.password_hash, currentPassword, hashing))) {
    await limits.failed(stored.email);
    throw new AppError('INVALID_CREDENTIALS', 'The current password is wrong');
  }
}
