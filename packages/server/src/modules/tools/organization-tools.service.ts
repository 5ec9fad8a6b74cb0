import type { Database } from '../../db/database.js';
import { isUuid } from '../../db/ids.js';
import type { Tx } from '../../db/tenant-context.js';
import { AppError, forbidden, notFound } from '../../http/errors.js';
import { decodeCursor, page } from '../../http/pagination.js';
import { actingUser, type Caller, type OrgCaller } from '../access/gate.js';
import type { ToolPrincipal } from '../access/principal.js';
import { can, type Permission } from '../access/roles.js';
import { inOrganization, inUserContext } from '../access/transactions.js';
import { record } from '../audit/audit.js';
import {
  insertEnablement,
  listOrganizationTools,
  listToolEnablements,
  lockEnablement,
  updateEnablement,
} from './organization-tools.queries.js';
import type { ToolScope } from './tables.js';
import { findTool } from './tools.queries.js';
import { isTenantryPermission } from './tools.service.js';

// Enablement (SPEC §10): an organization's admins choose the tools it uses and the scopes
// each is granted. A tool's Tenantry permissions never exceed the enabler's own.

/**
 * What else stops when a tool is disabled in an organization, in the same transaction:
 * its sharing grants there are suspended (the sharing-grant module adds itself here).
 */
export type OnToolDisabled = (tx: Tx, c: OrgCaller, toolId: string) => Promise<void>;
const onToolDisabled: OnToolDisabled[] = [];
export const whenToolDisabled = (hook: OnToolDisabled) => {
  onToolDisabled.push(hook);
};

type Row = Awaited<ReturnType<typeof listOrganizationTools>>[number];

/** A tool as the organization sees it: the registry's entry and its state here. */
const entry = (r: Row) => ({
  tool_id: r.tool_id,
  tool: { slug: r.slug, name: r.name, description: r.description, audience: r.audience, status: r.tool_status, scopes: r.catalogue },
  status: r.status ?? ('not_enabled' as const),
  scopes: r.scopes ?? [],
  enabled_by: r.enabled_by,
  enabled_at: r.enabled_at,
});

export async function getOrganizationTools(
  db: Database,
  caller: Caller,
  orgId: string,
  q: { limit?: number | undefined; cursor?: string | undefined },
) {
  const limit = q.limit ?? 20;
  const after = decodeCursor(q.cursor, isUuid);
  return inOrganization(db, caller, orgId, 'organization:read', async (tx) => {
    const result = page(await listOrganizationTools(tx, orgId, { after, limit }), limit, (r) => r.tool_id);
    return { data: result.data.map(entry), next_cursor: result.next_cursor };
  });
}

const invalidScope = (i: number, message: string) => new AppError('VALIDATION_FAILED', message, [{ path: `/body/scopes/${i}`, message }]);

/**
 * The scopes to grant: each in the tool's catalogue; a Tenantry permission only if the
 * enabler holds it (403 otherwise). Without a list: what was granted before, or else the
 * whole catalogue the enabler may grant.
 */
function scopesToGrant(c: OrgCaller, catalogue: ToolScope[], asked: string[] | undefined, before: string[] | undefined): string[] {
  const mayGrant = (s: string) => !isTenantryPermission(s) || can(c.role, s as Permission);
  if (asked === undefined) return (before ?? catalogue.map((s) => s.name)).filter(mayGrant);
  const names = new Set(catalogue.map((s) => s.name));
  asked.forEach((s, i) => {
    if (!names.has(s)) throw invalidScope(i, 'is not in the tool’s scope catalogue');
    if (!mayGrant(s)) throw forbidden(`You cannot grant ${s}: your own role does not hold it`);
  });
  return [...new Set(asked)].sort();
}

const sameScopes = (a: readonly string[], b: readonly string[]) =>
  a.length === b.length && [...a].sort().every((s, i) => s === [...b].sort()[i]);

/** Enables the tool here, or changes its scopes (PUT: the same body twice changes nothing). */
export async function enableTool(db: Database, caller: Caller, orgId: string, toolId: string, body: { scopes?: string[] | undefined }) {
  return inOrganization(db, caller, orgId, 'tools:manage', async (tx, c) => {
    const enabler = actingUser(c);
    const tool = await findTool(tx, toolId);
    if (!tool) throw notFound('Tool');
    const before = await lockEnablement(tx, orgId, toolId);
    if (tool.status !== 'active' && before?.status !== 'active')
      throw new AppError('INVALID_STATE', 'The tool is disabled by the platform');
    const scopes = scopesToGrant(c, tool.scopes, body.scopes, before?.scopes);
    const target = { type: 'tool', id: toolId };
    if (!before) {
      await insertEnablement(tx, { organization_id: orgId, tool_id: toolId, scopes, enabled_by: enabler });
      await record(tx, c, { action: 'organization_tool.enabled', target, data: { scopes } });
    } else if (before.status !== 'active') {
      await updateEnablement(tx, orgId, toolId, { status: 'active', scopes, enabled_by: enabler, enabled_at: new Date() });
      await record(tx, c, { action: 'organization_tool.enabled', target, data: { scopes } });
    } else if (!sameScopes(before.scopes, scopes)) {
      await updateEnablement(tx, orgId, toolId, { status: 'active', scopes });
      await record(tx, c, { action: 'organization_tool.updated', target, data: { scopes, previous_scopes: before.scopes } });
    }
    const [row] = await listOrganizationTools(tx, orgId, { after: undefined, limit: 1, only: toolId });
    return entry(row!);
  });
}

/** Disables the tool here: its tokens for the organization stop at once (the gate reads the enablement per request). */
export async function disableTool(db: Database, caller: Caller, orgId: string, toolId: string) {
  return inOrganization(db, caller, orgId, 'tools:manage', async (tx, c) => {
    actingUser(c);
    const before = await lockEnablement(tx, orgId, toolId);
    if (before?.status !== 'active') throw notFound('Enabled tool');
    await updateEnablement(tx, orgId, toolId, { status: 'disabled' });
    await record(tx, c, { action: 'organization_tool.disabled', target: { type: 'tool', id: toolId }, data: {} });
    for (const hook of onToolDisabled) await hook(tx, c, toolId);
  });
}

/** The organizations where the calling tool is enabled, with its scopes there (a discovery token). */
export async function getToolOrganizations(db: Database, p: ToolPrincipal, q: { limit?: number | undefined; cursor?: string | undefined }) {
  const limit = q.limit ?? 20;
  const after = decodeCursor(q.cursor, isUuid);
  if (p.orgId !== null) throw forbidden('Discovery takes a token issued without organization_id');
  return inUserContext(db, p, async (tx) =>
    page(await listToolEnablements(tx, p.toolId, { after, limit }), limit, (r) => r.organization_id),
  );
}
