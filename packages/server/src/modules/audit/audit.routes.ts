import type { App } from '../../app.js';
import { callerOf } from '../../http/auth-plugin.js';
import { AUTH_ERRORS, bearer, DB_ERRORS, problems, ref } from '../../http/schemas.js';
import { OrgParams } from '../organizations/organizations.schemas.js';
import { AuditEventPage, AuditQuery } from './audit.schemas.js';
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
}
