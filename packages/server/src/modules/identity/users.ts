import { AppError } from '../../http/errors.js';

// Rules for user fields, applied after schema validation (which bounds raw sizes).

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/** The form emails are stored, compared and rate-limited in. */
export const canonicalEmail = (raw: string): string => raw.trim().toLowerCase();

/** Canonical and checked; one account per canonical email. */
export function normalizeEmail(raw: string, path = '/body/email'): string {
  const email = canonicalEmail(raw);
  // U+FFFD is what invalid UTF-8 in the body decoded to.
  if (email.length > 254 || !EMAIL.test(email) || email.includes('\uFFFD')) {
    throw new AppError('VALIDATION_FAILED', 'Invalid email address', [
      { path, message: 'must be an email address of at most 254 characters' },
    ]);
  }
  return email;
}

// Control characters, and the invisible ones that make a name read as another in an
// email or a member list: zero-width (U+200B–U+200D, U+FEFF), direction marks and
// overrides (U+200E–U+200F, U+202A–U+202E) and isolates (U+2066–U+2069).
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what this rejects
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/;

export function normalizeName(raw: string, path = '/body/name'): string {
  const name = raw.trim();
  if (name.length < 1 || name.length > 120 || CONTROL.test(name)) {
    throw new AppError('VALIDATION_FAILED', 'Invalid name', [
      { path, message: 'must be 1 to 120 characters without control, zero-width or bidirectional control characters' },
    ]);
  }
  return name;
}

export function checkPassword(password: string, path = '/body/password'): string {
  if (password.length < 12 || password.length > 256) {
    throw new AppError('VALIDATION_FAILED', 'Invalid password', [{ path, message: 'must be 12 to 256 characters' }]);
  }
  return password;
}
