import { pageShell } from './page-shell.js';

/** The accept page: the token rides in a data attribute; /assets/accept.js does the rest. */
export function acceptPage(token: string): string {
  return pageShell({
    title: 'Accept your invitation',
    script: 'accept.js',
    id: 'accept',
    token,
    body: `<p id="status" role="status">${token ? 'Sign in or create an account with the email address the invitation was sent to.' : 'This link has no invitation token. Open the link from your invitation email.'}</p>
<section id="forms"${token ? '' : ' hidden'}>
<form id="signin">
<h2>I have an account</h2>
<label>Email <input name="email" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required></label>
<button type="submit">Sign in and accept</button>
</form>
<form id="signup">
<h2>I am new here</h2>
<label>Name <input name="name" autocomplete="name" required maxlength="200"></label>
<label>Email <input name="email" type="email" autocomplete="username" required></label>
<label>Password <input name="password" type="password" autocomplete="new-password" required minlength="12" maxlength="256"></label>
<button type="submit">Create my account and accept</button>
</form>
</section>`,
  });
}
