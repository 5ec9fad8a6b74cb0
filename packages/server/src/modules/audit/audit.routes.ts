import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { AUTH_ERRORS, bearer, DB_ERRORS, problems, ref } from '../../http/schemas.js';
import { OrgParams } from '../organizations/organizations.schemas.js';
import { EXPORT_CONTENT_TYPES } from './audit.export.js';
import {
  AuditEventPage,
  AuditExportQuery,
  AuditQuery,
  AuditVerification,
  PlatformAuditEventPage,
  PlatformAuditQuery,
} from './audit.schemas.js';
import { exportAuditLog, getAuditEvents, getPlatformAuditEvents, verifyAuditLog } from './audit.service.js';

export function auditRoutes(app: App) {
  const { db } = app;

  app.get(
    '/v1/organizations/:org_id/audit-events',
    {
      onRequest: app.services.authenticate(['user', 'api_key']),
      schema: {
        security: bearer,
        tags: ['Audit log'],
        operationId: 'listAuditEvents',
        summary: 'The organization’s audit log, newest first (admin+)',
        description:
          'Every change in the organization, newest first; filter by `action`, `actor_id` and a `since`/`until` range. Admins, owners and platform admins.',
        params: OrgParams,
        querystring: AuditQuery,
        response: {
          200: ref(AuditEventPage, 'A page of audit events'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'NOT_FOUND', DB_ERRORS),
        },
      },
    },
    async (request) => getAuditEvents(db, callerOf(request), request.params.org_id, request.query),
  );

  app.get(
    '/v1/platform/audit-events',
    {
      onRequest: app.services.authenticate(['user']),
      schema: {
        security: bearer,
        tags: ['Platform administration'],
        operationId: 'listPlatformAuditEvents',
        summary: 'The platform audit log, newest first (platform admins)',
        description:
          'Acts on what belongs to the platform rather than to an organization: the tool registry (`tool.*`). Filter by `action`. Platform admins only.',
        querystring: PlatformAuditQuery,
        response: {
          200: ref(PlatformAuditEventPage, 'A page of platform audit events'),
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, DB_ERRORS),
        },
      },
    },
    async (request) => getPlatformAuditEvents(db, callerOf(request), request.query),
  );

  app.get(
    '/v1/organizations/:org_id/audit-events/verify',
    {
      onRequest: app.services.authenticate(['user']),
      schema: {
        operationId: 'verifyAuditLog',
        security: bearer,
        tags: ['Audit log'],
        summary: 'Recompute the organization’s audit chain and check its latest signed checkpoint (admin+)',
        description:
          'Recomputes the hash chain of the organization’s audit log and checks the latest signed checkpoint; names the first event that does not match. A verification that succeeds stores a new signed checkpoint.',
        params: OrgParams,
        response: {
          200: ref(AuditVerification, 'The result of the verification'),
          ...problems(AUTH_ERRORS, 'VALIDATION_FAILED', 'NOT_FOUND', DB_ERRORS),
        },
      },
    },
    async (request) => verifyAuditLog(db, callerOf(request), request.params.org_id),
  );

  app.get(
    '/v1/organizations/:org_id/audit-events/export',
    {
      onRequest: app.services.authenticate(['user']),
      schema: {
        operationId: 'exportAuditLog',
        security: bearer,
        tags: ['Audit log'],
        summary: 'The organization’s audit log in chain order, streamed as NDJSON (AuditEvent per line) or CSV (admin+)',
        description:
          'Streams the log oldest first, in chain order, as NDJSON (one AuditEvent per line) or CSV (RFC 4180; cells starting with = + - @ are prefixed with an apostrophe), optionally limited to a `since`/`until` range.',
        params: OrgParams,
        querystring: AuditExportQuery,
        response: {
          200: {
            description: 'The events, oldest first',
            content: {
              'application/x-ndjson': { schema: { type: 'string' } },
              'text/csv': { schema: { type: 'string' } },
            },
          },
          ...problems('VALIDATION_FAILED', AUTH_ERRORS, 'NOT_FOUND', DB_ERRORS),
        },
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'ndjson';
      const body = await exportAuditLog(db, callerOf(request), request.params.org_id, { ...request.query, format });
      return reply.type(EXPORT_CONTENT_TYPES[format]).send(body);
    },
  );
}
