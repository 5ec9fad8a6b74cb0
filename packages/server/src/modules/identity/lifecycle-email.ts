import { escapeHtml } from '../invitations/invitation-email.js';
import type { OutgoingEmail } from '../mail/outbox.js';

// The account lifecycle's emails. Subjects are fixed text: nothing a user chose reaches them.

const when = (d: Date) => `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;

function linkEmail(to: string, subject: string, lead: string, action: string, url: string, expiresAt: Date, ignore: string): OutgoingEmail {
  const footer = `The link works once and expires on ${when(expiresAt)}. ${ignore}`;
  const text = [lead, '', `${action}: ${url}`, '', footer].join('\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif">
<p>${escapeHtml(lead)}</p>
<p><a href="${escapeHtml(url)}">${escapeHtml(action)}</a></p>
<p style="color:#666">${escapeHtml(footer)}</p>
</body></html>`;
  return { to, subject, text, html };
}

export const verificationEmail = (to: string, url: string, expiresAt: Date) =>
  linkEmail(
    to,
    'Verify your email address',
    'Confirm that this is the email address of your Tenantry account.',
    'Verify the address',
    url,
    expiresAt,
    'If you did not ask for this, ignore this email.',
  );

export const emailChangeEmail = (to: string, url: string, expiresAt: Date) =>
  linkEmail(
    to,
    'Confirm your new email address',
    'Your Tenantry account is to use this email address from now on.',
    'Confirm the new address',
    url,
    expiresAt,
    'Until you confirm, the account keeps its current address. If you did not ask for this, ignore this email.',
  );

export const passwordResetEmail = (to: string, url: string, expiresAt: Date) =>
  linkEmail(
    to,
    'Reset your password',
    'Someone asked to reset the password of the Tenantry account of this email address.',
    'Choose a new password',
    url,
    expiresAt,
    'Resetting signs the account out everywhere. If you did not ask for this, ignore this email: the password stays as it is.',
  );

/** Sent to the old address once an email change is confirmed, so a takeover does not go unnoticed. */
export function emailChangedNotice(to: string, newEmail: string): OutgoingEmail {
  const lead = `The email address of your Tenantry account was changed to ${newEmail}. This address no longer signs in.`;
  const tail = 'If you did not make this change, contact your administrator at once.';
  return {
    to,
    subject: 'Your email address was changed',
    text: `${lead}\n\n${tail}`,
    html: `<!doctype html><html><body style="font-family:sans-serif"><p>${escapeHtml(lead)}</p><p>${escapeHtml(tail)}</p></body></html>`,
  };
}
