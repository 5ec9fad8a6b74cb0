import type { FastifyInstance, FastifyRequest } from 'fastify';
import { problemOf, unavailable } from './errors.js';

/** Seconds a client is told to wait while this instance drains (another one, or this one restarted, takes over). */
export const DRAINING_RETRY_AFTER = 5;

/**
 * Requests whose handling has not ended. A client that goes away does not end it: Fastify
 * lets the handler run on, and closing the server waits only for sockets, so without this
 * count the pool would be closed under a handler that is still between two statements.
 */
export class HandlersInFlight {
  private count = 0;
  private readonly counted = new WeakSet<FastifyRequest>();
  private waiters: (() => void)[] = [];

  enter(request: FastifyRequest): void {
    this.counted.add(request);
    this.count++;
  }

  leave(request: FastifyRequest): void {
    if (!this.counted.delete(request)) return;
    if (--this.count > 0) return;
    for (const wake of this.waiters.splice(0)) wake();
  }

  get size(): number {
    return this.count;
  }

  /** Resolves once no request is being handled. */
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

export interface DrainState {
  draining: boolean;
  handlers: HandlersInFlight;
}

/**
 * While draining, requests already being handled finish; a new request (one that arrives on a
 * kept-alive connection) is answered 503 problem+json with Retry-After, and every response
 * closes its connection, so the server can close once in-flight requests are done.
 */
export function refuseWhileDraining(app: FastifyInstance & { state: DrainState }): void {
  app.addHook('onRequest', async (request, reply) => {
    app.state.handlers.enter(request);
    if (!app.state.draining) return;
    const err = unavailable('The server is shutting down; retry shortly', DRAINING_RETRY_AFTER);
    return reply
      .status(503)
      .headers(err.headers ?? {})
      .type('application/problem+json')
      .send(problemOf(err, request.id));
  });
  // Every answer, the handler's or the error handler's, passes here once the handling is over,
  // whether or not its client is still there to read it.
  app.addHook('onSend', async (request, reply) => {
    app.state.handlers.leave(request);
    if (app.state.draining) reply.header('connection', 'close');
  });
}
