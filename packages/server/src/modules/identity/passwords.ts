import { hash, verify } from '@node-rs/argon2';

/**
 * How passwords are hashed: always argon2id, p=1. `owasp` is OWASP's m=19456 KiB, t=2, and
 * the only cost a server gets (loadConfig has no variable for it). `test-only-weak` exists
 * so a test suite signing up thousands of users does not spend most of its CPU hashing:
 * only testConfig() sets it, and test/password-hashing.test.ts pins that everything built
 * from loadConfig() stores `owasp` hashes. A hash records its own cost, so either verifies
 * under the other.
 */
export type PasswordHashing = 'owasp' | 'test-only-weak';

const COSTS: Readonly<Record<PasswordHashing, { memoryCost: number; timeCost: number }>> = {
  owasp: { memoryCost: 19_456, timeCost: 2 },
  'test-only-weak': { memoryCost: 1024, timeCost: 1 },
};

/** The argon2 parameters of a hashing setting; an unknown setting (a hand-built config) is refused. */
export function hashParams(hashing: PasswordHashing) {
  const cost = Object.hasOwn(COSTS, hashing) ? COSTS[hashing] : undefined;
  if (!cost) throw new Error(`unknown password hashing ${JSON.stringify(hashing)}: expected one of ${Object.keys(COSTS).join(', ')}`);
  return { algorithm: 2 /* Argon2id */, parallelism: 1, ...cost } as const;
}

/** Hashes off the event loop; `owasp` unless the caller passes its configuration's setting. */
export const hashPassword = (password: string, hashing: PasswordHashing = 'owasp'): Promise<string> => hash(password, hashParams(hashing));

const dummies = new Map<PasswordHashing, Promise<string>>();

/**
 * The hash an unknown email is checked against, at the configured cost, computed up front
 * so not even the first unknown-email login is faster.
 */
export function prepareDummyHash(hashing: PasswordHashing = 'owasp'): Promise<string> {
  let dummy = dummies.get(hashing);
  if (!dummy) {
    dummy = hashPassword('tenantry-dummy-password-for-timing', hashing);
    dummies.set(hashing, dummy);
  }
  return dummy;
}

/**
 * Verifies `password` against `stored`, or against a dummy hash when there is no
 * user, so that an unknown email and a wrong password take the same time.
 */
export async function verifyPassword(
  stored: string | null | undefined,
  password: string,
  hashing: PasswordHashing = 'owasp',
): Promise<boolean> {
  const target = stored ?? (await prepareDummyHash(hashing));
  try {
    const ok = await verify(target, password);
    return ok && stored != null;
  } catch {
    return false;
  }
}
