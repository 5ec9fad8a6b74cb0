import { type Static, Type } from '@sinclair/typebox';
import { closed, Page, PageQuery, Timestamp, Uuid } from '../../http/schemas.js';
import { INDUSTRIES, SIZES } from './profile.js';

// Plain `enum` keywords, so a wrong value's error lists the allowed ones.
const Industry = Type.Unsafe<(typeof INDUSTRIES)[number]>({ type: 'string', enum: [...INDUSTRIES] });
const Size = Type.Unsafe<(typeof SIZES)[number]>({ type: 'string', enum: [...SIZES] });
const Status = Type.Unsafe<'active' | 'suspended' | 'archived'>({ type: 'string', enum: ['active', 'suspended', 'archived'] });
const MetadataValue = Type.Union([Type.String({ maxLength: 1024 }), Type.Number(), Type.Boolean(), Type.Null()]);

const profile = {
  name: Type.String({ minLength: 1, maxLength: 200, description: '1 to 120 characters after trimming' }),
  slug: Type.String({
    minLength: 1,
    maxLength: 200,
    description: '3 to 48 of a-z, 0-9 and inner hyphens (NFKC, lower-cased); not reserved',
  }),
  industry: Industry,
  size: Type.Union([Size, Type.Null()]),
  domains: Type.Array(Type.String({ maxLength: 253 }), { maxItems: 20, description: 'Hostnames; lower-cased, IDN as punycode' }),
  metadata: Type.Record(Type.String({ minLength: 1, maxLength: 100 }), MetadataValue, {
    maxProperties: 50,
    description: 'Flat object of string, number, boolean or null values; at most 50 keys and 4 KiB',
  }),
};

export const CreateOrganizationBody = closed({
  name: profile.name,
  slug: Type.Optional(profile.slug),
  industry: profile.industry,
  size: Type.Optional(profile.size),
  domains: Type.Optional(profile.domains),
  metadata: Type.Optional(profile.metadata),
});
export type CreateOrganizationBody = Static<typeof CreateOrganizationBody>;

export const UpdateOrganizationBody = closed(
  {
    name: Type.Optional(profile.name),
    slug: Type.Optional(profile.slug),
    industry: Type.Optional(profile.industry),
    size: Type.Optional(profile.size),
    domains: Type.Optional(profile.domains),
    metadata: Type.Optional(profile.metadata),
  },
  { minProperties: 1 },
);
export type UpdateOrganizationBody = Static<typeof UpdateOrganizationBody>;

export const Organization = Type.Object(
  {
    id: Uuid,
    name: Type.String(),
    slug: Type.String(),
    industry: Type.String(),
    size: Type.Union([Type.String(), Type.Null()]),
    domains: Type.Array(Type.String()),
    status: Status,
    metadata: Type.Unsafe<Record<string, unknown>>(Type.Record(Type.String(), MetadataValue)),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Organization', title: 'Organization' },
);

export const OrganizationPage = Page('OrganizationPage', Organization);

export const ListOrganizationsQuery = Type.Object({
  ...PageQuery,
  q: Type.Optional(Type.String({ minLength: 1, maxLength: 120, description: 'Name or slug prefix (platform admins)' })),
  industry: Type.Optional(Industry),
  status: Type.Optional(Status),
});

export const OrgParams = Type.Object({ org_id: Uuid });
