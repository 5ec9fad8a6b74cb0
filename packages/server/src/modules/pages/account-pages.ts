// The pages of the emailed account links (VERIFY_EMAIL_URL and PASSWORD_RESET_URL by
// default): each posts its token to the JSON API from a static script and shows the answer.
import { pageShell } from './page-shell.js';

const NO_TOKEN = 'This link has no token. Open the link from your email.';

/** /verify-email: one button posts the token (a mail scanner that only fetches the link uses nothing). */
export const verifyEmailPage = (token: string): string =>
  pageShell({
    title: 'Verify your email address',
    script: 'verify-email.js',
    id: 'verify',
    token,
    body: `<p id="status" role="status">${token ? 'Confirm that this address is yours.' : NO_TOKEN}</p>
<form id="confirm"${token ? '' : ' hidden'}>
<button type="submit">Verify my email address</button>
</form>`,
  });

/** /reset-password: a new password, twice, posted with the token. */
export const resetPasswordPage = (token: string): string =>
  pageShell({
    title: 'Choose a new password',
    script: 'reset-password.js',
    id: 'reset',
    token,
    body: `<p id="status" role="status">${token ? 'Choose a new password of 12 to 256 characters. Every session of the account is signed out.' : NO_TOKEN}</p>
<form id="password"${token ? '' : ' hidden'}>
<label>New password <input name="password" type="password" autocomplete="new-password" required minlength="12" maxlength="256"></label>
<label>Repeat it <input name="repeat" type="password" autocomplete="new-password" required minlength="12" maxlength="256"></label>
<button type="submit">Set the new password</button>
</form>`,
  });
