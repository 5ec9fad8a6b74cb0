// S1's SQL, captured from the built service's own code path (members.service
// getMembers) through a recording Kysely driver, so the pgbench script runs exactly
// the statements the API runs — and follows them when they change. Today that is one
// statement in its own implicit transaction; a BEGIN … COMMIT would be captured too.
import { Kysely, PostgresAdapter, PostgresIntrospector, PostgresQueryCompiler } from 'kysely';

const DIST = new URL('../dist/', import.meta.url);

/** Used when the members module is missing or its shape has changed. */
const FALLBACK = [
  {
    sql: 'select * from tenantry_members_page($1::uuid, $2::uuid, $3::uuid, $4::uuid, $5::int)',
    parameters: ['ORG', 'USER', 'SID', null, 50],
  },
];

// Statements that return the caller's context, which must say "a live member" for
// the use case to go on.
const CONTEXT = /tenantry_(enter|members_page)\(/;
const LIVE_MEMBER = {
  member_role: 'member',
  org_status: 'active',
  platform_role: null,
  session_live: true,
  may_see: true,
  data: '[]',
  next_after: null,
};

function recordingDatabase(statements) {
  const record = (sql, parameters = []) => statements.push({ sql, parameters: [...parameters] });
  const connection = {
    async executeQuery(q) {
      record(q.sql, q.parameters);
      if (CONTEXT.test(q.sql)) return { rows: [LIVE_MEMBER] };
      return { rows: [] };
    },
    streamQuery() {
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
    const caller = {
      principal: { type: 'user', userId: ids.user, sessionId: ids.sid, tokenOrgId: ids.org },
      meta: { ip: '127.0.0.1', requestId: 'bench' },
    };
    await getMembers(db, caller, ids.org, { limit: 50 });
  } finally {
    await db.close();
  }
  const transaction = statements[0]?.sql === 'begin';
  const shapeOk =
    (transaction ? statements.at(-1)?.sql === 'commit' : statements.length === 1) &&
    statements.some((s) => CONTEXT.test(s.sql)) &&
    statements.some((s) => /memberships|tenantry_members_page\(/.test(s.sql));
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
    statements = FALLBACK.map((s) => ({ sql: s.sql, parameters: s.parameters.map((p) => placeholders[p] ?? p) }));
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
      const parameter = parameters[Number(n) - 1];
      if (parameter === null || parameter === undefined) return 'null';
      const value = String(parameter);
      if (!names.has(value)) names.set(value, `p${names.size - 2}`);
      const name = names.get(value);
      variables[name] = value;
      return `:${name}`;
    });
    return `${text};`;
  });
  return { script: `${lines.join('\n')}\n`, variables, source };
}
