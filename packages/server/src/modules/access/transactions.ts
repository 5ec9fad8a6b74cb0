// The tenant-transaction entry points: every service reaches the database through one of
// these, each named for whose work it is and where it runs.
import type { Kysely, RawBuilder } from 'kysely';
import type { Database } from '../../db/database.js';
import type { Schema } from '../../db/schema.js';
import {
  type ApiKeyEnteredRow,
  type Entered,
  type EnteredRow,
  enterPlatform,
  enterTenant,
  readAsApiKeyInContext,
  readInContext,
  type TenantContext,
  type Tx,
  withEnteringStatement,
  withTenant,
} from '../../db/tenant-context.js';
import { forbidden, notFound } from '../../http/errors.js';
import { answerToStore, storeAnswerIn } from '../idempotency/slot.js';
import { admit, type Caller, type OrgCaller, requireInTokenScope, requireLiveSession, tokenScope } from './gate.js';
import { type Principal, tenantContextOf } from './principal.js';
import type { PlatformPermission } from './roles.js';

const NOBODY: TenantContext = { orgId: null, userId: null };

/**
 * A request sent with an Idempotency-Key stores its answer in the same transaction as its
 * change, just before COMMIT, so a commit whose reply was lost still has its record (see
 * modules/idempotency). Without a key this does nothing.
 */
const storingAnswer =
  <A extends unknown[], T>(fn: (tx: Tx, ...rest: A) => Promise<T>) =>
  async (tx: Tx, ...rest: A): Promise<T> => {
    const result = await fn(tx, ...rest);
    await storeAnswerIn(tx, result);
    return result;
  };

/** Work on nobody's behalf, in no organization: signup, the login lookup, refresh, revocation, the CLI. */
export const anonymous = <T>(db: Database, fn: (tx: Tx) => Promise<T>): Promise<T> => withTenant(db, NOBODY, (tx) => fn(tx));

/**
 * Anonymous work whose first statement enters the anonymous context itself (a function of
 * sql/ that calls tenantry_enter(null, null, null) first, such as the refresh's rotation):
 * the same transaction as anonymous() with one round trip fewer. `fn` gets what it returned.
 */
export const anonymousEnteredBy = <E, T>(db: Database, enter: (tx: Tx) => Promise<E>, fn: (tx: Tx, entered: E) => Promise<T>): Promise<T> =>
  withEnteringStatement(db, enter, fn);

/**
 * A creation made of statements that each enter their context themselves (functions of sql/
 * that call tenantry_enter first, such as the organization's creation) and write all of
 * their change or none of it: each runs alone, as its own transaction, with no BEGIN and no
 * COMMIT round trip. A request with an Idempotency-Key runs them in one transaction that
 * also stores the answer, so the key stands for exactly one change.
 */
export const creatingByStatements = <T>(db: Database, work: (q: Kysely<Schema> | Tx) => Promise<T>): Promise<T> =>
  answerToStore()
    ? withEnteringStatement(
        db,
        work,
        storingAnswer(async (_tx, created: T) => created),
      )
    : work(db.kysely);

/** Work as a user who holds no access token yet: starting the session of a login. */
export const asUserWithoutSession = <T>(db: Database, userId: string, fn: (tx: Tx) => Promise<T>): Promise<T> =>
  withTenant(db, { orgId: null, userId }, (tx) => fn(tx));

/**
 * A principal's transaction, in `orgId` or outside any organization. The session check
 * rides on the statement that enters the context, so it costs no round trip.
 */
function asLivePrincipal<T>(db: Database, p: Principal, orgId: string | null, fn: (tx: Tx, entered: Entered) => Promise<T>): Promise<T> {
  return withTenant(
    db,
    tenantContextOf(p, orgId),
    storingAnswer(async (tx, e) => {
      requireLiveSession(e);
      return fn(tx, e);
    }),
  );
}

/** A principal's work outside any organization: their own profile, the organizations they see. */
export const inUserContext = <T>(db: Database, p: Principal, fn: (tx: Tx, entered: Entered) => Promise<T>): Promise<T> =>
  asLivePrincipal(db, p, null, fn);

/**
 * A principal's work in an organization the gate cannot judge yet, because the caller is
 * not a member of it: one being joined. `fn` decides from `entered`.
 */
export const enteringOrganization = <T>(
  db: Database,
  p: Principal,
  orgId: string,
  fn: (tx: Tx, entered: Entered) => Promise<T>,
): Promise<T> => asLivePrincipal(db, p, orgId, fn);

/**
 * Runs `fn` in one transaction in the organization's tenant context, after the
 * gate admitted the caller, whose membership is read fresh by the statement that
 * enters the context.
 */
export function inOrganization<T>(
  db: Database,
  caller: Caller,
  orgId: string,
  permission: PlatformPermission,
  fn: (tx: Tx, c: OrgCaller) => Promise<T>,
): Promise<T> {
  requireInTokenScope(caller.principal, orgId);
  return withTenant(
    db,
    tenantContextOf(caller.principal, orgId),
    storingAnswer((tx, e) => fn(tx, admit(caller, orgId, e, permission))),
  );
}

/**
 * A hot read, as one statement for each caller that can enter its context in one (see
 * readInContext): a user and an API key. `may_see` is the database's own guard that
 * comes back with what was read (sql/tenant-context.sql for a user,
 * tenantry_api_key_may_read for a key); it agrees with the gate, and nothing is
 * returned where it did not read.
 */
export interface OneStatementRead<R> {
  asUser: (ctx: TenantContext) => RawBuilder<EnteredRow & { may_see: boolean } & R>;
  asApiKey: (ctx: TenantContext) => RawBuilder<ApiKeyEnteredRow & { may_see: boolean } & R>;
  /**
   * The same read in a transaction already in the organization's context: a tool's
   * context is not one a statement can enter (its enablement and scopes are judged
   * by the gate first), so a tool reads this way, behind the gate.
   */
  inTransaction: (tx: Tx) => Promise<R>;
}

/**
 * A hot read as one statement, one round trip: the same gate decides on the caller's
 * context that arrives with what was read, which is returned only if it admits the caller.
 */
export async function readInOrganization<R>(
  db: Database,
  caller: Caller,
  orgId: string,
  permission: PlatformPermission,
  read: OneStatementRead<R>,
): Promise<R> {
  const p = caller.principal;
  requireInTokenScope(p, orgId);
  if (p.type === 'tool') return inOrganization(db, caller, orgId, permission, (tx) => read.inTransaction(tx));
  const ctx = tenantContextOf(p, orgId);
  const { entered, row } =
    p.type === 'user' ? await readInContext(db, ctx, read.asUser) : await readAsApiKeyInContext(db, ctx, read.asApiKey);
  admit(caller, orgId, entered, permission);
  if (!row.may_see) throw notFound('Organization');
  return row;
}

/** Moves an open transaction into a principal's context in `orgId`: what the database says of it there now (introspection). */
export const switchToPrincipal = (tx: Tx, p: Principal, orgId: string | null): Promise<Entered> =>
  enterTenant(tx, tenantContextOf(p, orgId));

/** Moves an open transaction into `orgId`, as `userId` or as nobody (an audit event on the system's behalf). */
export const switchToOrganization = (tx: Tx, orgId: string, userId: string | null): Promise<Entered> => enterTenant(tx, { orgId, userId });

/** Moves an open transaction to user-level work as `userId` (or as nobody): acting on an account a presented token named. */
export const switchToUser = (tx: Tx, userId: string | null): Promise<Entered> => enterTenant(tx, { orgId: null, userId });

/** Inside the transaction that issues a token: the scope a token of `userId` in `orgId` may carry (see tokenScope). */
export const tokenScopeIn = async (tx: Tx, orgId: string, userId: string) => tokenScope(await switchToOrganization(tx, orgId, userId));

/**
 * Widens a user-context transaction to every organization when the principal is a
 * platform admin: the database grants the platform role only after checking the user's
 * platform role itself. False, and nothing widened, for anyone else.
 */
export async function widenToPlatform(tx: Tx, p: Principal, entered: Entered): Promise<boolean> {
  return entered.platformRole === 'platform_admin' && enterPlatform(tx, tenantContextOf(p, null));
}

/**
 * A tool's standing in an organization as the database says it now, in the tool's own
 * context: the organization's status and the tool's registry status and enablement there
 * (the token endpoint, before it issues a tool's token).
 */
export const toolStandingIn = (db: Database, toolId: string, orgId: string) =>
  asToolInOrganization(db, toolId, orgId, async (_tx, e) => ({ orgStatus: e.orgStatus, tool: e.tool! }));

/**
 * A platform admin's work on what belongs to the platform, not to an organization (webhook
 * endpoints, the tool registry): the platform role, or 403 `refusal` for anyone else.
 */
export function asPlatformAdmin<T>(db: Database, caller: Caller, refusal: string, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return inUserContext(db, caller.principal, async (tx, e) => {
    if (!(await widenToPlatform(tx, caller.principal, e))) throw forbidden(refusal);
    return fn(tx);
  });
}

/**
 * The operator's work in one organization, on nobody's behalf (the CLI): the organization's
 * tenant context with no user, refused when the organization does not exist.
 */
export const asOperatorInOrganization = <T>(db: Database, orgId: string, fn: (tx: Tx) => Promise<T>): Promise<T> =>
  withTenant(db, { orgId, userId: null }, (tx, e) => {
    if (e.orgStatus === null) throw notFound('Organization');
    return fn(tx);
  });

/**
 * A tool's work in an organization as the token endpoint does it (no access token yet): the
 * tool's context, with its registry status and enablement there read fresh on entering.
 */
export const asToolInOrganization = <T>(
  db: Database,
  toolId: string,
  orgId: string,
  fn: (tx: Tx, entered: Entered) => Promise<T>,
): Promise<T> => withTenant(db, { orgId, userId: null, toolId }, fn);

/**
 * Work in an organization on behalf of the user a presented token names (token exchange):
 * their membership, the organization's status and the session's state are read fresh on entering.
 */
export const asSubjectInOrganization = <T>(
  db: Database,
  s: { userId: string; sessionId: string; orgId: string },
  fn: (tx: Tx, entered: Entered) => Promise<T>,
): Promise<T> => withTenant(db, { orgId: s.orgId, userId: s.userId, sessionId: s.sessionId }, fn);
