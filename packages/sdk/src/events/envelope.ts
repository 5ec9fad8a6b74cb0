// The envelope of every Tenantry event, on the pull API and in webhook bodies (SPEC §11).

export interface TenantryEvent {
  id: string;
  type: string;
  /** RFC 3339. */
  timestamp: string;
  organization_id: string;
  actor: { type: string; id: string | null };
  data: Record<string, unknown>;
}

export function isTenantryEvent(v: unknown): v is TenantryEvent {
  if (typeof v !== 'object' || v === null) return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e.id === 'string' &&
    typeof e.type === 'string' &&
    typeof e.timestamp === 'string' &&
    !Number.isNaN(Date.parse(e.timestamp)) &&
    typeof e.organization_id === 'string' &&
    typeof e.data === 'object' &&
    e.data !== null
  );
}
