import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import type { Database } from '../../db/database.js';
import { uuidv7 } from '../../db/ids.js';
import type { Role } from '../../db/schema.js';
import type { Tx } from '../../db/tenant-context.js';
import { switchToUser } from '../access/transactions.js';
import type { RequestMeta } from '../audit/audit.js';

// Sessions and their refresh tokens. A session is one login; each refresh rotates
// its token, and every token of a session is one family: reuse revokes the family.

const REFRESH_PREFIX = 'rt_';

export const hashToken = (token: string): Buffer => createHash('sha256').update(token).digest();

/**
 * 256 random bits after the session's id, shown once; only its hash is stored. The id comes
 * first so that the session's refresh limit can be read before the refresh's one statement:
 * it is trusted only once the hash of the whole token has matched a token of that session.
 */
const newRefreshToken = (sessionId: string) =>
  REFRESH_PREFIX + Buffer.from(sessionId.replaceAll('-', ''), 'hex').toString('base64url') + randomBytes(32).toString('base64url');

const SESSION_ID_CHARS = 22; // 16 bytes in base64url
const NAMING_TOKEN_LENGTH = REFRESH_PREFIX.length + SESSION_ID_CHARS + 43;

/** The session a refresh token names, unverified; null for a token issued before tokens named one. */
export function sessionNamedBy(token: string): string | null {
  if (token.length !== NAMING_TOKEN_LENGTH) return null;
  const hex = Buffer.from(token.slice(REFRESH_PREFIX.length, REFRESH_PREFIX.length + SESSION_ID_CHARS), 'base64url').toString('hex');
  if (hex.length !== 32) return null;
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

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
  const token = newRefreshToken(sessionId);
  await tx
    .insertInto('refresh_tokens')
    .values({ token_hash: hashToken(token), session_id: sessionId })
    .execute();
  return token;
}

/** A refusal the rotation decided before it used anything: the presented token stays usable. */
export type RotationRefusal = 'wrong_client' | 'rate_limited' | 'not_member' | 'suspended' | 'invalid_target';

export type Rotation =
  | {
      kind: 'rotated';
      sessionId: string;
      userId: string;
      refreshToken: string;
      /** The organization the new token is scoped to, and the user's role there; null for none. */
      org: { id: string; role: Role } | null;
    }
  | { kind: 'reused' | RotationRefusal; sessionId: string }
  | { kind: 'invalid' };

/** Anything else cannot be one of ours: refused before any statement. */
export const looksLikeRefreshToken = hasRefreshShape;

interface RotationRow {
  kind: Rotation['kind'];
  sid: string | null;
  uid: string | null;
  session_org: string | null;
  target_org: string | null;
  member_role: Role | null;
}

/**
 * Uses a refresh token once and stores its successor, in one autocommit statement
 * (sql/sessions.sql), which decides every refusal before it writes anything. The
 * conditional UPDATE lets exactly one of two concurrent presentations win. Presenting a
 * used token is 'reused': the statement ends the session and tells its organization.
 * `sessionId` is the session the token names (sessionNamedBy, or looked up first for a token
 * from before tokens named it), which its successor names too; the statement refuses a token
 * that is not that session's.
 */
export async function rotateRefreshToken(
  db: Database,
  token: string,
  sessionId: string,
  r: { clientId: string; limited: boolean; organizationId: string | null; audience: string | null; meta: RequestMeta },
): Promise<Rotation> {
  const next = newRefreshToken(sessionId);
  // The ids of a reuse's audit event and event row, should the token turn out to be used.
  const { rows } = await sql<RotationRow>`
    select * from tenantry_rotate_refresh_token(${hashToken(token)}, ${hashToken(next)}, ${sessionId}::uuid, ${r.clientId},
      ${r.limited}, ${r.organizationId}::uuid, ${r.audience}, ${r.meta.ip}, ${r.meta.requestId}, ${uuidv7()}::uuid, ${uuidv7()}::uuid)`.execute(
    db.kysely,
  );
  const row = rows[0]!;
  switch (row.kind) {
    case 'invalid':
      return { kind: 'invalid' };
    case 'rotated':
      return {
        kind: 'rotated',
        sessionId: row.sid!,
        userId: row.uid!,
        refreshToken: next,
        org: row.target_org === null ? null : { id: row.target_org, role: row.member_role! },
      };
    default:
      return { kind: row.kind, sessionId: row.sid! };
  }
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
