import type { OutgoingEmail } from '../mail/outbox.js';

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export const INVITATION_SUBJECT = 'You are invited to join an organization on Tenantry';

export function invitationEmail(i: {
  to: string;
  organization: string;
  inviter: string;
  role: string;
  acceptUrl: string;
  expiresAt: Date;
}): OutgoingEmail {
  const expires = `${i.expiresAt.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  const text = [
    `${i.inviter} invited you to join ${i.organization} as ${i.role}.`,
    '',
    `Accept the invitation: ${i.acceptUrl}`,
    '',
    `The link works once and expires on ${expires}. If you did not expect this invitation, ignore this email.`,
  ].join('\n');
  const html = `<!doctype html><html><body style="font-family:sans-serif">
<p><strong>${escapeHtml(i.inviter)}</strong> invited you to join <strong>${escapeHtml(i.organization)}</strong> as ${escapeHtml(i.role)}.</p>
<p><a href="${escapeHtml(i.acceptUrl)}">Accept the invitation</a></p>
<p style="color:#666">The link works once and expires on ${expires}. If you did not expect this invitation, ignore this email.</p>
</body></html>`;
  // The subject is fixed text: names are chosen by whoever signs up, and a subject is what
  // a mailbox shows before anything else, so it carries none of them.
  return { to: i.to, subject: INVITATION_SUBJECT, text, html };
}
