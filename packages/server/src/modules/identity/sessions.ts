import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { uuidv7 } from '../../db/ids.js';
import { type Entered, type EnteredRow, type Tx, toEntered } from '../../db/tenant-context.js';
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
  | {
      kind: 'rotated';
      sessionId: string;
      userId: string;
      clientId: string;
      /** The organization the session was scoped to before this refresh. */
      organizationId: string | null;
      refreshToken: string;
      /** The user's context in the organization the new token is to be scoped to; null for none. */
      target: Entered | null;
    }
  | { kind: 'reused'; sessionId: string; userId: string; organizationId: string | null }
  | { kind: 'invalid' };

/** Anything else cannot be one of ours: refused before any transaction. */
export const looksLikeRefreshToken = hasRefreshShape;

interface RotationRow extends EnteredRow {
  kind: 'rotated' | 'reused' | 'invalid';
  sid: string | null;
  uid: string | null;
  cid: string | null;
  session_org: string | null;
}

/**
 * Uses a refresh token once and stores its successor, as the first statement of an
 * anonymous transaction (sql/sessions.sql: it enters the context itself). The conditional
 * UPDATE lets exactly one of two concurrent presentations win; presenting a used token
 * revokes the whole session. With `organizationId` (or a session already scoped), the
 * transaction ends up in that organization as the user, and `target` says what they are there.
 */
export async function rotateRefreshToken(tx: Tx, token: string, organizationId: string | null): Promise<Rotation> {
  const next = newRefreshToken();
  const { rows } = await sql<RotationRow>`
    select * from tenantry_rotate_refresh_token(${hashToken(token)}, ${hashToken(next)}, ${organizationId}::uuid)`.execute(tx);
  const r = rows[0]!;
  if (r.kind === 'invalid') return { kind: 'invalid' };
  if (r.kind === 'reused') return { kind: 'reused', sessionId: r.sid!, userId: r.uid!, organizationId: r.session_org };
  return {
    kind: 'rotated',
    sessionId: r.sid!,
    userId: r.uid!,
    clientId: r.cid!,
    organizationId: r.session_org,
    refreshToken: next,
    target: (organizationId ?? r.session_org) === null ? null : toEntered(r),
  };
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
 * Looks a presented refresh token up through tenantry_refresh_token() (sql/credentials.sql), then moves the transaction to the
 * session's user: no request role reads refresh token hashes, and a user context sees
 * only its own sessions (sql/policies/sessions.sql).
 */
async function presentRefreshToken(tx: Tx, token: string) {
  const { rows } = await sql<{ session_id: string; user_id: string }>`
    select session_id, user_id from tenantry_refresh_token(${hashToken(token)}, false)`.execute(tx);
  const row = rows[0];
  if (!row) return undefined;
  await switchToUser(tx, row.user_id);
  return { sessionId: row.session_id, userId: row.user_id };
}

/** The session a refresh token belongs to, used or not (revocation by refresh token); the transaction moves to its user. */
export async function sessionOfRefreshToken(tx: Tx, token: string): Promise<string | undefined> {
  if (!hasRefreshShape(token)) return undefined;
  return (await presentRefreshToken(tx, token))?.sessionId;
}
