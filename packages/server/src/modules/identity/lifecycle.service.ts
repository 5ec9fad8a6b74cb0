import { randomBytes } from 'node:crypto';
import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import type { AccountTokenPurpose } from '../../db/schema.js';
import type { Tx } from '../../db/tenant-context.js';
import { AppError } from '../../http/errors.js';
import { addressKey, type CredentialLimits } from '../../http/rate-limit.js';
import type { Caller } from '../access/gate.js';
import { actorOf, type UserPrincipal, userOf } from '../access/principal.js';
import { anonymous, inUserContext, switchToOrganization, switchToUser } from '../access/transactions.js';
import { record } from '../audit/audit.js';
import { enqueueEmail } from '../mail/outbox.js';
import { deleteMember, lockMembers } from '../members/members.queries.js';
import {
  deleteUser,
  emailInUse,
  findEmailState,
  findUserIdByEmail,
  insertAccountToken,
  insertResetTokenWithEmail,
  listMembershipOrganizations,
  lockEmail,
  markEmailVerified,
  presentToken,
  setPasswordFromMailbox,
  switchEmail,
  useAccountToken,
  useUpTokens,
} from './account-tokens.queries.js';
import { checkCurrentPassword } from './current-password.js';
import { emailChangedNotice, emailChangeEmail, passwordResetEmail, verificationEmail } from './lifecycle-email.js';
import { hashPassword } from './passwords.js';
import { hashToken, revokeUserSessions } from './sessions.js';
import { canonicalEmail, checkPassword, normalizeEmail } from './users.js';

// The account lifecycle (SPEC §3b): email verification, password reset, email change
// and account deletion. Each emailed token proves one mailbox, once, for a while.

export interface LifecycleDeps {
  db: Database;
  config: Readonly<Config>;
}

const LIFETIME_SECONDS: Record<AccountTokenPurpose, number> = {
  verify_email: 24 * 3600,
  change_email: 24 * 3600,
  reset_password: 3600,
};

const TOKEN_PREFIX = 'et_';

/** 256 random bits, sent once by email; only its hash is stored. */
function newAccountToken(purpose: AccountTokenPurpose) {
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  return { token, hash: hashToken(token), expiresAt: new Date(Date.now() + LIFETIME_SECONDS[purpose] * 1000) };
}

/** Anything else cannot be one of ours: refused without a lookup. */
const hasTokenShape = (token: string) => token.startsWith(TOKEN_PREFIX) && token.length <= 100;

const linkTo = (template: string, token: string) => template.replaceAll('{token}', encodeURIComponent(token));

export const tokenInvalid = () => new AppError('TOKEN_INVALID', 'This link is invalid, expired or already used');

/**
 * Uses a presented token once, then moves the transaction to its user. The row is
 * reachable only by presenting the token (sql/policies/account_tokens.sql).
 */
async function useToken(tx: Tx, token: string, purposes: AccountTokenPurpose[]) {
  if (!hasTokenShape(token)) throw tokenInvalid();
  const hash = hashToken(token);
  await presentToken(tx, hash);
  const used = await useAccountToken(tx, hash, purposes);
  if (!used) throw tokenInvalid();
  await switchToUser(tx, used.user_id);
  return used;
}

/** Emails the signed-in user a verification link; nothing when the address is verified already. */
export async function requestEmailVerification(deps: LifecycleDeps, p: UserPrincipal): Promise<void> {
  const t = newAccountToken('verify_email');
  await inUserContext(deps.db, p, async (tx) => {
    const me = await findEmailState(tx, p.userId);
    if (me.email_verified) return;
    await insertAccountToken(tx, { hash: t.hash, userId: p.userId, purpose: 'verify_email', email: me.email, expiresAt: t.expiresAt });
    await enqueueEmail(tx, verificationEmail(me.email, linkTo(deps.config.verifyEmailUrl, t.token), t.expiresAt));
  });
}

/**
 * Verifies the address a token was sent to: the account's own (verification), or a new
 * one (email change), which the account then switches to, telling the old address.
 */
export async function verifyEmail(deps: LifecycleDeps, token: string) {
  return anonymous(deps.db, async (tx) => {
    const used = await useToken(tx, token, ['verify_email', 'change_email']);
    if (used.purpose === 'verify_email') {
      // A token sent to an address the account has left proves nothing about it.
      if (!(await markEmailVerified(tx, used.user_id, used.email))) throw tokenInvalid();
    } else {
      const old = await lockEmail(tx, used.user_id);
      try {
        await switchEmail(tx, used.user_id, used.email);
      } catch (err) {
        if ((err as { code?: string }).code === '23505') throw new AppError('EMAIL_TAKEN', 'Another account uses this email address now');
        throw err;
      }
      if (old !== used.email) await enqueueEmail(tx, emailChangedNotice(old, used.email));
    }
    return { user_id: used.user_id, email: used.email, email_verified: true as const };
  });
}

/**
 * Emails a reset link if an account has this address. Known and unknown addresses take
 * the same path: the same token and email are made, and the same statements run, which
 * write nothing when no user was found.
 */
export async function requestPasswordReset(deps: LifecycleDeps, rawEmail: string): Promise<void> {
  const email = normalizeEmail(rawEmail);
  const t = newAccountToken('reset_password');
  const mail = passwordResetEmail(email, linkTo(deps.config.passwordResetUrl, t.token), t.expiresAt);
  await anonymous(deps.db, async (tx) => {
    const user = await findUserIdByEmail(tx, email);
    await switchToUser(tx, user?.id ?? null);
    await insertResetTokenWithEmail(tx, { hash: t.hash, expiresAt: t.expiresAt, mail });
  });
}

/** Sets a new password through a reset link; ends every session and every other reset link of the user. */
export async function resetPassword(deps: LifecycleDeps, token: string, password: string): Promise<void> {
  checkPassword(password);
  if (!hasTokenShape(token)) throw tokenInvalid(); // before the hashing, which costs
  const passwordHash = await hashPassword(password, deps.config.passwordHashing); // before taking a connection
  await anonymous(deps.db, async (tx) => {
    const used = await useToken(tx, token, ['reset_password']);
    if (!(await setPasswordFromMailbox(tx, used.user_id, used.email, passwordHash))) throw tokenInvalid();
    await useUpTokens(tx, used.user_id, 'reset_password');
    await revokeUserSessions(tx, used.user_id, 'password_reset');
  });
}

/**
 * Starts an email change in the caller's transaction (PATCH /v1/me, after its check of
 * the current password): the new address gets a link; the account keeps its address
 * until the link is used.
 */
export async function startEmailChange(tx: Tx, config: Pick<Config, 'verifyEmailUrl'>, userId: string, email: string): Promise<void> {
  const me = await findEmailState(tx, userId);
  if (me.email === email) return;
  if (await emailInUse(tx, email)) throw new AppError('EMAIL_TAKEN');
  const t = newAccountToken('change_email');
  await insertAccountToken(tx, { hash: t.hash, userId, purpose: 'change_email', email, expiresAt: t.expiresAt });
  await enqueueEmail(tx, emailChangeEmail(email, linkTo(config.verifyEmailUrl, t.token), t.expiresAt));
}

const lastOwner = () => new AppError('LAST_OWNER', 'Delete or hand over the organizations you are the last owner of first');

/**
 * Deletes the caller's account: leaves every organization (refused while the last owner
 * of one that is not archived), then deletes the user, and with it their sessions. Each
 * organization's owners are locked as members.queries lockMembers does for leaving, so a
 * concurrent leave or demotion cannot leave an organization without an owner.
 */
export async function deleteAccount(
  deps: LifecycleDeps,
  limits: CredentialLimits,
  caller: Caller,
  ip: string,
  currentPassword: string,
): Promise<void> {
  const p = userOf(caller.principal);
  await checkCurrentPassword(deps.db, limits, p, ip, currentPassword, deps.config.passwordHashing);
  await inUserContext(deps.db, p, async (tx) => {
    const memberships = await listMembershipOrganizations(tx, p.userId);
    for (const m of memberships) {
      await switchToOrganization(tx, m.organization_id, p.userId);
      const rows = await lockMembers(tx, m.organization_id, [p.userId]);
      const role = rows.find((r) => r.user_id === p.userId)?.role;
      if (!role) continue; // removed meanwhile
      const owners = rows.filter((r) => r.role === 'owner').length;
      if (role === 'owner' && owners <= 1 && m.status !== 'archived') throw lastOwner();
      await deleteMember(tx, m.organization_id, p.userId);
      await record(
        tx,
        { organizationId: m.organization_id, actor: actorOf(p), meta: caller.meta },
        { action: 'member.removed', target: { type: 'user', id: p.userId }, data: { role, left: true, account_deleted: true } },
      );
    }
    await switchToUser(tx, p.userId);
    await deleteUser(tx, p.userId);
  });
}

export const emailNotVerified = () =>
  new AppError('EMAIL_NOT_VERIFIED', 'Verify your email address first (POST /v1/auth/verify-email/request)');

/** With REQUIRE_VERIFIED_EMAIL, creating an organization and accepting an invitation need a verified address. */
export async function requireVerifiedEmail(deps: LifecycleDeps, p: UserPrincipal): Promise<void> {
  if (!deps.config.requireVerifiedEmail) return;
  const me = await inUserContext(deps.db, p, (tx) => findEmailState(tx, p.userId));
  if (!me.email_verified) throw emailNotVerified();
}

/** Signup with an invitation token verifies the address: the token arrived at it. */
export const verifiedByInvitation =
  (accept: (tx: Tx, user: { id: string; email: string }) => Promise<string | null>) =>
  async (tx: Tx, user: { id: string; email: string }) => {
    await markEmailVerified(tx, user.id, user.email);
    return accept(tx, user);
  };

/**
 * The limits of a reset request, which any address can ask for: attempts per client
 * address first, then per email, a refusal by the first counting nothing in the second.
 */
export const passwordResetRequestLimits = (config: Pick<Config, 'rateLimit'>, ip: string, rawEmail: string) => [
  { key: `password-reset-request:ip:${addressKey(ip)}`, ...config.rateLimit },
  { key: `password-reset-request:email:${canonicalEmail(rawEmail)}`, ...config.rateLimit },
];
