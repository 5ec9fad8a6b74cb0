import { Type } from '@sinclair/typebox';
import { closed, Page, PageQuery, Timestamp, Uuid } from '../../http/schemas.js';

export const SHARING_GRANT_STATUSES = ['active', 'revoked', 'suspended', 'expired'] as const;
export type SharingGrantStatus = (typeof SHARING_GRANT_STATUSES)[number];

const Status = Type.Unsafe<SharingGrantStatus>({
  type: 'string',
  enum: [...SHARING_GRANT_STATUSES],
  description:
    '`suspended` when the provider or the consumer was disabled in the organization (enabling it again does not reactivate the grant); `expired` past `expires_at`',
});

const ScopeName = Type.String({ minLength: 1, maxLength: 200, pattern: '^[\\x21-\\x7e]+$' });

export const SharingGrant = Type.Object(
  {
    id: Uuid,
    provider_tool_id: Uuid,
    consumer_tool_id: Uuid,
    scopes: Type.Array(Type.String(), { description: 'Shareable scopes of the provider that the consumer may use' }),
    purpose: Type.String(),
    status: Status,
    granted_by: Type.Union([Uuid, Type.Null()], { description: 'The owner who created it (null once that account is gone)' }),
    created_at: Timestamp,
    expires_at: Type.Union([Timestamp, Type.Null()]),
    revoked_at: Type.Union([Timestamp, Type.Null()]),
  },
  {
    $id: 'SharingGrant',
    title: 'SharingGrant',
    description: 'Permission for one tool (the consumer) to use another tool’s (the provider’s) shareable scopes in this organization',
  },
);
export const SharingGrantPage = Page('SharingGrantPage', SharingGrant);

export const CreateSharingGrantBody = closed({
  provider_tool_id: Uuid,
  consumer_tool_id: Uuid,
  scopes: Type.Array(ScopeName, { minItems: 1, maxItems: 50, uniqueItems: true }),
  purpose: Type.String({
    minLength: 1,
    maxLength: 500,
    description: 'Why the consumer needs the data, for the audit log and for reviewers',
  }),
  expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'When the grant stops; must be in the future' })),
});

export const ListSharingGrantsQuery = Type.Object({
  ...PageQuery,
  provider_tool_id: Type.Optional(Uuid),
  consumer_tool_id: Type.Optional(Uuid),
  status: Type.Optional(Status),
});

export const SharingGrantParams = Type.Object({ org_id: Uuid, grant_id: Uuid });
