import { sql } from 'kysely';
import type { TestApp } from './app.js';
import type { RegisteredTool } from './tools.js';

/** A tool's own access token for Tenantry's API, signed by the app's key store as the token endpoint signs it. */
export async function toolAccess(t: TestApp, tool: RegisteredTool, orgId: string | null = null, permissions: string[] = []) {
  const tokens = t.app.services.tokens;
  return (await tokens.issueTool({ clientId: tool.id, orgId, audience: tokens.apiAudience, permissions, ttl: 600 })).token;
}

/**
 * Enables or disables `tool` in `orgId` as the enablement routes store it (a row of
 * organization_tools; enabling again starts a new period, sql/enablement-period.sql).
 */
export async function setEnabled(t: TestApp, orgId: string, tool: RegisteredTool, enabled: boolean) {
  await sql`insert into organization_tools (organization_id, tool_id, status, scopes)
    values (${orgId}, ${tool.id}, ${enabled ? 'active' : 'disabled'}, '{}')
    on conflict (organization_id, tool_id) do update set status = excluded.status, updated_at = now()`.execute(t.db.kysely);
}

/** The events a tool reads, as tenantry_user with the tool set: what the database lets it see. */
export async function eventsSeenInSql(t: TestApp, toolId: string): Promise<string[]> {
  return t.db.kysely.transaction().execute(async (tx) => {
    await sql`select * from tenantry_enter_tool(null, ${toolId}::uuid)`.execute(tx);
    const { rows } = await sql<{ organization_id: string }>`select distinct organization_id from events`.execute(tx);
    return rows.map((r) => r.organization_id).sort();
  });
}
