import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Database } from '../../db/database.js';
import { insertSigningKey, listVerifyingKeys, retireCurrentKey } from './keys.queries.js';

export interface PublicKeyEntry {
  kid: string;
  key: KeyObject;
  jwk: JWK;
}

/**
 * Ed25519 signing keys, kept in the database (read as the connecting user: the
 * application role has no grant on them). The current key signs; retired keys
 * stay in the JWKS and verify until every token they signed has expired.
 */
export class KeyStore {
  private current: { kid: string; key: KeyObject } | undefined;
  private verifying = new Map<string, PublicKeyEntry>();

  constructor(
    private readonly db: Database,
    /** How long a retired key must still verify: the access-token lifetime plus clock tolerance. */
    private readonly retiredKeepSeconds: number,
  ) {}

  /** Loads the keys, creating the first one when there is none. */
  async load(): Promise<void> {
    let rows = await this.fetch();
    if (!rows.some((r) => r.retired_at === null)) {
      await insertKey(this.db).catch((err: { code?: string }) => {
        if (err.code !== '23505') throw err; // another process created it first
      });
      rows = await this.fetch();
    }
    const verifying = new Map<string, PublicKeyEntry>();
    for (const r of rows) {
      const jwk = { ...(r.public_jwk as JWK), kid: r.kid, alg: 'EdDSA', use: 'sig' };
      verifying.set(r.kid, { kid: r.kid, key: createPublicKey({ key: r.public_jwk, format: 'jwk' }), jwk });
      if (r.retired_at === null) this.current = { kid: r.kid, key: createPrivateKey(r.private_pkcs8) };
    }
    this.verifying = verifying;
  }

  private fetch() {
    return listVerifyingKeys(this.db.kysely, this.retiredKeepSeconds);
  }

  signingKey(): { kid: string; key: KeyObject } {
    if (!this.current) throw new Error('signing keys are not loaded');
    return this.current;
  }

  publicKey(kid: string): KeyObject | undefined {
    return this.verifying.get(kid)?.key;
  }

  jwks(): { keys: JWK[] } {
    return { keys: [...this.verifying.values()].map((e) => e.jwk) };
  }
}

async function newKeyRow() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  const kid = await calculateJwkThumbprint(jwk);
  return {
    kid,
    public_jwk: JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }),
    private_pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

async function insertKey(db: Database): Promise<void> {
  await insertSigningKey(db.kysely, await newKeyRow());
}

/** Makes a new current key; the previous one is retired but keeps verifying. Returns the new kid. */
export async function rotateSigningKey(db: Database): Promise<string> {
  return db.kysely.transaction().execute(async (tx) => {
    await retireCurrentKey(tx);
    const row = await newKeyRow();
    await insertSigningKey(tx, row);
    return row.kid;
  });
}
