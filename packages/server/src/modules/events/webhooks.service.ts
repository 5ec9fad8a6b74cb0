import type { Database } from '../../db/database.js';
import { isUuid, uuidv7 } from '../../db/ids.js';
import type { Tx } from '../../db/tenant-context.js';
import { AppError, notFound } from '../../http/errors.js';
import { decodeCursor, page } from '../../http/pagination.js';
import type { Caller } from '../access/gate.js';
import { asPlatformAdmin } from '../access/transactions.js';
import { newWebhookSecret } from './signing.js';
import { parseWebhookUrl, resolveTarget } from './ssrf.js';
import {
  deleteEndpoint,
  findEndpoint,
  insertEndpoint,
  insertReplay,
  listDeliveries,
  listEndpoints,
  retryDelivery,
  rotateEndpointSecret,
  updateEndpoint,
} from './webhooks.queries.js';

/** How long a rotated-out secret keeps signing next to the new one. */
export const SECRET_GRACE_SECONDS = 24 * 3600;

export interface WebhookDeps {
  db: Database;
  allowPrivate: boolean;
}

/** Endpoints are the platform's: platform admins manage them (tools, their own, later). */
const asPlatform = <T>(db: Database, caller: Caller, fn: (tx: Tx) => Promise<T>): Promise<T> =>
  asPlatformAdmin(db, caller, 'Only platform admins manage webhook endpoints', fn);

/** The URL's form and where it resolves now (checked again at each delivery). */
async function checkedUrl(deps: WebhookDeps, raw: string): Promise<string> {
  const u = parseWebhookUrl(raw);
  await resolveTarget(u, deps.allowPrivate);
  return u.toString();
}

const unique = (types: string[]) => [...new Set(types)].sort();

export async function createEndpoint(
  deps: WebhookDeps,
  caller: Caller,
  body: { url: string; event_types: string[]; tool_id?: string | undefined },
) {
  if (body.tool_id !== undefined) {
    throw new AppError('VALIDATION_FAILED', 'Tools are not available yet', [{ path: '/body/tool_id', message: 'no tool has this id' }]);
  }
  const url = await checkedUrl(deps, body.url);
  const secret = newWebhookSecret();
  const endpoint = await asPlatform(deps.db, caller, (tx) =>
    insertEndpoint(tx, { id: uuidv7(), url, event_types: unique(body.event_types), tool_id: null, secret }),
  );
  return { ...endpoint, secret };
}

export async function getEndpoints(deps: WebhookDeps, caller: Caller, q: { limit?: number | undefined; cursor?: string | undefined }) {
  const limit = q.limit ?? 20;
  const after = decodeCursor(q.cursor, isUuid);
  return asPlatform(deps.db, caller, async (tx) => page(await listEndpoints(tx, after, limit), limit, (e) => e.id));
}

export const getEndpoint = (deps: WebhookDeps, caller: Caller, id: string) =>
  asPlatform(deps.db, caller, async (tx) => (await findEndpoint(tx, id)) ?? Promise.reject(notFound('Webhook endpoint')));

export async function patchEndpoint(
  deps: WebhookDeps,
  caller: Caller,
  id: string,
  body: { url?: string | undefined; event_types?: string[] | undefined; status?: 'enabled' | 'disabled' | undefined },
) {
  const url = body.url === undefined ? undefined : await checkedUrl(deps, body.url);
  return asPlatform(deps.db, caller, async (tx) => {
    const set = {
      ...(url !== undefined ? { url } : {}),
      ...(body.event_types ? { event_types: unique(body.event_types) } : {}),
      // Enabling clears the failure record; disabling by hand says so.
      ...(body.status === 'enabled' ? { status: 'enabled' as const, disabled_reason: null, failing_since: null } : {}),
      ...(body.status === 'disabled' ? { status: 'disabled' as const, disabled_reason: 'disabled by a platform admin' } : {}),
    };
    return (await updateEndpoint(tx, id, set)) ?? Promise.reject(notFound('Webhook endpoint'));
  });
}

export const removeEndpoint = (deps: WebhookDeps, caller: Caller, id: string) =>
  asPlatform(deps.db, caller, async (tx) => {
    if (!(await deleteEndpoint(tx, id)).numDeletedRows) throw notFound('Webhook endpoint');
  });

export const rotateSecret = (deps: WebhookDeps, caller: Caller, id: string) =>
  asPlatform(deps.db, caller, async (tx) => {
    const secret = newWebhookSecret();
    if (!(await rotateEndpointSecret(tx, id, secret, SECRET_GRACE_SECONDS))) throw notFound('Webhook endpoint');
    return { secret, previous_secret_expires_in: SECRET_GRACE_SECONDS };
  });

const DELIVERY_CURSOR = /^(\d{4}-\d\d-\d\dT[\d:.]+Z)\|([0-9a-f-]{36})$/;

export async function getDeliveries(
  deps: WebhookDeps,
  caller: Caller,
  id: string,
  q: { limit?: number | undefined; cursor?: string | undefined },
) {
  const limit = q.limit ?? 20;
  const key = decodeCursor(q.cursor, (k) => DELIVERY_CURSOR.test(k));
  const m = key ? DELIVERY_CURSOR.exec(key) : null;
  return asPlatform(deps.db, caller, async (tx) => {
    if (!(await findEndpoint(tx, id))) throw notFound('Webhook endpoint');
    const rows = await listDeliveries(tx, id, m ? { at: m[1]!, id: m[2]! } : undefined, limit);
    return page(rows, limit, (d) => `${new Date(d.created_at).toISOString()}|${d.id}`);
  });
}

export const retry = (deps: WebhookDeps, caller: Caller, id: string, deliveryId: string) =>
  asPlatform(deps.db, caller, async (tx) => (await retryDelivery(tx, id, deliveryId)) ?? Promise.reject(notFound('Delivery')));

export async function replay(deps: WebhookDeps, caller: Caller, id: string, body: { since: string; until?: string | undefined }) {
  return asPlatform(deps.db, caller, async (tx) => {
    if (!(await findEndpoint(tx, id))) throw notFound('Webhook endpoint');
    return { replayed: await insertReplay(tx, id, body.since, body.until ?? null) };
  });
}
