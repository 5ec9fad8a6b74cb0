// The tenant pattern for a tool's own PostgreSQL, through node-postgres (or anything with its
// shape: `pool.connect()`, `client.query(text, values)`, `client.release(destroy)`).
import { isUuid, type Principal } from '../principal.js';
import { readRoleSecurity, readTableSecurity, roleProblems } from './catalog.js';
import { inTenantTransaction, localSettingsStatement, type TransactionRunner } from './pattern.js';

export interface QueryResultLike {
  rows: Record<string, unknown>[];
  rowCount?: number | null;
}
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<QueryResultLike>;
}
export interface PoolClientLike extends Queryable {
  /** node-postgres: a truthy argument destroys the connection instead of pooling it. */
  release(destroy?: boolean | Error): void;
  on?(event: 'error', listener: (err: Error) => void): unknown;
  removeListener?(event: 'error', listener: (err: Error) => void): unknown;
}
export interface PoolLike {
  connect(): Promise<PoolClientLike>;
}

/** The role a tool's requests run as by default: it must own no table and must not bypass RLS. */
export const DEFAULT_TENANT_ROLE = 'tenant_app';
/** The setting the policies read. */
export const ORG_SETTING = 'app.org_id';

export interface WithTenantOptions {
  /** The role the transaction switches to (`set_config('role', …, true)`); default `tenant_app`. */
  role?: string;
  /** More transaction-local settings (`app.*`), bound like the rest. */
  settings?: Readonly<Record<string, string>>;
  /**
   * Sends the settings as a named prepared statement (node-postgres's `{ name, text, values }`),
   * which each connection parses once instead of on every transaction: about half the
   * database's work for the statement. For node-postgres pools that keep their connections
   * (not behind a pooler that drops prepared statements).
   */
  prepared?: boolean;
}

/** node-postgres's query config: a statement with a name is parsed once per connection. */
interface NamedStatementQueryable {
  query(config: { name: string; text: string; values: unknown[] }): Promise<QueryResultLike>;
}

/** A transaction on one pooled connection; a connection whose ROLLBACK failed is destroyed, never pooled again. */
export function pgTransaction(pool: PoolLike): TransactionRunner<PoolClientLike> {
  return async (work) => {
    const client = await pool.connect();
    // node-postgres emits a lost connection as an 'error' event on a checked-out client:
    // unheard, it would end the process. The failing query reports it to the work.
    const heard = () => undefined;
    client.on?.('error', heard);
    const release = (destroy?: boolean) => {
      client.removeListener?.('error', heard);
      client.release(destroy);
    };
    let result: Awaited<ReturnType<typeof work>>;
    try {
      await client.query('begin');
      result = await work(client);
      await client.query('commit');
    } catch (err) {
      try {
        await client.query('rollback');
        release();
      } catch {
        release(true); // its state is unknown: it must not carry a transaction or a tenant into the next request
      }
      throw err;
    }
    release();
    return result;
  };
}

export class InvalidPrincipal extends Error {
  constructor() {
    super('withTenant needs a principal with an organization id (a UUID)');
    this.name = 'InvalidPrincipal';
  }
}

/**
 * Runs `fn` in a transaction entered into the principal's organization: `app.org_id`,
 * `app.principal_type`, `app.principal_id` (and `app.grant_id`) are set transaction-locally
 * from bound parameters, and the transaction switches to a role that RLS binds. The
 * transaction always ends. A principal without a valid organization takes no connection.
 */
export function withTenant<T>(
  pool: PoolLike,
  principal: Principal,
  fn: (client: PoolClientLike) => Promise<T>,
  options: WithTenantOptions = {},
): Promise<T> {
  return inTenantTransaction(
    pgTransaction(pool),
    () => {
      if (!principal || !isUuid(principal.orgId) || typeof principal.id !== 'string') throw new InvalidPrincipal();
    },
    async (client) => {
      const { text, values } = localSettingsStatement({
        ...options.settings,
        [ORG_SETTING]: principal.orgId,
        'app.principal_type': principal.type,
        'app.principal_id': principal.id,
        'app.grant_id': principal.grantId ?? '',
        role: options.role ?? DEFAULT_TENANT_ROLE,
      })!;
      if (options.prepared) {
        // The text depends only on the number of settings: one name per number.
        await (client as unknown as NamedStatementQueryable).query({ name: `tenantry_settings_${values.length / 2}`, text, values });
      } else {
        await client.query(text, values);
      }
    },
    (client) => fn(client),
  );
}

/** An SQL identifier, quoted (`schema.table` is quoted part by part). */
export const quoteIdent = (name: string): string =>
  name
    .split('.')
    .map((part) => `"${part.replaceAll('"', '""')}"`)
    .join('.');
const quoteLiteral = (text: string) => `'${text.replaceAll("'", "''")}'`;

export interface TenantTableOptions {
  /** The tenant column; default `organization_id` (it should lead the primary key). */
  column?: string;
  /** The setting withTenant sets; default `app.org_id`. */
  setting?: string;
  /** The policy applies to this role only (default every role). */
  role?: string;
  policyName?: string;
}

/**
 * The SQL that makes `table` a tenant table: RLS enabled and forced (so the owner is bound
 * too), and one policy whose USING and WITH CHECK confine reads and writes to the
 * transaction's organization. No organization set reads nothing and writes nothing.
 * Safe to run again (the policy is replaced).
 */
export function tenantTableSql(table: string, options: TenantTableOptions = {}): string {
  const t = quoteIdent(table);
  const policy = quoteIdent(options.policyName ?? `${table.split('.').pop()}_tenant`);
  const rule = `${quoteIdent(options.column ?? 'organization_id')} = (select nullif(current_setting(${quoteLiteral(options.setting ?? ORG_SETTING)}, true), '')::uuid)`;
  return [
    `alter table ${t} enable row level security;`,
    `alter table ${t} force row level security;`,
    `drop policy if exists ${policy} on ${t};`,
    `create policy ${policy} on ${t} as permissive for all to ${options.role ? quoteIdent(options.role) : 'public'} using (${rule}) with check (${rule});`,
  ].join('\n');
}

/**
 * The start-up check: throws, naming every problem, unless each tenant table exists with
 * RLS enabled and forced and at least one policy, and the tenant role is neither a
 * superuser nor BYPASSRLS nor the owner of a tenant table. A tool calls it before it serves,
 * with its pool (or any connection).
 */
export async function assertTenantTablesForced(
  db: Queryable | PoolLike,
  tables: readonly string[],
  options: { role?: string } = {},
): Promise<void> {
  if (!('query' in db)) {
    // A pool without pool.query (PGlite behind a PoolLike): one of its connections.
    const client = await db.connect();
    try {
      return await assertTenantTablesForced(client, tables, options);
    } finally {
      client.release();
    }
  }
  const query = async (text: string, values: unknown[]) => (await db.query(text, values)).rows;
  const found = await readTableSecurity(query, tables);
  const role = options.role ?? DEFAULT_TENANT_ROLE;
  const problems = tables.flatMap((name) => {
    const t = found.find((f) => f.table === name);
    if (!t) return [`table ${name} does not exist`];
    return [
      ...(!t.enabled ? [`table ${name} does not enable row-level security`] : []),
      ...(!t.forced ? [`table ${name} does not force row-level security`] : []),
      ...(t.policies === 0 ? [`table ${name} has no policy`] : []),
      ...(t.owner === role ? [`table ${name} is owned by ${role}`] : []),
    ];
  });
  for (const r of await readRoleSecurity(query, [role])) problems.push(...roleProblems(r));
  if (problems.length > 0) throw new Error(`Tenant isolation is not enforced: ${problems.join('; ')}`);
}
