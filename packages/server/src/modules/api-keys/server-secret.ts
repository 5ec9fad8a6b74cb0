import { randomBytes } from 'node:crypto';
import type { Config } from '../../config.js';
import type { Database } from '../../db/database.js';
import { insertServerSecret, readServerSecret } from './api-keys.queries.js';

/**
 * The secret API key hashes are keyed with: API_KEY_SECRET when set; otherwise one made
 * on first start and kept in the database (api_key_secrets, which no request role can
 * read), so keys survive restarts of a development or embedded install. Production sets
 * API_KEY_SECRET (the configuration refuses to start without it under NODE_ENV=production).
 */
async function loadServerSecret(db: Database, config: Pick<Config, 'apiKeySecret'>): Promise<Buffer> {
  if (config.apiKeySecret) return config.apiKeySecret;
  const kept = await readServerSecret(db.kysely);
  if (kept) return kept;
  // Two processes starting at once: the first insert wins and both read it back.
  await insertServerSecret(db.kysely, randomBytes(32));
  return (await readServerSecret(db.kysely))!;
}

/** The server secret, read on first use (not at start: the schema may still be on its way), then kept. */
export function serverSecret(db: Database, config: Pick<Config, 'apiKeySecret'>): () => Promise<Buffer> {
  let loading: Promise<Buffer> | undefined;
  return () => {
    loading ??= loadServerSecret(db, config).catch((err: unknown) => {
      loading = undefined;
      throw err;
    });
    return loading;
  };
}
