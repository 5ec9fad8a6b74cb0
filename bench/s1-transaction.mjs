// S1's SQL transaction, captured from the built service's own code path
// (members.service getMembers) through a recording Kysely driver, so the pgbench
// script runs exactly the statements the API runs — and follows them when they change.
import { Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';

const DIST = new URL('../dist/', import.meta.url);

/** Used when the members module is missing or its shape has changed. */
const FALLBACK = [
  { sql: 'begin', parameters: [] },
  { sql: 'select * from tenantry_enter($1::uuid, $2::uuid, $3::uuid)', parameters: ['ORG', 'USER', 'SID'] },
  {
    sql: 'select m.user_id, u.email, u.name, m.role, m.created_at from memberships m join users u on u.id = m.user_id where m.organization_id = $1 order by m.user_id limit 51',
    parameters: ['ORG'],
  },
  { sql: 'commit', parameters: [] },
];

function recordingDatabase(statements) {
  const record = (sql, parameters = []) => statements.push({ sql, parameters: [...parameters] });
  const connection = {
    async executeQuery(q) {
      record(q.sql, q.parameters);
      // The context statement must report a live member for the use case to go on.
      if (/tenantry_enter\(/.test(q.sql)) return { rows: [{ member_role: 'member', org_status: 'active', platform_role: null, session_live: true }] };
      return { rows: [] };
    },
    async *streamQuery() {
      throw new Error('not supported');
    },
  };
  const driver = {
    init: async () => {},
    acquireConnection: async () => connection,
    beginTransaction: async () => record('begin'),
    commitTransaction: async () => record('commit'),
    rollbackTransaction: async () => record('rollback'),
    releaseConnection: async () => {},
    destroy: async () => {},
  };
  const kysely = new Kysely({
    dialect: {
      createAdapter: () => new PostgresAdapter(),
      createDriver: () => driver,
      createIntrospector: (db) => new PostgresIntrospector(db),
      createQueryCompiler: () => new PostgresQueryCompiler(),
    },
  });
  return {
    engine: 'postgres',
    kysely,
    withConnection: () => Promise.reject(new Error('not supported')),
    stats: () => ({ total: 0, idle: 0, waiting: 0, max: 0 }),
    close: () => kysely.destroy(),
  };
}

async function capture(ids) {
  const { getMembers } = await import(new URL('modules/members/members.service.js', DIST));
  const statements = [];
  const db = recordingDatabase(statements);
  try {
    const caller = { principal: { userId: ids.user, sessionId: ids.sid, tokenOrgId: ids.org }, meta: { ip: '127.0.0.1', requestId: 'bench' } };
    await getMembers(db, caller, ids.org, { limit: 50 });
  } finally {
    await db.close();
  }
  const shapeOk =
    statements[0]?.sql === 'begin' &&
    statements.at(-1)?.sql === 'commit' &&
    statements.some((s) => s.sql.includes('tenantry_enter(')) &&
    statements.some((s) => s.sql.includes('memberships'));
  if (!shapeOk) throw new Error(`unexpected statements: ${statements.map((s) => s.sql).join(' | ')}`);
  return statements;
}

/**
 * The pgbench script (statements with `:name` variables) and the variables to pass
 * with -D. `ids` are the real organization, user and session of S1's token.
 */
export async function s1PgbenchScript(ids) {
  let statements;
  let source;
  try {
    statements = await capture(ids);
    source = 'captured from the built getMembers() code path';
  } catch (err) {
    const placeholders = { ORG: ids.org, USER: ids.user, SID: ids.sid };
    statements = FALLBACK.map((s) => ({ sql: s.sql, parameters: s.parameters.map((p) => placeholders[p]) }));
    source = `fallback SQL (the members module could not be used: ${err.message.split('\n')[0]})`;
  }
  const names = new Map([
    [ids.org, 'org'],
    [ids.user, 'user'],
    [ids.sid, 'sid'],
  ]);
  const variables = {};
  const lines = statements.map(({ sql, parameters }) => {
    const text = sql.replace(/\$(\d+)/g, (_, n) => {
      const value = String(parameters[Number(n) - 1]);
      if (!names.has(value)) names.set(value, `p${names.size - 2}`);
      const name = names.get(value);
      variables[name] = value;
      return `:${name}`;
    });
    return `${text};`;
  });
  return { script: `${lines.join('\n')}\n`, variables, source };
}
