// The tool scenario's data: a registered tool with a client secret, enabled in the
// bench organization, written in SQL as the database owner (the registry's rows as the
// API would write them: the secret stored only as its SHA-256).
import { createHash, randomBytes, randomUUID } from 'node:crypto';

/** Registers a tool enabled in `orgId` with members:read; returns its client id and secret. */
export async function seedTool(client, orgId, enabledBy) {
  const id = randomUUID();
  const secret = `tnts_${randomBytes(32).toString('base64url')}`;
  const scopes = [{ name: 'members:read', description: 'Tenantry members', shareable: false, requires: 'data:read' }];
  await client.query(
    `insert into tools (id, slug, name, client_id, audience, scopes) values ($1::uuid, $2, 'Bench tool', $1::text, $3, $4::jsonb)`,
    [id, `bench-${id.slice(0, 8)}`, `https://bench-${id.slice(0, 8)}.tools.example.com`, JSON.stringify(scopes)],
  );
  await client.query(`insert into tool_credentials (id, tool_id, type, secret_hash, hint) values ($1, $2, 'client_secret', $3, $4)`, [
    randomUUID(),
    id,
    createHash('sha256').update(secret).digest(),
    `…${secret.slice(-4)}`,
  ]);
  await client.query(
    `insert into organization_tools (organization_id, tool_id, scopes, enabled_by) values ($1, $2, '{members:read}', $3)`,
    [orgId, id, enabledBy],
  );
  return { clientId: id, secret };
}
