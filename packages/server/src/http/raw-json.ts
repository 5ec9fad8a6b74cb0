import type { FastifyReply } from 'fastify';

/** A response body that the database already rendered as JSON (the one-statement reads). */
export class RawJson {
  constructor(readonly text: string) {}
}

/** Sends `body` as it is: a JSON string with a JSON content type is not serialized again. */
export const sendRawJson = (reply: FastifyReply, body: RawJson): FastifyReply =>
  reply.type('application/json; charset=utf-8').send(body.text);
