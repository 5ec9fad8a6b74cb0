import { randomBytes } from 'node:crypto';
import type { Database } from '../../db/database.js';
import { isUuid, uuidv7 } from '../../db/ids.js';
import { AppError, notFound } from '../../http/errors.js';
import { decodeCursor, page } from '../../http/pagination.js';
import { type Caller, sessionEnded } from '../access/gate.js';
import { actorOf, userOf } from '../access/principal.js';
import { creatingByStatements, inOrganization, inUserContext, readInOrganization, widenToPlatform } from '../access/transactions.js';
import { type AuditAction, type AuditEvent, record } from '../audit/audit.js';
import { eventOf } from '../events/events.js';
import { emitSessionsRevoked } from '../events/session-events.js';
import { revokeOrganizationSessions } from '../identity/sessions.js';
import {
  createOrganizationWithOwner,
  findOrganization,
  listOrganizations,
  organizationRead,
  organizationReadAsKey,
  setOrganizationStatus,
  updateOrganization,
} from './organizations.queries.js';
import type { CreateOrganizationBody, UpdateOrganizationBody } from './organizations.schemas.js';
import { profileColumns, slugFromName } from './profile.js';

const slugTaken = () => new AppError('SLUG_TAKEN', 'This slug is already taken; choose another');
const SLUG_ATTEMPTS = 5;

/** Creates an organization with the caller as its owner. A derived slug gets a random suffix until it is free. */
export async function createOrganization(db: Database, caller: Caller, body: CreateOrganizationBody) {
  const cols = profileColumns(body);
  const id = uuidv7();
  const p = userOf(caller.principal);
  const base = cols.slug ?? slugFromName(cols.name!);
  const by = { organizationId: id, actor: actorOf(p), meta: caller.meta };
  return creatingByStatements(db, async (q) => {
    for (let attempt = 0; attempt < SLUG_ATTEMPTS; attempt++) {
      if (attempt > 0 && cols.slug) throw slugTaken();
      const slug = attempt === 0 ? base : `${base.slice(0, 41)}-${randomBytes(4).toString('hex').slice(0, 6)}`;
      const audit: AuditEvent = {
        action: 'organization.created',
        target: { type: 'organization', id },
        data: { name: cols.name!, slug, owner_id: p.userId },
      };
      const { sessionLive, organization } = await createOrganizationWithOwner(
        q,
        {
          id,
          name: cols.name!,
          slug,
          industry: body.industry,
          size: body.size ?? null,
          domains: cols.domains ?? [],
          metadata: cols.metadata ?? '{}',
        },
        p,
        by,
        audit,
        eventOf(by, audit)!,
      );
      if (!sessionLive) throw sessionEnded();
      if (organization) return organization;
    }
    throw slugTaken();
  });
}

export async function listVisibleOrganizations(
  db: Database,
  caller: Caller,
  q: {
    limit?: number | undefined;
    cursor?: string | undefined;
    q?: string | undefined;
    industry?: string | undefined;
    status?: string | undefined;
  },
) {
  const limit = q.limit ?? 20;
  const after = decodeCursor(q.cursor, isUuid);
  const p = caller.principal;
  return inUserContext(db, p, async (tx, e) => {
    // Platform admins see every organization.
    const platform = await widenToPlatform(tx, p, e);
    const rows = await listOrganizations(tx, { ...q, after, limit, memberOnly: !platform });
    return page(rows, limit, (o) => o.id);
  });
}

export const getOrganization = (db: Database, caller: Caller, orgId: string) =>
  readInOrganization(db, caller, orgId, 'organization:read', {
    asUser: organizationRead,
    asApiKey: organizationReadAsKey,
    inTransaction: async (tx) => {
      const org = await findOrganization(tx, orgId);
      if (!org) throw notFound('Organization');
      return org;
    },
  });

export async function patchOrganization(db: Database, caller: Caller, orgId: string, body: UpdateOrganizationBody) {
  const cols = profileColumns(body); // validated before any transaction: a bad body changes nothing
  return inOrganization(db, caller, orgId, 'organization:update', async (tx, c) => {
    const before = await findOrganization(tx, orgId);
    let org: Awaited<ReturnType<typeof updateOrganization>>;
    try {
      org = await updateOrganization(tx, orgId, cols);
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw slugTaken();
      throw err;
    }
    await record(tx, c, {
      action: 'organization.updated',
      target: { type: 'organization', id: orgId },
      data: { fields: Object.keys(cols).sort(), changes: changesOf(before, org, Object.keys(cols)) },
    });
    return org;
  });
}

type Transition = { to: 'archived' | 'suspended' | 'active'; action: AuditAction; from: Array<'active' | 'suspended' | 'archived'> };

const TRANSITIONS = {
  archive: { to: 'archived', action: 'organization.archived', from: ['active', 'suspended'] },
  suspend: { to: 'suspended', action: 'organization.suspended', from: ['active'] },
  reactivate: { to: 'active', action: 'organization.reactivated', from: ['suspended', 'archived'] },
} as const satisfies Record<string, Transition>;

/** Archive (owner or platform admin), suspend or reactivate (platform admin). Repeating one is a no-op. */
export async function transitionOrganization(db: Database, caller: Caller, orgId: string, kind: keyof typeof TRANSITIONS) {
  const t: Transition = TRANSITIONS[kind];
  const permission = kind === 'archive' ? 'organization:delete' : 'organization:suspend';
  return inOrganization(db, caller, orgId, permission, async (tx, c) => {
    if (c.orgStatus === t.to) return (await findOrganization(tx, orgId))!;
    if (!t.from.includes(c.orgStatus)) {
      throw new AppError('INVALID_STATE', `An ${c.orgStatus} organization cannot be moved to ${t.to}`);
    }
    const org = await setOrganizationStatus(tx, orgId, t.to);
    // No token may stay scoped to an organization its members cannot use.
    const ended = t.to !== 'active' ? await revokeOrganizationSessions(tx, orgId, `organization_${t.to}`) : [];
    await record(tx, c, { action: t.action, target: { type: 'organization', id: orgId }, data: { from: c.orgStatus, to: t.to } });
    await emitSessionsRevoked(tx, c, ended, `organization_${t.to}`);
    return org;
  });
}

/** Each changed field's value before and after, for the organization.updated event. */
function changesOf(before: object | undefined, after: object | undefined, fields: string[]) {
  const b = (before ?? {}) as Record<string, unknown>;
  const a = (after ?? {}) as Record<string, unknown>;
  return Object.fromEntries(
    fields.filter((f) => JSON.stringify(b[f]) !== JSON.stringify(a[f])).map((f) => [f, { from: b[f] ?? null, to: a[f] ?? null }]),
  );
}
