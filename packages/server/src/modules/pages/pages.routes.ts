// Pages Tenantry serves itself until a console exists: the invitation accept page and
// the pages of the emailed verification and password-reset links.
// Server-rendered HTML with no inline script or style; its behaviour is a static
// script (public/accept.js) that calls the JSON API, under a strict CSP.
import { readFileSync } from 'node:fs';
import { Type } from '@sinclair/typebox';
import type { App } from '../../app.js';
import { acceptPage } from './accept-page.js';
import { resetPasswordPage, verifyEmailPage } from './account-pages.js';

const PUBLIC_DIR = new URL('../../../public/', import.meta.url);

/** Only this origin's own files run; nothing is framed, posted elsewhere or loaded from outside. */
export const PAGE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

const ASSETS = {
  'page.js': 'text/javascript; charset=utf-8',
  'accept.js': 'text/javascript; charset=utf-8',
  'verify-email.js': 'text/javascript; charset=utf-8',
  'reset-password.js': 'text/javascript; charset=utf-8',
  'accept.css': 'text/css; charset=utf-8',
} as const;

export function pageRoutes(app: App) {
  const hidden = { hide: true };
  const files = new Map(Object.entries(ASSETS).map(([name, type]) => [name, { type, body: readFileSync(new URL(name, PUBLIC_DIR)) }]));

  // A page carrying an emailed token: never cached, never sent on as a referrer.
  const tokenPage = (url: string, render: (token: string) => string) =>
    app.get(
      url,
      { schema: { ...hidden, querystring: Type.Object({ token: Type.Optional(Type.String({ maxLength: 200 })) }) } },
      async (request, reply) =>
        reply
          .type('text/html; charset=utf-8')
          .header('content-security-policy', PAGE_CSP)
          .header('x-content-type-options', 'nosniff')
          .header('referrer-policy', 'no-referrer')
          .header('cache-control', 'no-store')
          .send(render(request.query.token ?? '')),
    );
  tokenPage('/invitations/accept', acceptPage);
  // The defaults of VERIFY_EMAIL_URL and PASSWORD_RESET_URL (config.ts).
  tokenPage('/verify-email', verifyEmailPage);
  tokenPage('/reset-password', resetPasswordPage);

  app.get(
    '/assets/:name',
    { schema: { ...hidden, params: Type.Object({ name: Type.Union(Object.keys(ASSETS).map((n) => Type.Literal(n))) }) } },
    async (request, reply) => {
      const file = files.get(request.params.name)!;
      return reply
        .type(file.type)
        .header('x-content-type-options', 'nosniff')
        .header('cache-control', 'public, max-age=300')
        .send(file.body);
    },
  );
}
