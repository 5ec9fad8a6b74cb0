import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../src/db/database.js';
import { startApp, type TestApp } from './app.js';
import { ENGINES } from './db.js';
import { type OrgWithRoles, orgWithRoles } from './orgs.js';
import { authed } from './users.js';

// The audit export tests, one file per engine (test/audit-export.*.test.ts): each seeds and
// streams 100,000 events, the longest work in the suite, so the two engines run side by side
// instead of one after the other in one file.

const EVENTS = 100_000;

// A full collection before each reading, so what is measured is memory held, not garbage
// the collector has not come round to yet.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const heldHeap = () => {
  gc();
  return process.memoryUsage().heapUsed;
};
const MB = 1024 * 1024;
// A full collection costs tens of milliseconds with the app and PGlite in this process, so the
// heap is read once per 2 MB received (some 28 readings), not per few chunks: memory that grows
// with the export still shows, as a held export would pass the bound long before its end.
const HEAP_READING_EVERY = 2 * MB;

/** Streams a GET over real HTTP, handing each chunk to `onChunk` and keeping none of them. */
function streamGet(url: string, token: string, onChunk: (chunk: string) => void) {
  return new Promise<{ status: number; contentType: string | undefined }>((resolve, reject) => {
    const req = httpRequest(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.setEncoding('utf8');
      res.on('data', onChunk);
      res.on('end', () => resolve({ status: res.statusCode ?? 0, contentType: res.headers['content-type'] }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The export tests on one engine; skipped when the run has no such engine (PostgreSQL without TEST_DATABASE_URL). */
export const describeAuditExport = (engine: Engine) =>
  (ENGINES.includes(engine) ? describe : describe.skip)(`audit log export of 100,000 events (${engine})`, () => {
    let t: TestApp;
    let o: OrgWithRoles;
    let base: string;
    beforeAll(async () => {
      t = await startApp(engine);
      o = await orgWithRoles(t.app, t.db);
      // Seeded in statements of 10,000 as the connecting user, with the chain trigger linking each row.
      for (let from = 1; from <= EVENTS; from += 10_000)
        await sql`
      insert into audit_events (organization_id, id, actor_type, actor_id, action, target_type, target_id, data, ip, request_id)
      select ${o.id}, gen_random_uuid(), 'user', ${o.admin.id}, 'member.role_changed', 'user', gen_random_uuid()::text,
             jsonb_build_object('before', 'viewer', 'after', 'member', 'n', g, 'note', 'a, "quoted" note'), '203.0.113.7', 'req-' || g
      from generate_series(${from}::int, ${from + 9_999}::int) g`.execute(t.db.kysely);
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}/v1/organizations/${o.id}/audit-events`;
    }, 300_000);
    afterAll(() => t.close());

    it('streams NDJSON with flat memory: every line parses as the API’s AuditEvent, in chain order', async () => {
      const keys = ['id', 'organization_id', 'actor', 'action', 'target', 'data', 'ip', 'request_id', 'occurred_at', 'prev_hash', 'hash'];
      // Two events as the list API returns them, to find in the export: the first, and the newest seeded one by id.
      const listed = (q: string) => authed(t.app, 'GET', `${base}?limit=1&${q}`, o.admin.access).then((r) => r.json().data[0]);
      const created = await listed('action=organization.created');
      const seeded = await listed('action=member.role_changed');
      let pending = '';
      let lines = 0;
      let bytes = 0;
      let prevHash: string | null = null;
      let first: unknown;
      let seededLine: unknown;
      let linked = true;
      let shaped = true;
      const startHeap = heldHeap();
      const startRss = process.memoryUsage().rss;
      let peakHeap = startHeap;
      let peakRss = startRss;
      let chunks = 0;
      let nextHeapReading = HEAP_READING_EVERY;
      const res = await streamGet(`${base}/export?format=ndjson`, o.admin.access, (chunk) => {
        bytes += chunk.length;
        pending += chunk;
        const parts = pending.split('\n');
        pending = parts.pop()!;
        for (const p of parts) {
          const e = JSON.parse(p);
          shaped &&= Object.keys(e).join() === keys.join();
          linked &&= e.prev_hash === prevHash;
          prevHash = e.hash;
          if (lines === 0) first = e;
          if (e.id === seeded.id) seededLine = e;
          lines++;
        }
        chunks++;
        if (bytes >= nextHeapReading) {
          peakHeap = Math.max(peakHeap, heldHeap());
          nextHeapReading += HEAP_READING_EVERY;
        }
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
      });
      const heapGrowth = (peakHeap - startHeap) / MB;
      const rssGrowth = (peakRss - startRss) / MB;
      console.info(
        `export ${engine}: ${(bytes / MB).toFixed(1)} MB sent in ${chunks} chunks, heap +${heapGrowth.toFixed(1)} MB, rss +${rssGrowth.toFixed(1)} MB`,
      );
      expect(res).toEqual({ status: 200, contentType: 'application/x-ndjson' });
      expect(pending).toBe('');
      expect(lines).toBe(EVENTS + 1); // and organization.created
      expect(shaped).toBe(true);
      expect(linked).toBe(true);
      expect(first).toEqual(created);
      expect(seededLine).toEqual(seeded);
      // The export is tens of megabytes; held whole, it would take at least that much heap.
      expect(bytes).toBeGreaterThan(40 * MB);
      expect(chunks).toBeGreaterThan(20);
      expect(heapGrowth).toBeLessThan(24);
      expect(rssGrowth).toBeLessThan(160);
    }, 300_000);

    // CSV is the same batches written another way: it streams on PostgreSQL when the run has
    // it (its 100,000 records cost PGlite some ten seconds of CPU), else on PGlite.
    const csvEngine: Engine = ENGINES.includes('postgres') ? 'postgres' : 'pglite';
    it.runIf(engine === csvEngine)(
      'streams the same log as CSV, one record per event',
      async () => {
        // No field of these events holds a line break, so each LF ends one record.
        let records = 0;
        let first = '';
        const res = await streamGet(`${base}/export?format=csv`, o.admin.access, (chunk) => {
          if (first.length < 200) first += chunk.slice(0, 200);
          for (let k = chunk.indexOf('\n'); k !== -1; k = chunk.indexOf('\n', k + 1)) records++;
        });
        expect(res).toEqual({ status: 200, contentType: 'text/csv; charset=utf-8' });
        expect(first.startsWith('id,organization_id,actor_type,')).toBe(true);
        expect(records).toBe(EVENTS + 2); // the header and organization.created
      },
      300_000,
    );
  });
