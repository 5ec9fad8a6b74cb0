import type { FastifyReply } from 'fastify';

/** Waits for `work` (a removal, a revocation), then answers 204 with no body. */
export async function noContent(reply: FastifyReply, work: Promise<unknown>): Promise<FastifyReply> {
  await work;
  return reply.status(204).send(null);
}
