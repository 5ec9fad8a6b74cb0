import { Type } from '@sinclair/typebox';
import { closed, Page, PageQuery, ref, Timestamp, Uuid } from '../../http/schemas.js';

// The registry (SPEC §10): tools, their scope catalogue and their credentials.

export const Slug = Type.String({
  minLength: 2,
  maxLength: 40,
  pattern: '^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$',
  description: 'Lower-case letters, digits and inner hyphens; the prefix of the tool’s scope names',
});
/** `<tool slug>:<resource>:<action>`, or one of Tenantry’s own permissions (e.g. `members:read`). */
export const ScopeName = Type.String({ minLength: 3, maxLength: 120, pattern: '^[a-z0-9_-]+(?::[a-z0-9_.-]+){1,3}$' });
const Audience = Type.String({
  minLength: 8,
  maxLength: 500,
  description: 'An absolute URI, unique: the RFC 8707 resource that names the tool',
});
const Text = (maxLength: number) => Type.String({ maxLength });

export const ToolScope = Type.Object(
  {
    name: ScopeName,
    description: Type.String(),
    shareable: Type.Boolean({ description: 'Whether an organization may share it with another tool (sharing grants)' }),
    requires: Type.String({ description: 'The Tenantry permission a user must hold for the scope to be delegated on their behalf' }),
  },
  { $id: 'ToolScope', title: 'ToolScope' },
);

const ScopeInput = closed({
  name: ScopeName,
  description: Type.Optional(Text(500)),
  shareable: Type.Optional(Type.Boolean({ default: false })),
  requires: Type.Optional(Type.String({ maxLength: 100, description: 'A Tenantry permission; data:read unless given' })),
});
const ScopesInput = Type.Array(ScopeInput, { maxItems: 100 });

export const Tool = Type.Object(
  {
    id: Uuid,
    slug: Type.String(),
    name: Type.String(),
    description: Type.String(),
    client_id: Type.String({ description: 'The tool’s OAuth client id' }),
    audience: Type.String(),
    status: Type.Union([Type.Literal('active'), Type.Literal('disabled')]),
    scopes: Type.Array(ref(ToolScope)),
    created_at: Timestamp,
    updated_at: Timestamp,
  },
  { $id: 'Tool', title: 'Tool' },
);
export const ToolPage = Page('ToolPage', Tool);

export const CreatedTool = Type.Object(
  {
    tool: ref(Tool),
    credential_id: Uuid,
    client_secret: Type.String({ description: 'Shown only in this answer' }),
  },
  { $id: 'CreatedTool', title: 'CreatedTool' },
);

export const CreateToolBody = closed({
  slug: Slug,
  name: Type.String({ minLength: 1, maxLength: 200 }),
  description: Type.Optional(Text(2000)),
  audience: Audience,
  scopes: Type.Optional(ScopesInput),
});

export const PatchToolBody = closed(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    description: Type.Optional(Text(2000)),
    audience: Type.Optional(Audience),
    scopes: Type.Optional(ScopesInput),
  },
  { minProperties: 1 },
);

export const ToolParams = Type.Object({ id: Uuid });
export const CredentialParams = Type.Object({ id: Uuid, credential_id: Uuid });

export const ToolListQuery = Type.Object({
  ...PageQuery,
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('disabled')], { description: 'Platform admins only' })),
});

/** A public key of a private_key_jwt credential: Ed25519, P-256 or RSA. */
const PublicJwk = Type.Object(
  {
    kty: Type.String({ maxLength: 10 }),
    kid: Type.Optional(Type.String({ maxLength: 200 })),
    alg: Type.Optional(Type.String({ maxLength: 10 })),
    use: Type.Optional(Type.String({ maxLength: 10 })),
    crv: Type.Optional(Type.String({ maxLength: 20 })),
    x: Type.Optional(Type.String({ maxLength: 200 })),
    y: Type.Optional(Type.String({ maxLength: 200 })),
    n: Type.Optional(Type.String({ maxLength: 2000 })),
    e: Type.Optional(Type.String({ maxLength: 20 })),
  },
  { additionalProperties: true },
);

export const CreateCredentialBody = Type.Union([
  closed({
    type: Type.Literal('client_secret'),
    expires_in: Type.Optional(Type.Integer({ minimum: 60, maximum: 2 * 365 * 86400, description: 'Seconds; no expiry unless given' })),
  }),
  closed({
    type: Type.Literal('private_key_jwt'),
    jwks: closed({ keys: Type.Array(PublicJwk, { minItems: 1, maxItems: 5 }) }),
    expires_in: Type.Optional(Type.Integer({ minimum: 60, maximum: 2 * 365 * 86400 })),
  }),
]);

export const Credential = Type.Object(
  {
    id: Uuid,
    tool_id: Uuid,
    type: Type.Union([Type.Literal('client_secret'), Type.Literal('private_key_jwt')]),
    hint: Type.String({ description: 'The last characters of a secret, or the key ids of a JWKS' }),
    jwks: Type.Union([Type.Record(Type.String(), Type.Unknown()), Type.Null()], { description: 'The public keys (private_key_jwt)' }),
    created_at: Timestamp,
    last_used_at: Type.Union([Timestamp, Type.Null()]),
    expires_at: Type.Union([Timestamp, Type.Null()]),
    revoked_at: Type.Union([Timestamp, Type.Null()]),
  },
  { $id: 'ToolCredential', title: 'ToolCredential' },
);
export const CredentialList = Type.Object(
  { data: Type.Array(ref(Credential)) },
  { $id: 'ToolCredentialList', title: 'ToolCredentialList' },
);

export const CreatedCredential = Type.Object(
  {
    credential: ref(Credential),
    client_secret: Type.Optional(Type.String({ description: 'Shown only in this answer (client_secret credentials)' })),
  },
  { $id: 'CreatedToolCredential', title: 'CreatedToolCredential' },
);

// Enablement (organization admins) and discovery (tools).

export const OrganizationTool = Type.Object(
  {
    tool_id: Uuid,
    tool: Type.Object({
      slug: Type.String(),
      name: Type.String(),
      description: Type.String(),
      audience: Type.String(),
      status: Type.Union([Type.Literal('active'), Type.Literal('disabled')], { description: 'In the registry' }),
      scopes: Type.Array(ref(ToolScope), { description: 'The tool’s catalogue' }),
    }),
    status: Type.Union([Type.Literal('active'), Type.Literal('disabled'), Type.Literal('not_enabled')], {
      description: 'In this organization',
    }),
    scopes: Type.Array(Type.String(), { description: 'The scopes granted here' }),
    enabled_by: Type.Union([Uuid, Type.Null()]),
    enabled_at: Type.Union([Timestamp, Type.Null()]),
  },
  { $id: 'OrganizationTool', title: 'OrganizationTool' },
);
export const OrganizationToolPage = Page('OrganizationToolPage', OrganizationTool);

export const EnableToolBody = closed({
  scopes: Type.Optional(
    Type.Array(ScopeName, {
      maxItems: 100,
      description:
        'From the tool’s catalogue; Tenantry permissions only those the caller holds. Unless given: the scopes granted before, or the whole catalogue the caller may grant',
    }),
  ),
});

export const OrgToolParams = Type.Object({ org_id: Uuid, tool_id: Uuid });

export const ToolOrganization = Type.Object(
  { organization_id: Uuid, scopes: Type.Array(Type.String()), enabled_at: Timestamp },
  { $id: 'ToolOrganization', title: 'ToolOrganization', description: 'An organization where the calling tool is enabled' },
);
export const ToolOrganizationPage = Page('ToolOrganizationPage', ToolOrganization);
