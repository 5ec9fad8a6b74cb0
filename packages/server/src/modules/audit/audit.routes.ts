import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { bearer, errorResponses, Page } from '../../http/schemas.js';
import { OrgParams } from '../organizations/organizations.schemas.js';
import { AuditEvent, AuditQuery } from './audit.schemas.js';
import { getAuditEvents } from './audit.service.js';

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
}
