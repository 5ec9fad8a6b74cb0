import type { Database } from '../../db/database.js';
import { type Entered, type Tx, withTenant } from '../../db/tenant-context.js';
import { type Principal, unauthenticated } from '../oauth/tokens.js';

/** A revoked or expired session is refused here, once for every route. */
export function requireLiveSession(e: Entered): void {
  if (!e.sessionLive) throw unauthenticated('The session has ended');
}

/**
 * A transaction for an authenticated caller, in `orgId` (or in user mode when null).
 * The session check rides on the statement that enters the context, so it costs no
 * round trip.
 */
export function asPrincipal<T>(db: Database, p: Principal, orgId: string | null, fn: (tx: Tx, entered: Entered) => Promise<T>): Promise<T> {
  return withTenant(db, { orgId, userId: p.userId, sessionId: p.sessionId }, async (tx, e) => {
    requireLiveSession(e);
    return fn(tx, e);
  });
}
