import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/**
 * A webhook receiver on loopback: records every request and answers what `respond` says (200
 * by default). With `resetReused`, a request that comes on a connection it has answered before
 * is recorded and the connection reset, unanswered: what a sender sees when the receiver
 * closes an idle keep-alive connection just as the next request goes out on it.
 */
export async function startReceiver() {
  const received: Received[] = [];
  let respond: (r: Received) => { status: number; headers?: Record<string, string> } = () => ({ status: 200 });
  let resetReused = false;
  const answered = new WeakSet<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r = { path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      received.push(r);
      if (resetReused && answered.has(req.socket)) {
        req.socket.resetAndDestroy();
        return;
      }
      answered.add(req.socket);
      const answer = respond(r);
      res.writeHead(answer.status, answer.headers ?? {}).end();
    });
  });
  // Idle connections stay open while a test runs (Node.js closes them after 5 s), so whether a
  // delivery goes out on a reused one does not depend on the machine's speed.
  server.keepAliveTimeout = 600_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    /** Answers from now on. */
    answer(fn: typeof respond) {
      respond = fn;
    },
    resetReused(on: boolean) {
      resetReused = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

export const header = (r: Received, name: string) => {
  const v = r.headers[name];
  return Array.isArray(v) ? v.join(',') : (v ?? '');
};
