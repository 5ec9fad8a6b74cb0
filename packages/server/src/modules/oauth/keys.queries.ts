import { type Kysely, sql } from 'kysely';
import type { Schema } from '../../db/schema.js';

// Signing keys are read and written as the connecting user: the application role has no grant on them.
// A transaction is a Kysely too, so rotation runs these in one.

/** The current key and the keys retired less than `keepSeconds` ago, newest first. */
export const listVerifyingKeys = (db: Kysely<Schema>, keepSeconds: number) =>
  db
    .selectFrom('signing_keys')
    .select(['kid', 'public_jwk', 'private_pkcs8', 'retired_at'])
    .where((eb) => eb.or([eb('retired_at', 'is', null), eb('retired_at', '>', sql<Date>`now() - make_interval(secs => ${keepSeconds})`)]))
    .orderBy('created_at', 'desc')
    .execute();

export const insertSigningKey = (db: Kysely<Schema>, row: { kid: string; public_jwk: string; private_pkcs8: string }) =>
  db.insertInto('signing_keys').values(row).execute();

export const retireCurrentKey = (db: Kysely<Schema>) =>
  db.updateTable('signing_keys').set({ retired_at: sql<Date>`now()` }).where('retired_at', 'is', null).execute();
