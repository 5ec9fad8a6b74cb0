import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import { uuidv7 } from '../../db/ids.js';
import type { Role } from '../../db/schema.js';
import type { Tx } from '../../db/tenant-context.js';
import { AppError, OAuthError } from '../../http/errors.js';
import { organizationSuspended } from '../access/gate.js';
import { type Principal, SYSTEM_ACTOR } from '../access/principal.js';
import { anonymous, asUserWithoutSession, inUserContext, switchToOrganization, tokenScopeIn } from '../access/transactions.js';
import { type RequestMeta, record } from '../audit/audit.js';
import type { AccessTokens } from '../oauth/tokens.js';
import { hashPassword, verifyPassword } from './passwords.js';
import {
  createSession,
  revokeSession,
  revokeUserSessions,
  rotateRefreshToken,
  sessionOfRefreshToken,
  setSessionOrganization,
} from './sessions.js';
import { canonicalEmail, checkPassword, normalizeEmail, normalizeName } from './users.js';

export interface AuthDeps {
  db: Database;
  tokens: AccessTokens;
  config: Readonly<Config>;
}

export interface TokenResponse {
  access_token: string;
  token_type: 'Bearer';
  expires_in: number;
  refresh_token: string;
  organization_id: string | null;
}

interface Issued {
  userId: string;
  sessionId: string;
  refreshToken: string;
  org: { id: string; role: Role } | null;
}

async function respond(deps: AuthDeps, s: Issued): Promise<TokenResponse> {
  const { token, expiresIn } = await deps.tokens.issue({ userId: s.userId, sessionId: s.sessionId, org: s.org });
  return {
    access_token: token,
    token_type: 'Bearer',
    expires_in: expiresIn,
    refresh_token: s.refreshToken,
    organization_id: s.org?.id ?? null,
  };
}

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
    const inserted = await tx
      .insertInto('users')
      .values({ id, email, name, password_hash: passwordHash })
      .onConflict((oc) => oc.column('email').doNothing())
      .returning('id')
      .executeTakeFirst();
    if (!inserted) throw new AppError('EMAIL_TAKEN');
    const orgId = andThen ? await andThen(tx, { id, email }) : null;
    return startSession(deps, tx, id, orgId);
  });
  return { tokens: await respond(deps, issued), user: { id, email, name } };
}

export async function login(deps: AuthDeps, input: { email: string; password: string; organization_id?: string | undefined }) {
  const email = canonicalEmail(input.email);
  const user = await anonymous(deps.db, (tx) =>
    tx.selectFrom('users').select(['id', 'password_hash']).where('email', '=', email).executeTakeFirst(),
  );
  // Same work and the same answer for an unknown email and a wrong password.
  const ok = await verifyPassword(user?.password_hash, input.password);
  if (!ok || !user) throw new AppError('INVALID_CREDENTIALS');
  const issued = await asUserWithoutSession(deps.db, user.id, (tx) => startSession(deps, tx, user.id, input.organization_id ?? null));
  return respond(deps, issued);
}

const invalidGrant = (d = 'The refresh token is invalid, expired or revoked') => new OAuthError('invalid_grant', d);

export async function refresh(
  deps: AuthDeps,
  input: { refreshToken: string; organizationId?: string | undefined; clientId?: string | undefined },
  meta: RequestMeta,
) {
  if (input.clientId !== undefined && input.clientId !== deps.config.clientId)
    throw invalidGrant('The refresh token was not issued to this client');
  const outcome = await anonymous(deps.db, async (tx) => {
    const r = await rotateRefreshToken(tx, input.refreshToken);
    if (r.kind === 'reused') {
      if (r.organizationId) {
        // Theft is worth telling the organization the session was scoped to.
        await switchToOrganization(tx, r.organizationId, null);
        await record(tx, {
          organizationId: r.organizationId,
          actor: SYSTEM_ACTOR,
          action: 'session.refresh_reuse_detected',
          target: { type: 'session', id: r.sessionId },
          data: { user_id: r.userId },
          meta,
        });
      }
      return { error: invalidGrant('The refresh token was already used; the session has been ended') };
    }
    if (r.kind === 'invalid') return { error: invalidGrant() };
    if (r.clientId !== deps.config.clientId) throw invalidGrant('The refresh token was not issued to this client');
    const target = input.organizationId ?? r.organizationId;
    let org: Issued['org'] = null;
    if (target) {
      const m = await tokenScopeIn(tx, target, r.userId);
      // Rolls back: the presented token stays usable when the switch is refused.
      if ('problem' in m)
        throw invalidGrant(m.problem === 'suspended' ? 'The organization is suspended' : 'Not a member of that organization');
      org = { id: target, role: m.role };
    }
    if (target !== r.organizationId) await setSessionOrganization(tx, r.sessionId, target);
    return { issued: { userId: r.userId, sessionId: r.sessionId, refreshToken: r.refreshToken, org } satisfies Issued };
  });
  if ('error' in outcome) throw outcome.error;
  return respond(deps, outcome.issued);
}

/** RFC 7009: ends the session of a refresh or access token; unknown tokens are not an error. */
export async function revoke(deps: AuthDeps, token: string): Promise<void> {
  let sessionId: string | undefined;
  if (token.split('.').length === 3) {
    sessionId = await deps.tokens.verify(token).then(
      (p) => p.sessionId,
      () => undefined,
    );
  }
  await anonymous(deps.db, async (tx) => {
    sessionId ??= await sessionOfRefreshToken(tx, token);
    if (sessionId) await revokeSession(tx, sessionId, 'logout');
  });
}

export interface Me {
  id: string;
  email: string;
  name: string;
  platform_role: 'platform_admin' | null;
  memberships: Array<{ organization_id: string; name: string; slug: string; role: Role }>;
}

async function readMe(tx: Tx, userId: string): Promise<Me> {
  const user = await tx
    .selectFrom('users')
    .select(['id', 'email', 'name', 'platform_role'])
    .where('id', '=', userId)
    .executeTakeFirstOrThrow();
  const memberships = await tx
    .selectFrom('memberships as m')
    .innerJoin('organizations as o', 'o.id', 'm.organization_id')
    .select(['m.organization_id', 'o.name', 'o.slug', 'm.role'])
    .where('m.user_id', '=', userId)
    .where('o.status', '<>', 'archived')
    .orderBy('o.name')
    .orderBy('o.id')
    .execute();
  return { ...user, memberships };
}

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
    const stored = await inUserContext(deps.db, p, (tx) =>
      tx.selectFrom('users').select('password_hash').where('id', '=', p.userId).executeTakeFirstOrThrow(),
    );
    if (!(await verifyPassword(stored.password_hash, patch.current_password)))
      throw new AppError('INVALID_CREDENTIALS', 'The current password is wrong');
    passwordHash = await hashPassword(patch.password);
  }
  return inUserContext(deps.db, p, async (tx) => {
    if (name !== undefined || passwordHash !== undefined) {
      await tx
        .updateTable('users')
        .set({ ...(name !== undefined ? { name } : {}), ...(passwordHash ? { password_hash: passwordHash } : {}), updated_at: new Date() })
        .where('id', '=', p.userId)
        .execute();
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
    const row = await tx
      .insertInto('users')
      .values({
        id: uuidv7(),
        email,
        name: email.split('@')[0]!.slice(0, 120) || 'Admin',
        password_hash: passwordHash,
        platform_role: 'platform_admin',
      })
      .onConflict((oc) =>
        oc.column('email').doUpdateSet({ password_hash: passwordHash, platform_role: 'platform_admin', updated_at: new Date() }),
      )
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  });
}
