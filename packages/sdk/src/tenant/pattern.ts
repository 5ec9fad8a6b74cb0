// The tenant pattern, free of any driver: shared by Tenantry's server (through Kysely) and
// by a tool's own database (through node-postgres, pg.ts). A transaction is entered into a
// tenant context with settings that last only as long as the transaction, and always ends.

/** A statement with bound parameters. */
export interface Statement {
  text: string;
  values: unknown[];
}

/** The text of the statement for `count` settings: it depends on nothing else, so it is made once per count. */
const settingsTexts = new Map<number, string>();
const MAX_KEPT_TEXT_COUNT = 32;
function settingsText(count: number): string {
  let text = settingsTexts.get(count);
  if (text === undefined) {
    text = `select ${Array.from({ length: count }, (_, i) => `set_config($${2 * i + 1}, $${2 * i + 2}, true)`).join(', ')}`;
    if (count <= MAX_KEPT_TEXT_COUNT) settingsTexts.set(count, text);
  }
  return text;
}

/**
 * One statement that sets each setting transaction-locally (`set_config(name, value, true)`),
 * names and values as bound parameters: nothing a caller passes becomes SQL text, and the
 * settings revert when the transaction ends, on whichever connection. Null for no settings.
 */
export function localSettingsStatement(settings: Readonly<Record<string, string | null>>): Statement | null {
  const names = Object.keys(settings);
  if (names.length === 0) return null;
  const values: unknown[] = [];
  for (const name of names) values.push(name, settings[name]);
  return { text: settingsText(names.length), values };
}

/** Runs work in one transaction: BEGIN, work, COMMIT, or ROLLBACK on error (the driver's part). */
export type TransactionRunner<Tx> = <R>(work: (tx: Tx) => Promise<R>) => Promise<R>;

/**
 * Runs `fn` in one transaction that `enter` first moves into the tenant context. `check`
 * runs before BEGIN, so a context it refuses takes no connection. The transaction always
 * ends: COMMIT on success, ROLLBACK on error; the runner destroys a connection whose
 * ROLLBACK failed instead of pooling it again.
 */
export async function inTenantTransaction<Tx, E, T>(
  run: TransactionRunner<Tx>,
  check: () => void,
  enter: (tx: Tx) => Promise<E>,
  fn: (tx: Tx, entered: E) => Promise<T>,
): Promise<T> {
  check(); // a refusal is a rejected promise, like any other failure of the work
  return run(async (tx) => fn(tx, await enter(tx)));
}
