import { domainToASCII } from 'node:url';
import { AppError, type FieldError } from '../../http/errors.js';
import { normalizeName } from '../identity/users.js';

// The typed organization profile: every rule about its fields, in one place.

export const INDUSTRIES = [
  'agriculture',
  'construction',
  'education',
  'energy',
  'finance',
  'government',
  'healthcare',
  'hospitality',
  'insurance',
  'legal',
  'manufacturing',
  'media',
  'nonprofit',
  'professional_services',
  'real_estate',
  'retail',
  'technology',
  'telecommunications',
  'transportation',
  'other',
] as const;

export const SIZES = ['1-10', '11-50', '51-200', '201-1000', '1001-5000', '5001+'] as const;

export const RESERVED_SLUGS = new Set([
  'admin',
  'administrator',
  'api',
  'app',
  'apps',
  'auth',
  'billing',
  'blog',
  'dashboard',
  'docs',
  'help',
  'login',
  'logout',
  'mail',
  'me',
  'new',
  'oauth',
  'org',
  'orgs',
  'organization',
  'organizations',
  'platform',
  'root',
  'settings',
  'signup',
  'static',
  'status',
  'support',
  'system',
  'tenantry',
  'www',
  'well-known',
]);

const SLUG = /^[a-z0-9]+(?:-[a-z0-9]+)*$/;
const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
export const METADATA_MAX_BYTES = 4096;

const invalid = (errors: FieldError[]) => new AppError('VALIDATION_FAILED', 'The organization profile is invalid', errors);

export function normalizeSlug(raw: string): string {
  const slug = raw.normalize('NFKC').toLowerCase();
  if (slug.length < 3 || slug.length > 48 || !SLUG.test(slug)) {
    throw invalid([{ path: '/body/slug', message: 'must be 3 to 48 of a-z, 0-9 and single inner hyphens' }]);
  }
  if (RESERVED_SLUGS.has(slug)) throw invalid([{ path: '/body/slug', message: `"${slug}" is reserved` }]);
  return slug;
}

/** A slug derived from a name: ASCII-folded, hyphenated, padded or suffixed to stay valid. */
export function slugFromName(name: string): string {
  let s = name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .normalize('NFKC')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 40)
    .replace(/-+$/, '');
  if (s.length < 3) s = s ? `${s}-org` : 'org';
  if (s.length < 3 || RESERVED_SLUGS.has(s)) s = `${s}-org`;
  return s;
}

export function normalizeDomains(raw: string[]): string[] {
  const errors: FieldError[] = [];
  const out: string[] = [];
  raw.forEach((d, i) => {
    const ascii = domainToASCII(d.trim().toLowerCase().replace(/\.$/, ''));
    const labels = ascii.split('.');
    if (!ascii || ascii.length > 253 || labels.length < 2 || !labels.every((l) => LABEL.test(l)) || /^\d+$/.test(labels.at(-1)!)) {
      errors.push({ path: `/body/domains/${i}`, message: 'must be a hostname such as example.com' });
    } else if (!out.includes(ascii)) out.push(ascii);
  });
  if (errors.length > 0) throw invalid(errors);
  return out;
}

export function checkMetadata(metadata: Record<string, unknown>): string {
  const json = JSON.stringify(metadata);
  if (Buffer.byteLength(json, 'utf8') > METADATA_MAX_BYTES) {
    throw invalid([{ path: '/body/metadata', message: `must serialise to at most ${METADATA_MAX_BYTES} bytes` }]);
  }
  return json;
}

export interface ProfileInput {
  name?: string | undefined;
  slug?: string | undefined;
  industry?: string | undefined;
  size?: string | null | undefined;
  domains?: string[] | undefined;
  metadata?: Record<string, unknown> | undefined;
}

/** The validated, normalised columns for the fields present in `input` (industry and size are checked by the schema). */
export function profileColumns(input: ProfileInput) {
  return {
    ...(input.name !== undefined ? { name: normalizeName(input.name) } : {}),
    ...(input.slug !== undefined ? { slug: normalizeSlug(input.slug) } : {}),
    ...(input.industry !== undefined ? { industry: input.industry } : {}),
    ...(input.size !== undefined ? { size: input.size } : {}),
    ...(input.domains !== undefined ? { domains: normalizeDomains(input.domains) } : {}),
    ...(input.metadata !== undefined ? { metadata: checkMetadata(input.metadata) } : {}),
  };
}
