import type { Database } from '../../db/database.js';
import { isUuid, uuidv7 } from '../../db/ids.js';
import type { Tx } from '../../db/tenant-context.js';
import { AppError, notFound } from '../../http/errors.js';
import { decodeCursor, page } from '../../http/pagination.js';
import { actingUser, type Caller } from '../access/gate.js';
import { inOrganization } from '../access/transactions.js';
import { type AuditSource, record } from '../audit/audit.js';
import {
  expireLapsedGrant,
  findGrant,
  grantParties,
  insertGrant,
  listGrants,
  markGrantRevoked,
  type SharingGrantRow,
  suspendGrantsOfTool,
} from './sharing-grants.queries.js';
import { grantProblems } from './sharing-grants.rules.js';
import type { SharingGrantStatus } from './sharing-grants.schemas.js';

export interface SharingGrantDeps {
  db: Database;
}

const PERMISSION = 'sharing_grants:manage';

/** What the events of a grant say about it. */
const grantData = (g: Pick<SharingGrantRow, 'provider_tool_id' | 'consumer_tool_id' | 'scopes'>) => ({
  provider_tool_id: g.provider_tool_id,
  consumer_tool_id: g.consumer_tool_id,
  scopes: g.scopes,
});

export async function createSharingGrant(
  deps: SharingGrantDeps,
  caller: Caller,
  orgId: string,
  body: { provider_tool_id: string; consumer_tool_id: string; scopes: string[]; purpose: string; expires_at?: string | undefined },
) {
  if (body.expires_at !== undefined && Date.parse(body.expires_at) <= Date.now()) {
    throw new AppError('VALIDATION_FAILED', 'expires_at must be in the future', [
      { path: '/body/expires_at', message: 'must be in the future' },
    ]);
  }
  return inOrganization(deps.db, caller, orgId, PERMISSION, async (tx, c) => {
    const parties = await grantParties(tx, orgId, [body.provider_tool_id, body.consumer_tool_id]);
    const party = (id: string) => parties.find((t) => t.id === id);
    const problems = grantProblems(body, party(body.provider_tool_id), party(body.consumer_tool_id));
    if (problems.length > 0)
      throw new AppError('GRANT_SCOPE_INVALID', problems.map((p) => `${p.path.slice(6)} ${p.message}`).join('; '), problems);
    await expireLapsedGrant(tx, orgId, body.provider_tool_id, body.consumer_tool_id);
    let grant: SharingGrantRow;
    try {
      grant = await insertGrant(tx, {
        organization_id: orgId,
        id: uuidv7(),
        provider_tool_id: body.provider_tool_id,
        consumer_tool_id: body.consumer_tool_id,
        scopes: body.scopes,
        purpose: body.purpose,
        granted_by: actingUser(c),
        expires_at: body.expires_at ?? null,
      });
    } catch (err) {
      if ((err as { code?: string }).code === '23505') throw new AppError('SHARING_GRANT_EXISTS');
      throw err;
    }
    await record(tx, c, {
      action: 'sharing_grant.created',
      target: { type: 'sharing_grant', id: grant.id },
      data: { ...grantData(grant), purpose: grant.purpose, expires_at: grant.expires_at?.toISOString() ?? null },
    });
    return grant;
  });
}

export async function getSharingGrants(
  deps: SharingGrantDeps,
  caller: Caller,
  orgId: string,
  q: {
    provider_tool_id?: string | undefined;
    consumer_tool_id?: string | undefined;
    status?: SharingGrantStatus | undefined;
    limit?: number | undefined;
    cursor?: string | undefined;
  },
) {
  const limit = q.limit ?? 20;
  const after = decodeCursor(q.cursor, isUuid);
  return inOrganization(deps.db, caller, orgId, PERMISSION, async (tx) =>
    page(
      await listGrants(tx, orgId, {
        providerToolId: q.provider_tool_id,
        consumerToolId: q.consumer_tool_id,
        status: q.status,
        after,
        limit,
      }),
      limit,
      (g) => g.id,
    ),
  );
}

export async function getSharingGrant(deps: SharingGrantDeps, caller: Caller, orgId: string, id: string) {
  return inOrganization(deps.db, caller, orgId, PERMISSION, async (tx) => {
    const grant = await findGrant(tx, orgId, id);
    if (!grant) throw notFound('Sharing grant');
    return grant;
  });
}

/** Revokes an active or suspended grant: no token is issued under it from the commit on. */
export async function revokeSharingGrant(deps: SharingGrantDeps, caller: Caller, orgId: string, id: string) {
  return inOrganization(deps.db, caller, orgId, PERMISSION, async (tx, c) => {
    const revoked = await markGrantRevoked(tx, orgId, id);
    if (!revoked) {
      const grant = await findGrant(tx, orgId, id);
      if (!grant) throw notFound('Sharing grant');
      throw new AppError('INVALID_STATE', `The sharing grant is ${grant.status}`);
    }
    await record(tx, c, { action: 'sharing_grant.revoked', target: { type: 'sharing_grant', id }, data: grantData(revoked) });
  });
}

/**
 * Called in the transaction that disables a tool in an organization: suspends the active
 * grants where it is provider or consumer, each audited. Enabling the tool again leaves them
 * suspended: an owner creates a new grant, so sharing never resumes unseen.
 */
export async function suspendGrantsOf(tx: Tx, by: AuditSource, toolId: string): Promise<void> {
  for (const g of await suspendGrantsOfTool(tx, by.organizationId, toolId)) {
    await record(tx, by, {
      action: 'sharing_grant.suspended',
      target: { type: 'sharing_grant', id: g.id },
      data: { ...grantData(g), disabled_tool_id: toolId },
    });
  }
}
