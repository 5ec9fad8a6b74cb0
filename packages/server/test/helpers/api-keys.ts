import { sql } from 'kysely';
import type { App } from '../../src/app.js';
import type { Database } from '../../src/db/database.js';
import { uuidv7 } from '../../src/db/ids.js';
import { authed } from './users.js';

export interface CreatedKey {
  id: string;
  key: string;
  start: string;
  scopes: string[];
  audience: string | null;
  expires_at: string | null;
}

/** An API key created over the API by `token` (an admin's or owner's access token). */
export async function createKey(app: App, orgId: string, token: string, body: Record<string, unknown> = {}): Promise<CreatedKey> {
  const res = await authed(app, 'POST', `/v1/organizations/${orgId}/api-keys`, token, {
    name: 'Script',
    scopes: ['members:read', 'organization:read'],
    ...body,
  });
  if (res.statusCode !== 201) throw new Error(`create API key failed: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** Moves a key's expiry as the database owner: time without waiting. */
export const expireKeyIn = (db: Database, id: string, secondsFromNow: number) =>
  sql`update api_keys set expires_at = now() + make_interval(secs => ${secondsFromNow}) where id = ${id}`.execute(db.kysely);

/**
 * A tool in the registry, written as the database owner, enabled in `orgId` (unless
 * `enabled` is false), with a catalogue of the given scope names (each requiring data:read
 * unless named in `requires`).
 */
export async function insertEnabledTool(
  db: Database,
  orgId: string,
  opts: { scopes: string[]; requires?: Record<string, string>; enabled?: boolean; slug?: string },
) {
  const id = uuidv7();
  const slug = opts.slug ?? `tool${id.slice(-8)}`;
  const audience = `https://${slug}.tools.example.com`;
  const catalogue = opts.scopes.map((name) => ({
    name,
    description: name,
    shareable: false,
    requires: opts.requires?.[name] ?? 'data:read',
  }));
  await db.kysely
    .insertInto('tools')
    .values({ id, slug, name: slug, description: '', client_id: id, audience, scopes: JSON.stringify(catalogue) })
    .execute();
  await db.kysely
    .insertInto('organization_tools')
    .values({ organization_id: orgId, tool_id: id, scopes: [], status: opts.enabled === false ? 'disabled' : 'active' })
    .execute();
  return { id, slug, audience, clientId: id };
}
