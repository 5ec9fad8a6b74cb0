import { type AddressInfo, createServer } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mailTransport, OutboxDeliverer } from '../src/modules/mail/outbox.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { orgWithRoles } from './helpers/orgs.js';
import { bearer } from './helpers/users.js';

interface Received {
  to: string[];
  raw: string;
}

/** A real SMTP server on 127.0.0.1 that keeps what it receives. */
async function smtpServer(port = 0) {
  const received: Received[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, session, done) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
        done();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
  const address = server.server.address() as AddressInfo;
  return { received, port: address.port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** A port nothing listens on (taken from the OS, then released). */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const quiet = { warn: () => undefined, error: () => undefined, info: () => undefined };

describe.each(ENGINES)('invitation email delivery (%s)', (engine) => {
  // A deliverer sends whatever is due in the whole outbox, so each test gets a
  // database (and outbox) of its own: no test sends, or waits behind, another's mail.
  let t: TestApp;
  beforeEach(async () => {
    t = await startApp(engine);
  });
  afterEach(() => t.close());

  const invite = async (orgName: string) => {
    const o = await orgWithRoles(t.app, t.db, orgName);
    const email = `mail-${Math.random().toString(36).slice(2)}@example.com`;
    const res = await t.app.inject({
      method: 'POST',
      url: `/v1/organizations/${o.id}/invitations`,
      headers: bearer(o.admin.access),
      payload: { email, role: 'member' },
    });
    expect(res.statusCode).toBe(201);
    return { o, email, inv: res.json() };
  };
  const outboxFor = (email: string) =>
    t.db.kysely.selectFrom('email_outbox').selectAll().where('recipient', '=', email).executeTakeFirstOrThrow();

  it('delivers the invitation over SMTP, once, naming the organization and the inviter, in text and HTML', async () => {
    const smtp = await smtpServer();
    try {
      const { email, inv } = await invite('Globex <Widgets> & Co');
      const deliverer = new OutboxDeliverer(
        t.db,
        mailTransport(`smtp://127.0.0.1:${smtp.port}`, 'Tenantry <no-reply@example.com>', quiet),
        quiet,
      );
      while ((await deliverer.runOnce()) > 0);
      const mine = smtp.received.filter((m) => m.to.includes(email));
      expect(mine).toHaveLength(1);
      const raw = mine[0]!.raw.replace(/=\r?\n/g, '');
      expect(raw).toMatch(/Content-Type: text\/plain/);
      expect(raw).toMatch(/Content-Type: text\/html/);
      expect(raw).toContain('Globex <Widgets> & Co');
      expect(raw).toContain('Globex &lt;Widgets&gt; &amp; Co');
      expect(raw).toContain('Test User');
      expect(raw).toContain(inv.token.slice(-20));
      const row = await outboxFor(email);
      expect(row.sent_at).not.toBeNull();
      expect(row.text_body).toBeNull(); // the one-time link is not kept after sending
      expect(await deliverer.runOnce()).toBe(0);
      expect(smtp.received.filter((m) => m.to.includes(email))).toHaveLength(1);
    } finally {
      await smtp.close();
    }
  });

  it('retries with backoff while the SMTP server is down and delivers once it is back', async () => {
    const port = await freePort();
    const { email } = await invite('Initech');
    const deliverer = new OutboxDeliverer(
      t.db,
      mailTransport(`smtp://127.0.0.1:${port}`, 'Tenantry <no-reply@example.com>', quiet),
      quiet,
      { baseBackoffMs: 0 },
    );
    expect(await deliverer.runOnce()).toBe(0);
    const failed = await outboxFor(email);
    expect(failed).toMatchObject({ attempts: 1, sent_at: null });
    expect(failed.last_error).toBeTruthy();

    const smtp = await smtpServer(port);
    try {
      while ((await deliverer.runOnce()) > 0);
      expect(smtp.received.filter((m) => m.to.includes(email))).toHaveLength(1);
      expect((await outboxFor(email)).sent_at).not.toBeNull();
    } finally {
      await smtp.close();
    }
  });

  it('with a backoff, a failed message waits before its next attempt', async () => {
    const port = await freePort();
    const { email } = await invite('Hooli');
    const deliverer = new OutboxDeliverer(t.db, mailTransport(`smtp://127.0.0.1:${port}`, 'x@example.com', quiet), quiet, {
      baseBackoffMs: 3_600_000,
    });
    await deliverer.runOnce();
    await deliverer.runOnce();
    expect((await outboxFor(email)).attempts).toBe(1);
  });

  it('two deliverers running at once send each message exactly once', async () => {
    const smtp = await smtpServer();
    try {
      const emails = [];
      for (let i = 0; i < 4; i++) emails.push((await invite(`Parallel ${i}`)).email);
      const send = mailTransport(`smtp://127.0.0.1:${smtp.port}`, 'x@example.com', quiet);
      const one = new OutboxDeliverer(t.db, send, quiet, { batchSize: 2 });
      const two = new OutboxDeliverer(t.db, send, quiet, { batchSize: 2 });
      for (let round = 0; round < 5; round++) await Promise.all([one.runOnce(), two.runOnce()]);
      for (const email of emails) expect(smtp.received.filter((m) => m.to.includes(email))).toHaveLength(1);
    } finally {
      await smtp.close();
    }
  });

  it('without SMTP_URL, logs the message instead of sending it', async () => {
    const { email, inv } = await invite('Laptop Co');
    const logged: Array<Record<string, unknown>> = [];
    const deliverer = new OutboxDeliverer(
      t.db,
      mailTransport(undefined, 'x', { info: (o: unknown) => void logged.push(o as Record<string, unknown>) } as never),
      quiet,
    );
    while ((await deliverer.runOnce()) > 0);
    const entry = logged.find((l) => l.to === email);
    expect(String(entry?.text)).toContain(inv.accept_url);
  });

  it('a hung SMTP server (accepts, never answers) holds no database connection: API requests still answer', async () => {
    const sockets = new Set<import('node:net').Socket>();
    let connected!: () => void;
    const reached = new Promise<void>((r) => (connected = r));
    const hung = createServer((socket) => {
      sockets.add(socket);
      connected();
    });
    await new Promise<void>((r) => hung.listen(0, '127.0.0.1', () => r()));
    const { port } = hung.address() as AddressInfo;
    try {
      const { o } = await invite('Hung Mail Co');
      const deliverer = new OutboxDeliverer(t.db, mailTransport(`smtp://127.0.0.1:${port}`, 'x@example.com', quiet), quiet, {
        baseBackoffMs: 3_600_000,
      });
      const delivering = deliverer.runOnce();
      await reached; // the sender is now waiting on the mail server
      const res = await t.app.inject({ method: 'GET', url: `/v1/organizations/${o.id}`, headers: bearer(o.owner.access) });
      expect(res.statusCode, res.body).toBe(200);
      for (const s of sockets) s.destroy();
      await delivering;
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => hung.close(() => r()));
    }
  });
});
