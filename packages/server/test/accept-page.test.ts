// The invitation accept page and /docs in a real browser (Debian's chromium, driven by
// playwright-core) against a listening server on the embedded engine.
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_CSP } from '../src/modules/pages/pages.routes.js';
import { startApp, type TestApp } from './helpers/app.js';
import { launchChromium, openPage } from './helpers/browser.js';
import { type OrgWithRoles, orgWithRoles } from './helpers/orgs.js';
import { authed, PASSWORD, signupUser } from './helpers/users.js';

describe('invitation accept page and /docs in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  let org: OrgWithRoles;

  beforeAll(async () => {
    t = await startApp('pglite');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    org = await orgWithRoles(t.app, t.db);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const invite = async (email: string, role: string) => {
    const res = await authed(t.app, 'POST', `/v1/organizations/${org.id}/invitations`, org.admin.access, { email, role });
    expect(res.statusCode).toBe(201);
    const { accept_url } = res.json() as { accept_url: string };
    const url = new URL(accept_url);
    expect(url.pathname).toBe('/invitations/accept');
    return `${base}${url.pathname}${url.search}`;
  };
  const roleOf = async (email: string) =>
    (
      await t.db.kysely
        .selectFrom('memberships')
        .innerJoin('users', 'users.id', 'memberships.user_id')
        .select('memberships.role')
        .where('memberships.organization_id', '=', org.id)
        .where('users.email', '=', email)
        .executeTakeFirst()
    )?.role;

  const open = (url: string) => openPage(browser, url);

  it('is served with a strict CSP and no inline script or style', async () => {
    const res = await fetch(`${base}/invitations/accept?token=inv_x`);
    expect(res.headers.get('content-security-policy')).toBe(PAGE_CSP);
    expect(PAGE_CSP).toContain("script-src 'self'");
    expect(PAGE_CSP).not.toContain('unsafe-inline');
    const html = await res.text();
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
    expect(html).not.toMatch(/\s(on\w+|style)=/);
    const js = await fetch(`${base}/assets/accept.js`);
    expect(js.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect((await fetch(`${base}/assets/other.js`)).status).toBe(400);
  });

  it('escapes the token it puts in the page (a markup injection through the link)', async () => {
    const html = await (await fetch(`${base}/invitations/accept?token=${encodeURIComponent('"><img src=x>')}`)).text();
    expect(html).toContain('data-token="&quot;&gt;&lt;img src=x&gt;"');
    expect(html).not.toContain('<img');
  });

  it('a new user signs up through the page and ends as a member with the invited role', async () => {
    const email = `newcomer-${Date.now()}@example.com`;
    const { page, problems } = await open(await invite(email, 'member'));
    await page.fill('#signup input[name=name]', 'New Comer');
    await page.fill('#signup input[name=email]', email);
    await page.fill('#signup input[name=password]', PASSWORD);
    await page.click('#signup button');
    await page.waitForSelector('#status[data-state=done]');
    expect(await page.textContent('#status')).toContain('You are now a member');
    expect(await roleOf(email)).toBe('member');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('an existing user signs in through the page and accepts', async () => {
    const user = await signupUser(t.app);
    const { page, problems } = await open(await invite(user.email, 'viewer'));
    await page.fill('#signin input[name=email]', user.email);
    await page.fill('#signin input[name=password]', PASSWORD);
    await page.click('#signin button');
    await page.waitForSelector('#status[data-state=done]');
    expect(await page.textContent('#status')).toContain('(viewer)');
    expect(await roleOf(user.email)).toBe('viewer');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows the API refusal when the signed-in user is not the invited one', async () => {
    const invited = `invited-${Date.now()}@example.com`;
    const other = await signupUser(t.app);
    const { page } = await open(await invite(invited, 'member'));
    await page.fill('#signin input[name=email]', other.email);
    await page.fill('#signin input[name=password]', PASSWORD);
    await page.click('#signin button');
    await page.waitForSelector('#status[data-state=error]');
    expect(await roleOf(other.email)).toBeUndefined();
    await page.close();
  });

  it('/docs "Try it out" calls the origin it was opened from', async () => {
    const { page, problems } = await open(`${base}/docs`);
    await page.waitForSelector('.opblock');
    const op = page.locator('[id$="-getJwks"]');
    await op.locator('.opblock-summary').click();
    await op.locator('button.try-out__btn').click();
    const answered = page.waitForResponse((r) => r.url().endsWith('/.well-known/jwks.json'));
    await op.locator('button.execute').click();
    const res = await answered;
    expect(res.url()).toBe(`${base}/.well-known/jwks.json`);
    expect(res.status()).toBe(200);
    expect(problems).toEqual([]);
    await page.close();
  });
});
