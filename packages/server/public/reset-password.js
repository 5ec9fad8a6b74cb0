// The password-reset page: posts the emailed token with a new password (POST /v1/auth/password-reset).
import { call, onSubmit, pageToken, show } from './page.js';

const token = pageToken(document.getElementById('reset'));
const form = document.getElementById('password');

onSubmit(form, async ({ password, repeat }) => {
  if (password !== repeat) {
    show('The two passwords differ. Type the same one twice.', 'error');
    return;
  }
  await call('/v1/auth/password-reset', { token, password });
  form.hidden = true;
  show('Your password is changed and every session of the account is signed out. Sign in with the new password.', 'done');
});
