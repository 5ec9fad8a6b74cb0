// Verifying an organization's audit chain and signing checkpoints of it.
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Database } from '../../db/database.js';
import type { Tx } from '../../db/tenant-context.js';
import {
  type CheckpointRow,
  chainHead,
  chainLinks,
  checkpointPublicKey,
  currentCheckpointKey,
  insertCheckpoint,
  insertCheckpointKey,
  latestCheckpoint,
  retireCheckpointKey,
  unchainedEvent,
} from './audit.queries.js';

/** Runs `fn` in one short transaction in the organization's tenant context. */
export type InOrganization = <T>(fn: (tx: Tx) => Promise<T>) => Promise<T>;

export interface Verification {
  ok: boolean;
  /** Events whose hash and link were checked. */
  checked: number;
  first_mismatch: { id: string; reason: string } | null;
  /** The latest signed checkpoint after this verification (a new one when the chain grew and verified). */
  checkpoint: { chain_seq: number; last_event_id: string; hash: string; signed_at: Date; kid: string } | null;
}

/** Events per transaction: each batch is one short statement, never one transaction across the whole log. */
const BATCH = 1000;

/**
 * Recomputes the chain from its first event up to the head as it is at the start, in
 * batches, and checks the latest checkpoint's place and signature. The first event that
 * does not match is named: an altered event itself, the event after a deleted one, the
 * recorded head when the end was cut off. When all is well and the chain has grown since
 * the latest checkpoint, a new checkpoint of the head is signed and stored.
 *
 * With `fromCheckpoint` (the periodic checkpoint job), only the events from the latest
 * checkpoint's own on are recomputed: that event must match the checkpoint, whose
 * signature is checked, so what comes before it is vouched for by the signature.
 */
export async function verifyChain(
  db: Database,
  inOrg: InOrganization,
  orgId: string,
  opts: { fromCheckpoint?: boolean } = {},
): Promise<Verification> {
  const start = await inOrg(async (tx) => ({ head: await chainHead(tx, orgId), checkpoint: await latestCheckpoint(tx, orgId) }));
  const { head, checkpoint } = start;
  const upTo = head?.seq ?? 0;
  const anchor = opts.fromCheckpoint && checkpoint ? checkpoint : undefined;
  let checked = 0;
  let after = anchor ? anchor.seq - 1 : 0;
  // undefined: the first event's link is the anchor's, checked through its hash instead.
  let prev: string | null | undefined = anchor ? undefined : null;
  const result = (mismatch: Verification['first_mismatch']): Verification => ({
    ok: mismatch === null,
    checked,
    first_mismatch: mismatch,
    checkpoint: checkpoint ? publicPart(checkpoint) : null,
  });

  while (after < upTo) {
    const links = await inOrg((tx) => chainLinks(tx, orgId, after, upTo, BATCH));
    if (links.length === 0) break;
    for (const link of links) {
      if (link.seq !== after + 1 || (prev !== undefined && link.prev_hash !== prev))
        return result({ id: link.id, reason: 'does not link to the event before it' });
      if (!link.intact) return result({ id: link.id, reason: 'does not match its hash' });
      if (checkpoint?.seq === link.seq && (checkpoint.last_event_id !== link.id || checkpoint.hash !== link.hash))
        return result({ id: link.id, reason: 'differs from the signed checkpoint' });
      prev = link.hash;
      after = link.seq;
      checked++;
    }
  }
  if (head && (after !== head.seq || prev !== head.hash))
    return result({ id: head.last_event_id ?? '', reason: 'missing: the chain ends before its recorded head' });
  if (checkpoint) {
    if (checkpoint.seq > after) return result({ id: checkpoint.last_event_id, reason: 'missing: named by the signed checkpoint' });
    if (!(await checkpointSignatureValid(db, orgId, checkpoint)))
      return result({ id: checkpoint.last_event_id, reason: 'the checkpoint’s signature does not verify' });
  }
  const outside = await inOrg((tx) => unchainedEvent(tx, orgId));
  if (outside) return result({ id: outside, reason: 'is not in the chain' });

  if (!head?.last_event_id || !head.hash || (checkpoint && checkpoint.seq >= head.seq)) return result(null);
  const signed = await signCheckpoint(db, orgId, { seq: head.seq, last_event_id: head.last_event_id, hash: head.hash });
  await inOrg((tx) => insertCheckpoint(tx, orgId, signed));
  return { ...result(null), checkpoint: publicPart(signed) };
}

const publicPart = (c: CheckpointRow) => ({
  chain_seq: c.seq,
  last_event_id: c.last_event_id,
  hash: c.hash,
  signed_at: c.signed_at,
  kid: c.kid,
});

/** What a checkpoint's signature covers; versioned, so it can never be mistaken for another signed message. */
function checkpointMessage(orgId: string, c: Omit<CheckpointRow, 'kid' | 'signature'>): Buffer {
  return Buffer.from(
    ['tenantry-audit-checkpoint-v1', orgId, String(c.seq), c.last_event_id, c.hash, c.signed_at.toISOString()].join('\n'),
    'utf8',
  );
}

async function signCheckpoint(
  db: Database,
  orgId: string,
  at: Pick<CheckpointRow, 'seq' | 'last_event_id' | 'hash'>,
): Promise<CheckpointRow> {
  const key = await checkpointKey(db);
  // Milliseconds, as the database keeps and returns them, so the message is the same when verified.
  const c = { ...at, signed_at: new Date() };
  const signature = sign(null, checkpointMessage(orgId, c), createPrivateKey(key.private_pkcs8)).toString('hex');
  return { ...c, kid: key.kid, signature };
}

async function checkpointSignatureValid(db: Database, orgId: string, c: CheckpointRow): Promise<boolean> {
  const row = await checkpointPublicKey(db.kysely, c.kid);
  if (!row) return false;
  const key = createPublicKey({ key: row.public_jwk as JWK, format: 'jwk' });
  return verify(null, checkpointMessage(orgId, c), key, Buffer.from(c.signature, 'hex'));
}

async function newCheckpointKeyRow() {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  return {
    kid: await calculateJwkThumbprint(jwk),
    public_jwk: JSON.stringify({ kty: jwk.kty, crv: jwk.crv, x: jwk.x }),
    private_pkcs8: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
  };
}

/**
 * Makes a new current checkpoint key (`tenantry keys rotate --kind audit`); the previous
 * one is retired and kept, so every checkpoint it signed still verifies. Returns the new kid.
 */
export async function rotateCheckpointKey(db: Database): Promise<string> {
  const row = await newCheckpointKeyRow();
  await db.kysely.transaction().execute(async (tx) => {
    await retireCheckpointKey(tx);
    if (!(await insertCheckpointKey(tx, row))) throw new Error('another rotation made a checkpoint key at the same time');
  });
  return row.kid;
}

/** The current checkpoint key, made on first use. */
async function checkpointKey(db: Database): Promise<{ kid: string; private_pkcs8: string }> {
  const current = await currentCheckpointKey(db.kysely);
  if (current) return current;
  await insertCheckpointKey(db.kysely, await newCheckpointKeyRow());
  // Another process may have made the key first: use whichever is current.
  const made = await currentCheckpointKey(db.kysely);
  if (!made) throw new Error('no current audit checkpoint key');
  return made;
}
