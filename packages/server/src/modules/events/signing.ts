// Standard Webhooks signatures: v1 (HMAC-SHA256 with the endpoint's secret) and v1a
// (Ed25519 with the service's key, public at /.well-known/webhook-keys.json). Both sign
// `${webhook-id}.${webhook-timestamp}.${body}`.
import { createHmac, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject, randomBytes, sign } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Schema } from '../../db/schema.js';
import './tables.js';

/** `whsec_` and the base64 of 32 random bytes. */
export const newWebhookSecret = (): string => `whsec_${randomBytes(32).toString('base64')}`;

const signedContent = (id: string, timestamp: number, body: string) => `${id}.${timestamp}.${body}`;

export function hmacSignature(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  return `v1,${createHmac('sha256', key)
    .update(signedContent(id, timestamp, body))
    .digest('base64')}`;
}

export interface WebhookKey {
  kid: string;
  privateKey: KeyObject;
  /** The raw 32-byte public key, base64. */
  publicKey: string;
}

export const ed25519Signature = (key: WebhookKey, id: string, timestamp: number, body: string): string =>
  `v1a,${sign(null, Buffer.from(signedContent(id, timestamp, body)), key.privateKey).toString('base64')}`;

const currentKeyRow = (db: Kysely<Schema>) =>
  db
    .selectFrom('webhook_signing_keys')
    .select(['kid', 'public_key', 'private_pkcs8'])
    .where('retired_at', 'is', null)
    .orderBy('created_at', 'desc')
    .executeTakeFirst();

function newKeyRow() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'jwk' }).x!;
  return {
    kid: `whk_${randomBytes(8).toString('hex')}`,
    public_key: Buffer.from(raw, 'base64url').toString('base64'),
    private_pkcs8: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}

/** The current Ed25519 key, created on first use; read and written as the connecting user. */
export async function loadWebhookKey(db: Kysely<Schema>): Promise<WebhookKey> {
  let row = await currentKeyRow(db);
  if (!row) {
    await db
      .insertInto('webhook_signing_keys')
      .values(newKeyRow())
      .onConflict((oc) => oc.doNothing())
      .execute();
    row = (await currentKeyRow(db))!;
  }
  return { kid: row.kid, publicKey: row.public_key, privateKey: createPrivateKey(row.private_pkcs8) };
}

/**
 * Makes a new current key (`tenantry keys rotate --kind webhooks`); the previous one is
 * retired, stops signing and stays published, so deliveries it signed still verify.
 */
export async function rotateWebhookKey(db: Kysely<Schema>): Promise<string> {
  return db.transaction().execute(async (tx) => {
    await tx.updateTable('webhook_signing_keys').set({ retired_at: new Date() }).where('retired_at', 'is', null).execute();
    const row = newKeyRow();
    await tx.insertInto('webhook_signing_keys').values(row).execute();
    return row.kid;
  });
}

/** The published keys: current and retired ones still in the table. */
export async function publishedWebhookKeys(db: Kysely<Schema>) {
  const rows = await db
    .selectFrom('webhook_signing_keys')
    .select(['kid', 'public_key', 'retired_at'])
    .orderBy('created_at', 'desc')
    .execute();
  return rows.map((r) => ({
    kid: r.kid,
    alg: 'Ed25519' as const,
    /** Standard Webhooks form of the public key. */
    public_key: `whpk_${r.public_key}`,
    jwk: createPublicKey({
      key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(r.public_key, 'base64').toString('base64url') },
      format: 'jwk',
    }).export({
      format: 'jwk',
    }),
    retired: r.retired_at !== null,
  }));
}
