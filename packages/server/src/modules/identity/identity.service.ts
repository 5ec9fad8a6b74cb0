import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import { uuidv7 } from '../../db/ids.js';
import type { Role } from '../../db/schema.js';
import type { Tx } from '../../db/tenant-context.js';
import { AppError } from '../../http/errors.js';
import { addressKey, type CredentialLimits } from '../../http/rate-limit.js';
import { organizationSuspended } from '../access/gate.js';
import type { UserPrincipal } from '../access/principal.js';
import { anonymous, asUserWithoutSession, inUserContext, tokenScopeIn } from '../access/transactions.js';
import { type AuthDeps, type Issued, type TokenResponse, tokenResponse } from '../oauth/oauth.service.js';
import { checkCurrentPassword } from './current-password.js';
import {
  findAdminStanding,
  findCredentials,
  findProfile,
  insertUser,
  listOwnMemberships,
  updateUser,
  upsertPlatformAdmin,
} from './identity.queries.js';
import { startEmailChange } from './lifecycle.service.js';
import { hashPassword, verifyPassword } from './passwords.js';
import { createSession, revokeUserSessions } from './sessions.js';
import { canonicalEmail, checkPassword, normalizeEmail, normalizeName } from './users.js';

async function startSession(deps: AuthDeps, tx: Tx, userId: string, organizationId: string | null): Promise<Issued> {
  let org: Issued['org'] = null;
  if (organizationId) {
    const m = await tokenScopeIn(tx, organizationId, userId);
    if ('problem' in m) throw m.problem === 'suspended' ? organizationSuspended() : new AppError('NOT_FOUND', 'Organization not found');
    org = { id: organizationId, role: m.role };
  }
  const s = await createSession(tx, {
    userId,
    clientId: deps.config.clientId,
    organizationId,
    lifetimeSeconds: deps.config.refreshTokenTtl,
  });
  return { userId, ...s, org };
}

export interface SignupInput {
  email: string;
  password: string;
  name: string;
}

/**
 * Signup answers 409 EMAIL_TAKEN for a registered email (a client needs to say "sign in
 * instead"); what that tells an enumerator is bounded by these limits: attempts per
 * address first, then per email, a refusal by the first counting nothing in the second.
 */
export const signupLimits = (config: Pick<Config, 'rateLimit'>, ip: string, rawEmail: string) => [
  { key: `signup:ip:${addressKey(ip)}`, ...config.rateLimit },
  { key: `signup:email:${canonicalEmail(rawEmail)}`, ...config.rateLimit },
];

export async function signup(
  deps: AuthDeps,
  input: SignupInput,
  /** Runs in the signup transaction after the user exists (invitation acceptance). Returns the organization to scope to. */
  andThen?: (tx: Tx, user: { id: string; email: string }) => Promise<string | null>,
): Promise<{ tokens: TokenResponse; user: { id: string; email: string; name: string } }> {
  const email = normalizeEmail(input.email);
  const name = normalizeName(input.name);
  const passwordHash = await hashPassword(checkPassword(input.password), deps.config.passwordHashing); // before taking a connection
  const id = uuidv7();
  // As the user being created: a user context writes no row but its own (sql/policies/users.sql).
  const issued = await asUserWithoutSession(deps.db, id, async (tx) => {
    if (!(await insertUser(tx, { id, email, name, password_hash: passwordHash }))) throw new AppError('EMAIL_TAKEN');
    const orgId = andThen ? await andThen(tx, { id, email }) : null;
    return startSession(deps, tx, id, orgId);
  });
  return { tokens: await tokenResponse(deps, issued), user: { id, email, name } };
}

export async function login(
  deps: AuthDeps,
  limits: CredentialLimits,
  ip: string,
  input: { email: string; password: string; organization_id?: string | undefined },
) {
  const email = canonicalEmail(input.email);
  // The address first: a request it refuses does not touch the account's budget.
  await limits.attempt('login', ip);
  // Failures are counted per email whether or not an account has it, so the limit does
  // not tell registered emails apart; only failed attempts count, so a refusal is
  // never spent on the account's owner.
  await limits.refuseIfLocked(email);
  const user = await anonymous(deps.db, (tx) => findCredentials(tx, email));
  // Same work and the same answer for an unknown email and a wrong password.
  const ok = await verifyPassword(user?.password_hash, input.password, deps.config.passwordHashing);
  if (!ok || !user) {
    await limits.failed(email);
    throw new AppError('INVALID_CREDENTIALS');
  }
  const issued = await asUserWithoutSession(deps.db, user.id, (tx) => startSession(deps, tx, user.id, input.organization_id ?? null));
  return tokenResponse(deps, issued);
}

export interface Me {
  id: string;
  email: string;
  name: string;
  platform_role: 'platform_admin' | null;
  email_verified: boolean;
  memberships: Array<{ organization_id: string; name: string; slug: string; role: Role }>;
}

const readMe = async (tx: Tx, userId: string): Promise<Me> => ({
  ...(await findProfile(tx, userId)),
  memberships: await listOwnMemberships(tx, userId),
});

export const getMe = (deps: AuthDeps, p: UserPrincipal) => inUserContext(deps.db, p, (tx) => readMe(tx, p.userId));

/** Asks for the current password when a change needs it (a new password or email). */
function requireCurrentPassword(patch: { current_password?: string | undefined }, what: 'password' | 'email'): string {
  if (patch.current_password === undefined) {
    throw new AppError('VALIDATION_FAILED', `Changing the ${what} needs the current password`, [
      { path: '/body/current_password', message: `is required to change the ${what}` },
    ]);
  }
  return patch.current_password;
}

export async function updateMe(
  deps: AuthDeps,
  limits: CredentialLimits,
  p: UserPrincipal,
  ip: string,
  patch: { name?: string; email?: string; password?: string; current_password?: string },
) {
  const name = patch.name === undefined ? undefined : normalizeName(patch.name);
  const email = patch.email === undefined ? undefined : normalizeEmail(patch.email);
  if (patch.password !== undefined) checkPassword(patch.password);
  if (patch.password !== undefined || email !== undefined) {
    // One check for both changes: a request counts once against the limits.
    const current = requireCurrentPassword(patch, patch.password !== undefined ? 'password' : 'email');
    await checkCurrentPassword(deps.db, limits, p, ip, current, deps.config.passwordHashing);
  }
  const passwordHash = patch.password === undefined ? undefined : await hashPassword(patch.password, deps.config.passwordHashing);
  return inUserContext(deps.db, p, async (tx) => {
    // The address changes only once the new one is verified (POST /v1/auth/verify-email).
    if (email !== undefined) await startEmailChange(tx, deps.config, p.userId, email);
    if (name !== undefined || passwordHash !== undefined) {
      await updateUser(tx, p.userId, { ...(name !== undefined ? { name } : {}), ...(passwordHash ? { password_hash: passwordHash } : {}) });
    }
    if (passwordHash) await revokeUserSessions(tx, p.userId, 'password_changed', { except: p.sessionId });
    return readMe(tx, p.userId);
  });
}

/**
 * Creates a platform admin, or makes an existing user one with this password. A change of
 * password or platform role ends every session of the account: tokens issued to the
 * account before are not promoted with it, and a thief of the old password is signed out.
 * Nothing changes (no session ends) when the account already is a platform admin with
 * this password, so the bootstrap at every start is a no-op.
 */
export async function ensurePlatformAdmin(db: Database, rawEmail: string, password: string): Promise<string> {
  const email = normalizeEmail(rawEmail, 'email');
  checkPassword(password, 'password');
  // Run as the database owner, not a request role: no request role may write platform_role.
  const existing = await findAdminStanding(db.kysely, email);
  if (existing && existing.platform_role === 'platform_admin' && (await verifyPassword(existing.password_hash, password))) {
    return existing.id;
  }
  const passwordHash = await hashPassword(password);
  return db.kysely.transaction().execute(async (tx) => {
    const name = email.split('@')[0]!.slice(0, 120) || 'Admin';
    const id = (await upsertPlatformAdmin(tx, { id: uuidv7(), email, name, password_hash: passwordHash })).id;
    await revokeUserSessions(tx, id, 'credentials_changed');
    return id;
  });
}
