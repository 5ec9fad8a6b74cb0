import type { Database } from '../../db/database.js';
import { uuidv7 } from '../../db/ids.js';
import type { Role } from '../../db/schema.js';
import type { Tx } from '../../db/tenant-context.js';
import { AppError } from '../../http/errors.js';
import { organizationSuspended } from '../access/gate.js';
import type { Principal } from '../access/principal.js';
import { anonymous, asUserWithoutSession, inUserContext, tokenScopeIn } from '../access/transactions.js';
import { type AuthDeps, type Issued, type TokenResponse, tokenResponse } from '../oauth/oauth.service.js';
import {
  findCredentials,
  findPasswordHash,
  findProfile,
  insertUser,
  listOwnMemberships,
  updateUser,
  upsertPlatformAdmin,
} from './identity.queries.js';
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

export async function signup(
  deps: AuthDeps,
  input: SignupInput,
  /** Runs in the signup transaction after the user exists (invitation acceptance). Returns the organization to scope to. */
  andThen?: (tx: Tx, user: { id: string; email: string }) => Promise<string | null>,
): Promise<{ tokens: TokenResponse; user: { id: string; email: string; name: string } }> {
  const email = normalizeEmail(input.email);
  const name = normalizeName(input.name);
  const passwordHash = await hashPassword(checkPassword(input.password)); // before taking a connection
  const id = uuidv7();
  const issued = await anonymous(deps.db, async (tx) => {
    if (!(await insertUser(tx, { id, email, name, password_hash: passwordHash }))) throw new AppError('EMAIL_TAKEN');
    const orgId = andThen ? await andThen(tx, { id, email }) : null;
    return startSession(deps, tx, id, orgId);
  });
  return { tokens: await tokenResponse(deps, issued), user: { id, email, name } };
}

export async function login(deps: AuthDeps, input: { email: string; password: string; organization_id?: string | undefined }) {
  const email = canonicalEmail(input.email);
  const user = await anonymous(deps.db, (tx) => findCredentials(tx, email));
  // Same work and the same answer for an unknown email and a wrong password.
  const ok = await verifyPassword(user?.password_hash, input.password);
  if (!ok || !user) throw new AppError('INVALID_CREDENTIALS');
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

export const getMe = (deps: AuthDeps, p: Principal) => inUserContext(deps.db, p, (tx) => readMe(tx, p.userId));

export async function updateMe(deps: AuthDeps, p: Principal, patch: { name?: string; password?: string; current_password?: string }) {
  const name = patch.name === undefined ? undefined : normalizeName(patch.name);
  let passwordHash: string | undefined;
  if (patch.password !== undefined) {
    checkPassword(patch.password);
    if (patch.current_password === undefined) {
      throw new AppError('VALIDATION_FAILED', 'Changing the password needs the current one', [
        { path: '/body/current_password', message: 'is required to change the password' },
      ]);
    }
    const stored = await inUserContext(deps.db, p, (tx) => findPasswordHash(tx, p.userId));
    if (!(await verifyPassword(stored.password_hash, patch.current_password)))
      throw new AppError('INVALID_CREDENTIALS', 'The current password is wrong');
    passwordHash = await hashPassword(patch.password);
  }
  return inUserContext(deps.db, p, async (tx) => {
    if (name !== undefined || passwordHash !== undefined) {
      await updateUser(tx, p.userId, { ...(name !== undefined ? { name } : {}), ...(passwordHash ? { password_hash: passwordHash } : {}) });
    }
    if (passwordHash) await revokeUserSessions(tx, p.userId, 'password_changed', { except: p.sessionId });
    return readMe(tx, p.userId);
  });
}

/** Creates a platform admin, or makes an existing user one with this password (idempotent). */
export async function ensurePlatformAdmin(db: Database, rawEmail: string, password: string): Promise<string> {
  const email = normalizeEmail(rawEmail, 'email');
  const passwordHash = await hashPassword(checkPassword(password, 'password'));
  return anonymous(db, async (tx) => {
    const name = email.split('@')[0]!.slice(0, 120) || 'Admin';
    return (await upsertPlatformAdmin(tx, { id: uuidv7(), email, name, password_hash: passwordHash })).id;
  });
}
