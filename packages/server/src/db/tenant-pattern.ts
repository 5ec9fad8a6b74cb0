// The tenant pattern, independent of any schema: a transaction entered into a tenant
// context (settings that last only as long as the transaction), always ended, and a
// read that enters its context inside the one statement it is. The pattern itself is
// @tenantry/sdk's, the one tools use for their own databases; this file runs it through
// Kysely. The context itself is the caller's: see tenant-context.ts for Tenantry's own.
import { inTenantTransaction as inTenant, localSettingsStatement } from '@tenantry/sdk';
import { CompiledQuery, type Kysely, type RawBuilder, type Transaction } from 'kysely';

/**
 * Sets each setting transaction-locally (`set_config(name, value, true)`) in one
 * statement, names and values as bound parameters: nothing a caller passes becomes SQL
 * text, and the settings revert when the transaction ends, on whichever connection.
 */
export async function setLocalSettings<DB>(tx: Transaction<DB>, settings: Readonly<Record<string, string | null>>): Promise<void> {
  const statement = localSettingsStatement(settings);
  if (statement) await tx.executeQuery(CompiledQuery.raw(statement.text, statement.values));
}

/**
 * Runs `fn` in one transaction that `enter` first moves into the tenant context. `check`
 * runs before BEGIN, so a context it refuses takes no connection. The transaction always
 * ends: COMMIT on success, ROLLBACK on error; the driver destroys a connection whose
 * ROLLBACK failed instead of pooling it again.
 */
export function inTenantTransaction<DB, E, T>(
  kysely: Kysely<DB>,
  check: () => void,
  enter: (tx: Transaction<DB>) => Promise<E>,
  fn: (tx: Transaction<DB>, entered: E) => Promise<T>,
): Promise<T> {
  return inTenant((work) => kysely.transaction().execute(work), check, enter, fn);
}

/**
 * A read that is one statement, one round trip: `statement` enters the context itself
 * and returns one row. The statement's implicit transaction ends with it, and the
 * settings revert with it.
 */
export async function readInOneStatement<DB, R>(kysely: Kysely<DB>, check: () => void, statement: () => RawBuilder<R>): Promise<R> {
  check();
  const { rows } = await statement().execute(kysely);
  return rows[0]!;
}
