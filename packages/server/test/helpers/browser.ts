// Debian's chromium driven by playwright-core, for the pages Tenantry serves.
import { type Browser, chromium, type Page } from 'playwright-core';
import { expect } from 'vitest';

export const CHROMIUM = '/usr/bin/chromium';

export const launchChromium = (): Promise<Browser> =>
  chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });

/** Opens `url` (expecting 200) in a page that records what the browser refused: CSP violations, script errors, 5xx and 404 answers. */
export async function openPage(browser: Browser, url: string, onPage?: (page: Page) => void): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused/.test(m.text())) problems.push(m.text());
  });
  page.on('pageerror', (e) => problems.push(e.message));
  page.on('response', (r) => {
    if (r.status() >= 500 || (r.status() === 404 && !r.url().endsWith('/favicon.ico'))) problems.push(`${r.status()} ${r.url()}`);
  });
  onPage?.(page);
  const res = await page.goto(url);
  expect(res?.status()).toBe(200);
  return { page, problems };
}
