import type { FastifyInstance } from 'fastify';
import { problemOf, unavailable } from './errors.js';

/** Seconds a client is told to wait while this instance drains (another one, or this one restarted, takes over). */
export const DRAINING_RETRY_AFTER = 5;

/**
 * While draining, requests already being handled finish; a new request (one that arrives on a
 * kept-alive connection) is answered 503 problem+json with Retry-After, and every response
 * closes its connection, so the server can close once in-flight requests are done.
 */
export function refuseWhileDraining(app: FastifyInstance & { state: { draining: boolean } }): void {
  app.addHook('onRequest', async (request, reply) => {
    if (!app.state.draining) return;
    const err = unavailable('The server is shutting down; retry shortly', DRAINING_RETRY_AFTER);
    return reply
      .status(503)
      .headers(err.headers ?? {})
      .type('application/problem+json')
      .send(problemOf(err, request.id));
  });
  app.addHook('onSend', async (_request, reply) => {
    if (app.state.draining) reply.header('connection', 'close');
  });
}
