import { hash, verify } from '@node-rs/argon2';

// argon2id with the OWASP parameters: m=19456 KiB, t=2, p=1. Runs off the event loop.
const PARAMS = { algorithm: 2 /* Argon2id */, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const hashPassword = (password: string): Promise<string> => hash(password, PARAMS);

let dummy: Promise<string> | undefined;

/** Computes the dummy hash up front, so not even the first unknown-email login is faster. */
export function prepareDummyHash(): Promise<string> {
  dummy ??= hashPassword('tenantry-dummy-password-for-timing');
  return dummy;
}

/**
 * Verifies `password` against `stored`, or against a dummy hash when there is no
 * user, so that an unknown email and a wrong password take the same time.
 */
export async function verifyPassword(stored: string | null | undefined, password: string): Promise<boolean> {
  const target = stored ?? (await prepareDummyHash());
  try {
    const ok = await verify(target, password);
    return ok && stored != null;
  } catch {
    return false;
  }
}
