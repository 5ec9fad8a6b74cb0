// The permission table of the product, as data. Every authorization decision goes through can().
import type { Role } from '../../db/schema.js';

export const ROLES = ['owner', 'admin', 'member', 'viewer'] as const satisfies readonly Role[];

export const PERMISSIONS = [
  'organization:read',
  'members:read',
  'data:read',
  'data:write',
  'organization:update',
  'members:manage',
  'invitations:manage',
  'audit:read',
  'events:read',
  'api_keys:manage',
  'organization:delete',
  'owners:manage',
  'tools:manage',
  'sharing_grants:manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const viewer: Permission[] = ['organization:read', 'members:read', 'data:read'];
const member: Permission[] = [...viewer, 'data:write'];
const admin: Permission[] = [
  ...member,
  'organization:update',
  'members:manage',
  'invitations:manage',
  'audit:read',
  'events:read',
  'tools:manage',
  'api_keys:manage',
];
const owner: Permission[] = [...admin, 'organization:delete', 'owners:manage', 'sharing_grants:manage'];

export const ROLE_PERMISSIONS: Readonly<Record<Role, readonly Permission[]>> = Object.freeze({ owner, admin, member, viewer });

/** What a platform admin may do in any organization, member or not. Suspension is theirs alone. */
export type PlatformPermission = Permission | 'organization:suspend';
export const PLATFORM_PERMISSIONS: readonly PlatformPermission[] = [
  'organization:read',
  'members:read',
  'audit:read',
  'events:read',
  'organization:delete',
  'organization:suspend',
];

const PLATFORM_GRANTS: ReadonlySet<PlatformPermission> = new Set(PLATFORM_PERMISSIONS);
export const isPlatformPermission = (permission: PlatformPermission): boolean => PLATFORM_GRANTS.has(permission);

const RANK: Readonly<Record<Role, number>> = { owner: 4, admin: 3, member: 2, viewer: 1 };

// Looked up as sets of every permission name, so the gate asks about a platform-only
// permission the same way: no role holds it.
const ROLE_GRANTS: Readonly<Record<Role, ReadonlySet<PlatformPermission>>> = {
  owner: new Set(owner),
  admin: new Set(admin),
  member: new Set(member),
  viewer: new Set(viewer),
};

export const can = (role: Role | null | undefined, permission: PlatformPermission): boolean =>
  role != null && ROLE_GRANTS[role].has(permission);

/** True when `a` is at least as high as `b` (nobody grants a role above their own). */
export const atLeast = (a: Role, b: Role): boolean => RANK[a] >= RANK[b];

export const permissionsOf = (role: Role): Permission[] => [...ROLE_PERMISSIONS[role]];
