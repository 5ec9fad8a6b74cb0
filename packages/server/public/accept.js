// The invitation accept page's behaviour: sign in (then accept) or sign up with the
// invitation token (which accepts it), through Tenantry's JSON API on this origin.
import { call, onSubmit, pageToken, show } from './page.js';

const token = pageToken(document.getElementById('accept'));
const forms = document.getElementById('forms');

function joined(role) {
  forms.hidden = true;
  show(`You are now a member of the organization${role ? ` (${role})` : ''}. You can close this page.`, 'done');
}

onSubmit(document.getElementById('signin'), async ({ email, password }) => {
  const session = await call('/v1/auth/login', { email, password });
  const accepted = await call('/v1/invitations/accept', { token }, session.access_token);
  joined(accepted.role);
});

onSubmit(document.getElementById('signup'), async ({ name, email, password }) => {
  // Signing up with the invitation's token accepts it in the same step.
  await call('/v1/auth/signup', { name, email, password, invitation_token: token });
  joined();
});
