// The administrative commands, as functions of an open database: main.ts opens
// and closes it, tests hand in a test database.
import type { Database } from '../db/database.js';
import { AppError } from '../http/errors.js';
import { rotateCheckpointKey } from '../modules/audit/audit.integrity.js';
import { verifyAuditLogAsOperator } from '../modules/audit/audit.service.js';
import { rotateWebhookKey } from '../modules/events/signing.js';
import { ensurePlatformAdmin } from '../modules/identity/identity.service.js';
import { canonicalEmail, checkPassword, normalizeEmail } from '../modules/identity/users.js';
import { rotateSigningKey } from '../modules/oauth/keys.js';
import type { KeyKind } from './args.js';

/** Where a command writes: stdout for results a script may read, stderr for people. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
}

export const processOutput: Output = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
};

/** Exit codes: 0 done, 1 refused input or failure, 2 bad command line (args.ts). */
export type ExitCode = 0 | 1 | 2;

/** Refuses a bad email or password before anything opens the database (exit 1), or undefined when both are acceptable. */
export function refuseAdminInput(input: { email: string; password: string }, io: Output): ExitCode | undefined {
  try {
    normalizeEmail(input.email, 'email');
    checkPassword(input.password, 'password');
    return undefined;
  } catch (err) {
    if (!(err instanceof AppError && err.errors)) throw err;
    io.err(`tenantry admin create: ${err.errors.map((e) => `--${e.path} ${e.message}`).join('; ')}\n`);
    return 1;
  }
}

/** `tenantry admin create`: creates a platform admin or makes an existing user one (idempotent). */
export async function adminCreate(db: Database, input: { email: string; password: string }, io: Output): Promise<ExitCode> {
  try {
    const id = await ensurePlatformAdmin(db, input.email, input.password);
    io.out(`Platform admin ${canonicalEmail(input.email)} is ready (user id ${id})\n`);
    return 0;
  } catch (err) {
    if (!(err instanceof AppError && err.errors)) throw err;
    // The service names fields by their option ("email", "password"); never echo the password.
    io.err(`tenantry admin create: ${err.errors.map((e) => `--${e.path} ${e.message}`).join('; ')}\n`);
    return 1;
  }
}

const ROTATIONS: Record<KeyKind, { rotate: (db: Database) => Promise<string>; after: string }> = {
  tokens: {
    rotate: rotateSigningKey,
    after: 'the previous key keeps verifying the tokens it signed until they expire',
  },
  webhooks: {
    rotate: (db) => rotateWebhookKey(db.kysely),
    after: 'the previous key stays published at /.well-known/webhook-keys.json, so deliveries it signed still verify',
  },
  audit: {
    rotate: rotateCheckpointKey,
    after: 'the previous key is kept, so the checkpoints it signed still verify',
  },
};

/** `tenantry keys rotate [--kind]`: prints only the new key id on stdout; private keys never leave the database. */
export async function keysRotate(db: Database, io: Output, kind: KeyKind = 'tokens'): Promise<ExitCode> {
  const r = ROTATIONS[kind];
  const kid = await r.rotate(db);
  io.out(`${kid}\n`);
  io.err(`New ${kind} signing key made current. Running servers start signing with it within a minute; ${r.after}.\n`);
  return 0;
}

/** `tenantry audit verify --org`: the verification as JSON on stdout; 0 when the chain verifies, 1 when not. */
export async function auditVerify(db: Database, orgId: string, io: Output): Promise<ExitCode> {
  try {
    const v = await verifyAuditLogAsOperator(db, orgId);
    io.out(`${JSON.stringify(v)}\n`);
    if (!v.ok) io.err(`tenantry audit verify: the audit log does not verify: event ${v.first_mismatch?.id} ${v.first_mismatch?.reason}\n`);
    return v.ok ? 0 : 1;
  } catch (err) {
    if (!(err instanceof AppError && err.code === 'NOT_FOUND')) throw err;
    io.err(`tenantry audit verify: organization ${orgId} not found\n`);
    return 1;
  }
}
