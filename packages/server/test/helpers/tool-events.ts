import { sql } from 'kysely';
import type { TestApp } from './app.js';
import type { OrgWithRoles } from './orgs.js';
import { enableTool, type RegisteredTool } from './tools.js';
import { authed } from './users.js';

/** Enables or disables `tool` in `o` by its owner over the API (audited as organization_tool.*). */
export async function setEnabled(t: TestApp, o: OrgWithRoles, tool: RegisteredTool, enabled: boolean) {
  if (enabled) return enableTool(t, o.owner.access, o.id, tool.id);
  const res = await authed(t.app, 'DELETE', `/v1/organizations/${o.id}/tools/${tool.id}`, o.owner.access);
  if (res.statusCode !== 204) throw new Error(`disable tool failed: ${res.statusCode} ${res.body}`);
}

/** The organizations whose events a tool reads in SQL, as tenantry_user with the tool set: what the database lets it see. */
export async function eventsSeenInSql(t: TestApp, toolId: string): Promise<string[]> {
  return t.db.kysely.transaction().execute(async (tx) => {
    await sql`select * from tenantry_enter_tool(null, ${toolId}::uuid)`.execute(tx);
    const { rows } = await sql<{ organization_id: string }>`select distinct organization_id from events`.execute(tx);
    return rows.map((r) => r.organization_id).sort();
  });
}
