// The reference S1 is compared with in the same run: a naive Fastify + pg version of
// this design, as the issue's ~3,400 req/s figure describes it. Per request: the bearer
// token verified with jose (cached by token), then BEGIN, one set_config for the tenant,
// the 50-row join of memberships and users, COMMIT, and the rows sent as JSON.
// It checks no session, membership, suspension or permission, and it connects as the
// bench's administrative user, so row-level security does not even apply: everything
// Tenantry does on top of this is work the reference skips.
//
// Environment: PORT, DATABASE_URL, POOL_MAX, JWKS_URL, TOKEN_ISSUER, TOKEN_AUDIENCE.
import Fastify from 'fastify';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import pg from 'pg';

const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: Number(process.env.POOL_MAX) });
const jwks = createRemoteJWKSet(new URL(process.env.JWKS_URL));
const verified = new Map();

async function claims(header) {
  const token = /^Bearer (.+)$/.exec(header ?? '')?.[1];
  if (!token) return null;
  const hit = verified.get(token);
  if (hit && hit.exp * 1000 > Date.now()) return hit;
  try {
    const { payload } = await jwtVerify(token, jwks, { issuer: process.env.TOKEN_ISSUER, audience: process.env.TOKEN_AUDIENCE });
    verified.set(token, payload);
    return payload;
  } catch {
    return null;
  }
}

const app = Fastify({ logger: false });
app.get('/ready', async () => ({ ready: true }));
app.get('/v1/organizations/:org_id/members', async (request, reply) => {
  const payload = await claims(request.headers.authorization);
  if (!payload || payload.org_id !== request.params.org_id) return reply.code(401).send({ error: 'unauthorized' });
  const limit = Math.min(Number(request.query.limit ?? 20), 100);
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`select set_config('app.org_id', $1, true)`, [request.params.org_id]);
    const { rows } = await client.query(
      `select m.user_id, u.email, u.name, m.role, m.created_at as joined_at
       from memberships m join users u on u.id = m.user_id
       where m.organization_id = $1 order by m.user_id limit $2`,
      [request.params.org_id, limit + 1],
    );
    await client.query('commit');
    const more = rows.length > limit;
    const data = more ? rows.slice(0, limit) : rows;
    return { data, next_cursor: more ? Buffer.from(data[data.length - 1].user_id).toString('base64url') : null };
  } catch (err) {
    await client.query('rollback').catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
});
await app.listen({ port: Number(process.env.PORT), host: '127.0.0.1' });

for (const signal of ['SIGTERM', 'SIGINT']) {
  process.once(signal, () => {
    Promise.all([app.close(), pool.end()]).then(
      () => process.exit(0),
      () => process.exit(1),
    );
  });
}
