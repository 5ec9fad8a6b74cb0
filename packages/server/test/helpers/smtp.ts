import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';
import type { Database } from '../../src/db/database.js';
import { mailTransport, OutboxDeliverer } from '../../src/modules/mail/outbox.js';

export interface ReceivedMail {
  to: string[];
  /** The message as received, quoted-printable soft line breaks and `=3D` undone. */
  raw: string;
}

/** A real SMTP server on 127.0.0.1 that keeps what it receives. */
export async function startSmtpServer() {
  const received: ReceivedMail[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks)
          .toString('utf8')
          .replace(/=\r?\n/g, '')
          .replaceAll('=3D', '=');
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.server.address() as AddressInfo;
  return { received, port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

const quiet = { warn: () => undefined, error: () => undefined, info: () => undefined };

/** Sends everything due in the database's outbox to the SMTP server on `port`. */
export function outboxTo(db: Database, port: number) {
  const deliverer = new OutboxDeliverer(db, mailTransport(`smtp://127.0.0.1:${port}`, 'Tenantry <no-reply@example.com>', quiet), quiet);
  return async () => {
    while ((await deliverer.runOnce()) > 0);
  };
}
