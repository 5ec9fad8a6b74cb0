import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { bearer, errorResponses, Page } from '../../http/schemas.js';
import { OrgParams } from '../organizations/organizations.schemas.js';
import { EXPORT_CONTENT_TYPES } from './audit.export.js';
import { AuditEvent, AuditExportQuery, AuditQuery, AuditVerification } from './audit.schemas.js';
import { exportAuditLog, getAuditEvents, verifyAuditLog } from './audit.service.js';

export function auditRoutes(app: App) {
  const { db } = app;

  app.get(
    '/v1/organizations/:org_id/audit-events',
    {
      onRequest: app.services.authenticate(['user']),
      schema: {
        security: bearer,
        tags: ['Audit log'],
        summary: 'The organization’s audit log, newest first (admin+)',
        params: OrgParams,
        querystring: AuditQuery,
        response: { 200: Page(AuditEvent), ...errorResponses(400, 401, 403, 404) },
      },
    },
    async (request) => getAuditEvents(db, callerOf(request), request.params.org_id, request.query),
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
        params: OrgParams,
        response: { 200: AuditVerification, ...errorResponses(401, 403, 404) },
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
          ...errorResponses(400, 401, 403, 404),
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
