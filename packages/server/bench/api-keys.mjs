// The API-key scenarios of npm run bench: S1 read with an organization API key instead of
// a member's access token, and introspection of that key by a tool (RFC 7662).
// The setup goes through the API where it can (the key, the tool) and SQL for the rest.

const KEYS_ADMIN_EMAIL = 'bench-keys-admin@bench.invalid';

/**
 * An admin of `orgId` (made platform admin too, so it can register a tool), an API key it
 * creates with members:read, and, when `withTool`, a tool enabled in the organization
 * with its client secret.
 */
export async function apiKeySetup({ api, sql, benchUrl, base, orgId, password, withTool }) {
  const signup = await api(base, 'POST', '/v1/auth/signup', { email: KEYS_ADMIN_EMAIL, password, name: 'Bench Keys Admin' });
  if (signup.status !== 201) throw new Error(`keys admin signup failed: ${signup.status} ${signup.text}`);
  const userId = signup.json.user.id;
  await sql(benchUrl, `insert into memberships (organization_id, user_id, role) values ($1, $2, 'admin')`, [orgId, userId]);
  await sql(benchUrl, `update users set platform_role = 'platform_admin' where id = $1`, [userId]);
  const login = await api(base, 'POST', '/v1/auth/login', { email: KEYS_ADMIN_EMAIL, password, organization_id: orgId });
  if (login.status !== 200) throw new Error(`keys admin login failed: ${login.status} ${login.text}`);
  const auth = { authorization: `Bearer ${login.json.access_token}` };

  let tool;
  if (withTool) {
    const reg = await api(
      base,
      'POST',
      '/v1/tools',
      {
        slug: 'benchtool',
        name: 'Bench tool',
        audience: 'https://benchtool.bench.invalid',
        scopes: [{ name: 'benchtool:records:read', description: 'Read records' }],
      },
      unscoped(login.json.access_token),
    );
    if (reg.status !== 201) throw new Error(`tool registration failed: ${reg.status} ${reg.text}`);
    tool = { id: reg.json.tool.id, clientId: reg.json.tool.client_id, secret: reg.json.client_secret };
    await sql(benchUrl, `insert into organization_tools (organization_id, tool_id, scopes, enabled_by) values ($1, $2, '{}', $3)`, [
      orgId,
      tool.id,
      userId,
    ]);
  }
  const scopes = ['members:read', ...(withTool ? ['benchtool:records:read'] : [])];
  const created = await api(base, 'POST', `/v1/organizations/${orgId}/api-keys`, { name: 'Bench key', scopes }, auth);
  if (created.status !== 201) throw new Error(`API key creation failed: ${created.status} ${created.text}`);
  return { key: created.json.key, tool };
}

// The registry takes a platform admin's token; a token scoped to an organization is one too.
const unscoped = (access) => ({ authorization: `Bearer ${access}` });

/** The autocannon options of introspection/s: the tool authenticates with client_secret_basic and asks about the key. */
export function introspectionLoad(base, tool, key) {
  const basic = Buffer.from(`${encodeURIComponent(tool.clientId)}:${encodeURIComponent(tool.secret)}`).toString('base64');
  return {
    url: `${base}/oauth/introspect`,
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` },
    body: `token=${encodeURIComponent(key)}`,
  };
}
