// The verify-email page: posts the emailed token (POST /v1/auth/verify-email) and shows the answer.
import { call, onSubmit, pageToken, show } from './page.js';

const token = pageToken(document.getElementById('verify'));
const form = document.getElementById('confirm');

onSubmit(form, async () => {
  const verified = await call('/v1/auth/verify-email', { token });
  form.hidden = true;
  show(`${verified.email} is verified. You can close this page.`, 'done');
});
