import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type RawServerDefault } from 'fastify';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { uuidv7 } from './db/ids.js';
import { registerErrorHandling } from './http/error-handler.js';
import { registerMetrics } from './http/metrics.js';
import { opsRoutes } from './http/ops-routes.js';
import { validatorCompiler } from './http/validation.js';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

declare module 'fastify' {
  interface FastifyInstance {
    config: Readonly<Config>;
    db: Database;
    state: { draining: boolean };
  }
  interface FastifyContextConfig {
    /** Errors on this route use the OAuth 2.0 format (RFC 6749 §5.2) instead of problem+json. */
    oauth?: boolean;
  }
}

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  '*.password',
  '*.current_password',
  '*.token',
  '*.access_token',
  '*.refresh_token',
  '*.invitation_token',
  '*.password_hash',
  '*.private_key',
];

export async function buildApp(config: Readonly<Config>, db: Database): Promise<App> {
  const app = Fastify({
    logger: { level: config.logLevel, redact: { paths: LOG_REDACT, censor: '[redacted]' } },
    bodyLimit: 64 * 1024,
    trustProxy: config.trustProxy,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : uuidv7();
    },
    routerOptions: { ignoreTrailingSlash: true },
    return503OnClosing: true,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('config', config);
  app.decorate('db', db);
  app.decorate('state', { draining: false });
  app.setValidatorCompiler(validatorCompiler);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
  });
  registerErrorHandling(app);
  const metrics = registerMetrics(app, db);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tenantry API',
        version: '1',
        description: 'Client organizations, members, roles, invitations, org-scoped tokens and a per-tenant audit log.',
      },
      servers: [{ url: config.publicUrl }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  opsRoutes(app, metrics);
  await app.ready();
  return app;
}
