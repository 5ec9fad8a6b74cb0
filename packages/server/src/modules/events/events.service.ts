import type { Database } from '../../db/database.js';
import { isUuid } from '../../db/ids.js';
import type { Tx } from '../../db/tenant-context.js';
import { AppError, forbidden } from '../../http/errors.js';
import type { Caller } from '../access/gate.js';
import { inOrganization, inUserContext, widenToPlatform } from '../access/transactions.js';
import { type EventPosition, envelopeOf, eventHorizon, listEvents, positionOfEvent } from './events.queries.js';

export interface EventsQuery {
  after?: string | undefined;
  types?: string | undefined;
  limit?: number | undefined;
}

const POSITION = /^(\d{1,20})\.(\d{1,19})$/;
const badAfter = () =>
  new AppError('VALIDATION_FAILED', 'Invalid after', [
    { path: '/query/after', message: 'is neither an event id nor a next_after of this list' },
  ]);

/**
 * `after` is an event id the reader saw, or the `next_after` of a page (which also
 * outlives the event's retention).
 */
async function positionAfter(tx: Tx, after: string | undefined): Promise<EventPosition | undefined> {
  if (after === undefined) return undefined;
  if (isUuid(after)) {
    const p = await positionOfEvent(tx, after);
    if (!p) throw badAfter();
    return p;
  }
  const m = POSITION.exec(after);
  if (!m) throw badAfter();
  return { tx: m[1]!, pos: m[2]! };
}

async function eventPage(tx: Tx, q: EventsQuery, only: { organizationId?: string; toolId?: string } = {}) {
  const limit = q.limit ?? 100;
  const after = await positionAfter(tx, q.after);
  const types = q.types
    ?.split(',')
    .map((t) => t.trim())
    .filter(Boolean);
  const horizon = await eventHorizon(tx);
  const rows = await listEvents(tx, horizon, { ...only, after, types, limit });
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  const last = data[data.length - 1];
  return {
    data: data.map(envelopeOf),
    has_more: more,
    // Where to resume: the last event returned, or where the reader already was.
    next_after: last ? `${last.tx}.${last.pos}` : after ? `${after.tx}.${after.pos}` : null,
  };
}

/** An organization's events, oldest first (admin+). */
export const getOrganizationEvents = (db: Database, caller: Caller, orgId: string, q: EventsQuery) =>
  inOrganization(db, caller, orgId, 'events:read', (tx) => eventPage(tx, q, { organizationId: orgId }));

/**
 * Events across organizations, oldest first: every organization's for platform admins; for
 * a tool (with or without an organization in its token), those of the organizations where
 * it is enabled, read in its own context as tenantry_user, whose events policy lets it see
 * no other organization's.
 */
export const getAllEvents = (db: Database, caller: Caller, q: EventsQuery) => {
  const p = caller.principal;
  if (p.type === 'tool') return inUserContext(db, p, (tx) => eventPage(tx, q, { toolId: p.toolId }));
  return inUserContext(db, p, async (tx, e) => {
    if (!(await widenToPlatform(tx, p, e))) throw forbidden('Only platform admins and tools may read events across organizations');
    return eventPage(tx, q);
  });
};
