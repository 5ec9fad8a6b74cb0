import type { IncomingMessage, ServerResponse } from 'node:http';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type RawServerDefault } from 'fastify';
import type { Config } from './config.js';
import type { Database } from './db/database.js';
import { uuidv7 } from './db/ids.js';
import { authenticate, refuseCredentialsInUrl } from './http/auth-plugin.js';
import { type DrainState, HandlersInFlight, refuseWhileDraining } from './http/draining.js';
import { registerErrorHandling, toAppError } from './http/error-handler.js';
import { problemOf } from './http/errors.js';
import { registerIdempotency } from './http/idempotency.js';
import { lazySerializers } from './http/lazy-serializers.js';
import { LOG_REDACT } from './http/log-redact.js';
import { registerMetrics } from './http/metrics.js';
import { documentOptions, registerComponentSchemas } from './http/openapi.js';
import { opsRoutes } from './http/ops-routes.js';
import { CredentialLimits, FallbackStore, MemoryStore, OrderedLimits, RateLimiter } from './http/rate-limit.js';
import { lazyValidators } from './http/validation.js';
import { ApiKeyResolver } from './modules/api-keys/api-key-auth.js';
import { apiKeyRoutes } from './modules/api-keys/api-keys.routes.js';
import { serverSecret } from './modules/api-keys/server-secret.js';
import { auditRoutes } from './modules/audit/audit.routes.js';
import { eventRoutes } from './modules/events/events.routes.js';
import { registerWebhookMetrics, type WebhookMetrics } from './modules/events/metrics.js';
import { webhookRoutes } from './modules/events/webhooks.routes.js';
import { IdempotencyExpiry } from './modules/idempotency/idempotency.js';
import { identityRoutes } from './modules/identity/identity.routes.js';
import { prepareDummyHash } from './modules/identity/passwords.js';
import { invitationRoutes } from './modules/invitations/invitations.routes.js';
import { memberRoutes } from './modules/members/members.routes.js';
import { KeyStore } from './modules/oauth/keys.js';
import { oauthRoutes } from './modules/oauth/oauth.routes.js';
import type { AuthDeps } from './modules/oauth/oauth.service.js';
import { AccessTokens, CLOCK_TOLERANCE_SECONDS } from './modules/oauth/tokens.js';
import { organizationRoutes } from './modules/organizations/organizations.routes.js';
import { pageRoutes } from './modules/pages/pages.routes.js';
import { organizationToolRoutes } from './modules/tools/organization-tools.routes.js';
import { sharingGrantRoutes } from './modules/tools/sharing-grants.routes.js';
import './modules/tools/sharing-grants.js';
import { toolRoutes } from './modules/tools/tools.routes.js';

export type App = FastifyInstance<RawServerDefault, IncomingMessage, ServerResponse, FastifyBaseLogger, TypeBoxTypeProvider>;

declare module 'fastify' {
  interface FastifyInstance {
    config: Readonly<Config>;
    db: Database;
    state: DrainState;
    services: Services;
  }
  interface FastifyContextConfig {
    /** Errors on this route use the OAuth 2.0 format (RFC 6749 §5.2) instead of problem+json. */
    oauth?: boolean;
  }
}

export interface Services {
  keys: KeyStore;
  tokens: AccessTokens;
  /** Presented organization API keys (`tnty_…`): bearer authentication and introspection. */
  apiKeys: ApiKeyResolver;
  /** onRequest hooks of the routes that need a bearer access token, by the principals they accept. */
  authenticate: ReturnType<typeof authenticate>;
  limiter: RateLimiter;
  /** Attempts per address and failures per account of every credential check (SPEC §3b). */
  credentialLimits: CredentialLimits;
  /** Several limits in a row, where a refusal by one spends nothing of the next (invitations, refresh). */
  limits: OrderedLimits;
  /** Counted by the webhook worker this process runs. */
  webhookMetrics?: WebhookMetrics;
}

const KEY_RELOAD_MS = 60_000;

const SANE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A hop count trusts that many proxies nearest the socket (the form proxy-addr gives a number). */
const trustProxyOption = (t: Config['trustProxy']) => (typeof t === 'number' ? (_address: string, hop: number) => hop < t : t);

export async function buildApp(config: Readonly<Config>, db: Database): Promise<App> {
  const serializers = lazySerializers();
  const validators = lazyValidators();
  const app = Fastify({
    schemaController: { compilersFactory: { buildSerializer: serializers.buildSerializer, buildValidator: validators.buildValidator } },
    logger: { level: config.logLevel, redact: { paths: LOG_REDACT, censor: '[redacted]' } },
    bodyLimit: 64 * 1024,
    trustProxy: trustProxyOption(config.trustProxy),
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && SANE_REQUEST_ID.test(given) ? given : uuidv7();
    },
    routerOptions: { ignoreTrailingSlash: true },
    // Errors Fastify raises before any hook (an undecodable URL, an over-long parameter) are problems too.
    frameworkErrors: (error, request, res) => {
      const appErr = toAppError(error);
      const reply = res as unknown as FastifyReply;
      void reply
        .status(appErr.status)
        .header('x-request-id', request.id)
        .type('application/problem+json')
        .send(problemOf(appErr, request.id));
    },
    // Closing answers are problem+json (refuseWhileDraining), not Fastify's own 503 body.
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  app.decorate('config', config);
  app.decorate('db', db);
  app.decorate('state', { draining: false, handlers: new HandlersInFlight() });
  app.decorateRequest('principal', null);

  await prepareDummyHash(config.passwordHashing);
  // A retired key keeps verifying for a token lifetime after the last moment any instance
  // may still have signed with it (instances pick a rotation up within KEY_RELOAD_MS).
  const keys = new KeyStore(db, config.accessTokenTtl + CLOCK_TOLERANCE_SECONDS + KEY_RELOAD_MS / 1000);
  await keys.load();
  const apiKeySecret = serverSecret(db, config);
  // Keys rotated by `tenantry keys rotate` (possibly on another instance) are picked up here.
  const keyReload = setInterval(
    () => keys.load().catch((err) => app.log.warn({ err }, 'reloading signing keys failed')),
    KEY_RELOAD_MS,
  ).unref();
  // Every limit counts through one store: Redis when configured, per-process memory while it is out.
  // An instance starts counting in Redis, once its first connection is up (bounded by the connect timeout).
  const shared = config.redisUrl
    ? new (await import('./http/redis-store.js')).RedisStore(config.redisUrl, config.redisCommandTimeoutMs)
    : undefined;
  await shared?.ready();
  const limitStore = new FallbackStore(shared ?? new MemoryStore(), app.log);
  const limiter = new RateLimiter(limitStore, config.rateLimit.max, config.rateLimit.windowMs);
  const credentialLimits = new CredentialLimits(limitStore, config.rateLimit.max, config.rateLimit.windowMs);
  const limits = new OrderedLimits(limitStore);
  const tokens = new AccessTokens(keys, config);
  const apiKeys = new ApiKeyResolver(db, apiKeySecret, app.log);
  const services: Services = { keys, tokens, apiKeys, limiter, credentialLimits, limits, authenticate: authenticate(tokens, apiKeys) };
  app.decorate('services', services);
  // Idempotency records live 24 h; expired ones are removed in batches in the background.
  const idempotencyExpiry = new IdempotencyExpiry(db, app.log);
  idempotencyExpiry.start();
  app.addHook('onClose', async () => {
    clearInterval(keyReload);
    await idempotencyExpiry.stop();
    // A handler whose client went away is still running: it keeps its limits and its pool.
    await app.state.handlers.idle();
    await limitStore.close();
  });
  app.setValidatorCompiler(validators.validatorCompiler);
  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    refuseCredentialsInUrl(request);
  });
  refuseWhileDraining(app);
  registerErrorHandling(app);
  registerIdempotency(app);
  if (config.corsOrigins.length > 0) await app.register(cors, corsOptions(config.corsOrigins));
  const metrics = registerMetrics(app, db);
  services.webhookMetrics = registerWebhookMetrics(metrics, db);

  registerComponentSchemas(app);
  await app.register(swagger, {
    ...documentOptions,
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tenantry API',
        version: '1',
        description: 'Client organizations, members, roles, invitations, org-scoped tokens and a per-tenant audit log.',
      },
      // Relative: "Try it out" calls the origin the reference was opened from (127.0.0.1 or localhost alike).
      servers: [{ url: '/' }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  opsRoutes(app, metrics);
  const authDeps: AuthDeps = { db, tokens: services.tokens, config, limits };
  identityRoutes(app, authDeps);
  await oauthRoutes(app, authDeps);
  organizationRoutes(app);
  memberRoutes(app);
  auditRoutes(app);
  eventRoutes(app);
  webhookRoutes(app);
  toolRoutes(app);
  organizationToolRoutes(app);
  invitationRoutes(app, { db, config, limits });
  apiKeyRoutes(app, { db, secret: apiKeySecret });
  sharingGrantRoutes(app, { db });
  pageRoutes(app);
  // Once listening, the validators and serializers not used yet are compiled while the process is idle.
  app.addHook('onListen', () => {
    void validators.compileRest().catch((err) => app.log.error({ err }, 'a request validator failed to compile'));
    void serializers.compileRest().catch((err) => app.log.error({ err }, 'a response serializer failed to compile'));
  });
  await app.ready();
  return app;
}

/** CORS_ORIGINS: exact origins only; bearer tokens travel in a header, so no credentials (cookies). */
function corsOptions(origins: string[]) {
  return {
    origin: origins,
    credentials: false,
    methods: ['GET', 'HEAD', 'POST', 'PATCH', 'DELETE'],
    allowedHeaders: ['authorization', 'content-type', 'x-request-id', 'idempotency-key'],
    exposedHeaders: ['x-request-id', 'retry-after', 'www-authenticate', 'idempotent-replayed'],
    maxAge: 600,
  };
}
