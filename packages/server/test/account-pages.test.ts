// The pages of the emailed account links (the defaults of VERIFY_EMAIL_URL and
// PASSWORD_RESET_URL) in a real browser (Debian's chromium, driven by playwright-core)
// against a listening server on the embedded engine, with the links read from real
// emails sent through the outbox to a test SMTP server.
import type { AddressInfo } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PAGE_CSP } from '../src/modules/pages/pages.routes.js';
import { startApp, type TestApp } from './helpers/app.js';
import { launchChromium, openPage } from './helpers/browser.js';
import { outboxTo, startSmtpServer } from './helpers/smtp.js';
import { authed, PASSWORD, signupUser } from './helpers/users.js';

const NEW_PASSWORD = 'a new passphrase from the page';

describe('verify-email and reset-password pages in Chromium', () => {
  let t: TestApp;
  let browser: Browser;
  let base: string;
  let smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  let deliver: () => Promise<void>;
  /** Every request the browser made, with the Referer it sent. */
  const requests: Array<{ url: string; referer: string | undefined }> = [];

  beforeAll(async () => {
    t = await startApp('pglite');
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    smtp = await startSmtpServer();
    deliver = outboxTo(t.db, smtp.port);
    browser = await launchChromium();
  });
  afterAll(async () => {
    await browser?.close();
    await smtp?.close();
    await t?.close();
  });

  /** The link of the one email to `to` about `subject`, on this server's address. */
  async function linkIn(to: string, subject: string, path: string): Promise<string> {
    await deliver();
    const mail = smtp.received.filter((m) => m.to.includes(to) && m.raw.includes(`Subject: ${subject}`));
    expect(mail).toHaveLength(1);
    const m = new RegExp(`https?://[^\\s"<>]+${path}\\?token=et_[A-Za-z0-9_%-]+`).exec(mail[0]!.raw);
    if (!m) throw new Error(`no ${path} link in the email`);
    const url = new URL(m[0]);
    return `${base}${url.pathname}${url.search}`;
  }

  const open = (url: string) =>
    openPage(browser, url, (page) => page.on('request', (r) => requests.push({ url: r.url(), referer: r.headers().referer })));

  const login = (email: string, password: string) => t.app.inject({ method: 'POST', url: '/v1/auth/login', payload: { email, password } });

  it('both pages are served with the strict CSP, no referrer, no caching and no inline script', async () => {
    for (const path of ['/verify-email', '/reset-password']) {
      const res = await fetch(`${base}${path}?token=et_x`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-security-policy')).toBe(PAGE_CSP);
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)/);
      expect(html).not.toMatch(/\s(on\w+|style)=/);
      const injected = await (await fetch(`${base}${path}?token=${encodeURIComponent('"><img src=x>')}`)).text();
      expect(injected).not.toContain('<img');
    }
  });

  it('the verification link verifies the address through the page, and takes the token out of the address bar', async () => {
    const user = await signupUser(t.app);
    expect((await authed(t.app, 'POST', '/v1/auth/verify-email/request', user.access)).statusCode).toBe(202);
    const link = await linkIn(user.email, 'Verify your email address', '/verify-email');
    const token = new URL(link).searchParams.get('token')!;
    const { page, problems } = await open(link);
    expect(page.url()).toBe(`${base}/verify-email`);
    await page.click('#confirm button');
    await page.waitForSelector('#status[data-state=done]');
    expect(await page.textContent('#status')).toContain(`${user.email} is verified`);
    expect((await authed(t.app, 'GET', '/v1/me', user.access)).json()).toMatchObject({ email_verified: true });
    // The token went nowhere but the API call, and no request carried the link as a referrer.
    expect(requests.filter((r) => r.url.includes(token) || r.referer?.includes(token))).toEqual([{ url: link, referer: undefined }]);
    expect(problems).toEqual([]);

    // A second use shows the API's refusal.
    await page.goto(link);
    await page.click('#confirm button');
    await page.waitForSelector('#status[data-state=error]');
    expect(await page.textContent('#status')).toMatch(/invalid, expired or already used/);
    await page.close();
  });

  it('the reset link sets a new password through the page form and signs the account out', async () => {
    const user = await signupUser(t.app);
    expect(
      (await t.app.inject({ method: 'POST', url: '/v1/auth/password-reset/request', payload: { email: user.email } })).statusCode,
    ).toBe(202);
    const link = await linkIn(user.email, 'Reset your password', '/reset-password');
    const { page, problems } = await open(link);
    expect(page.url()).toBe(`${base}/reset-password`);

    // Two different passwords are refused in the page, before anything is sent.
    await page.fill('#password input[name=password]', NEW_PASSWORD);
    await page.fill('#password input[name=repeat]', `${NEW_PASSWORD}!`);
    await page.click('#password button');
    await page.waitForSelector('#status[data-state=error]');
    expect((await login(user.email, PASSWORD)).statusCode).toBe(200);

    await page.fill('#password input[name=repeat]', NEW_PASSWORD);
    await page.click('#password button');
    await page.waitForSelector('#status[data-state=done]');
    expect((await login(user.email, NEW_PASSWORD)).statusCode).toBe(200);
    expect((await login(user.email, PASSWORD)).statusCode).toBe(401);
    expect((await authed(t.app, 'GET', '/v1/me', user.access)).statusCode).toBe(401);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('a page opened without a token says so and offers no form', async () => {
    const { page, problems } = await open(`${base}/reset-password`);
    expect(await page.textContent('#status')).toContain('has no token');
    expect(await page.isVisible('#password')).toBe(false);
    expect(problems).toEqual([]);
    await page.close();
  });
});
