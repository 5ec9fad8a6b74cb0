import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { uuidv7 } from '../../db/ids.js';
import type { Tx } from '../../db/tenant-context.js';
import { switchToUser } from '../access/transactions.js';

// Sessions and their refresh tokens. A session is one login; each refresh rotates
// its token, and every token of a session is one family: reuse revokes the family.

const REFRESH_PREFIX = 'rt_';

export const hashToken = (token: string): Buffer => createHash('sha256').update(token).digest();

/** 256 random bits, shown once; only its hash is stored. */
const newRefreshToken = () => REFRESH_PREFIX + randomBytes(32).toString('base64url');

/** Anything else cannot be one of ours: no lookup needed. */
const hasRefreshShape = (token: string) => token.startsWith(REFRESH_PREFIX) && token.length <= 100;

export async function createSession(
  tx: Tx,
  s: { userId: string; clientId: string; organizationId: string | null; lifetimeSeconds: number },
): Promise<{ sessionId: string; refreshToken: string }> {
  const sessionId = uuidv7();
  await tx
    .insertInto('sessions')
    .values({
      id: sessionId,
      user_id: s.userId,
      client_id: s.clientId,
      active_organization_id: s.organizationId,
      expires_at: sql<Date>`now() + make_interval(secs => ${s.lifetimeSeconds})`,
    })
    .execute();
  return { sessionId, refreshToken: await addRefreshToken(tx, sessionId) };
}

async function addRefreshToken(tx: Tx, sessionId: string): Promise<string> {
  const token = newRefreshToken();
  await tx
    .insertInto('refresh_tokens')
    .values({ token_hash: hashToken(token), session_id: sessionId })
    .execute();
  return token;
}

export type Rotation =
  | { kind: 'rotated'; sessionId: string; userId: string; clientId: string; organizationId: string | null; refreshToken: string }
  | { kind: 'reused'; sessionId: string; userId: string; organizationId: string | null }
  | { kind: 'invalid' };

/**
 * Uses a refresh token once. The conditional UPDATE lets exactly one of two
 * concurrent presentations win; presenting a used token revokes the whole session.
 */
export async function rotateRefreshToken(tx: Tx, token: string): Promise<Rotation> {
  if (!hasRefreshShape(token)) return { kind: 'invalid' };
  const presented = await presentRefreshToken(tx, token, true);
  if (!presented) return { kind: 'invalid' };
  const { sessionId, usedNow: used } = presented;

  const session = await tx
    .selectFrom('sessions')
    .select(['id', 'user_id', 'client_id', 'active_organization_id'])
    .select(sql<boolean>`revoked_at is null and expires_at > now()`.as('live'))
    .where('id', '=', sessionId)
    .forUpdate()
    .executeTakeFirstOrThrow();
  if (!used) {
    if (session.live) await revokeSession(tx, sessionId, 'refresh_token_reuse');
    return { kind: 'reused', sessionId, userId: session.user_id, organizationId: session.active_organization_id };
  }
  if (!session.live) return { kind: 'invalid' };
  return {
    kind: 'rotated',
    sessionId,
    userId: session.user_id,
    clientId: session.client_id,
    organizationId: session.active_organization_id,
    refreshToken: await addRefreshToken(tx, sessionId),
  };
}

export async function setSessionOrganization(tx: Tx, sessionId: string, organizationId: string | null) {
  await tx.updateTable('sessions').set({ active_organization_id: organizationId }).where('id', '=', sessionId).execute();
}

/** A session that was just ended, with the organization it was scoped to (for its session.revoked event). */
export interface RevokedSession {
  id: string;
  user_id: string;
  active_organization_id: string | null;
}

/** Live sessions matching `match`, ended with `reason`. */
async function revokeWhere(
  tx: Tx,
  reason: string,
  match: { id?: string; userId?: string; except?: string; organizationId?: string },
): Promise<RevokedSession[]> {
  let q = tx.updateTable('sessions').set({ revoked_at: sql<Date>`now()`, revoked_reason: reason }).where('revoked_at', 'is', null);
  if (match.id) q = q.where('id', '=', match.id);
  if (match.userId) q = q.where('user_id', '=', match.userId);
  if (match.except) q = q.where('id', '<>', match.except);
  if (match.organizationId) q = q.where('active_organization_id', '=', match.organizationId);
  return q.returning(['id', 'user_id', 'active_organization_id']).execute();
}

export const revokeSession = (tx: Tx, sessionId: string, reason: string) => revokeWhere(tx, reason, { id: sessionId });

/** Ends a user's sessions, all of them or those scoped to one organization, optionally sparing one. */
export const revokeUserSessions = (tx: Tx, userId: string, reason: string, opts: { except?: string; organizationId?: string } = {}) =>
  revokeWhere(tx, reason, { userId, ...opts });

/** Ends every session scoped to an organization (suspension, archiving). */
export const revokeOrganizationSessions = (tx: Tx, organizationId: string, reason: string) => revokeWhere(tx, reason, { organizationId });

/**
 * Looks a presented refresh token up (and with `use`, uses it up) through
 * tenantry_refresh_token() (sql/credentials.sql), then moves the transaction to the
 * session's user: no request role reads refresh token hashes, and a user context sees
 * only its own sessions (sql/policies/sessions.sql).
 */
async function presentRefreshToken(tx: Tx, token: string, use: boolean) {
  const { rows } = await sql<{ session_id: string; user_id: string; used_now: boolean }>`
    select * from tenantry_refresh_token(${hashToken(token)}, ${use})`.execute(tx);
  const row = rows[0];
  if (!row) return undefined;
  await switchToUser(tx, row.user_id);
  return { sessionId: row.session_id, userId: row.user_id, usedNow: row.used_now };
}

/** The session a refresh token belongs to, used or not (revocation by refresh token); the transaction moves to its user. */
export async function sessionOfRefreshToken(tx: Tx, token: string): Promise<string | undefined> {
  if (!hasRefreshShape(token)) return undefined;
  return (await presentRefreshToken(tx, token, false))?.sessionId;
}
