// The invitation accept page's behaviour: sign in (then accept) or sign up with the
// invitation token (which accepts it), through Tenantry's JSON API on this origin.
const root = document.getElementById('accept');
const statusLine = document.getElementById('status');
const forms = document.getElementById('forms');
const token = root.dataset.token;

function show(text, state) {
  statusLine.textContent = text;
  statusLine.dataset.state = state;
}

async function call(path, body, accessToken) {
  const headers = { 'content-type': 'application/json' };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
  const answer = await res.json().catch(() => ({}));
  if (!res.ok) {
    const detail = answer.errors?.map((e) => `${e.path}: ${e.message}`).join('; ');
    throw new Error(detail || answer.detail || answer.title || `The server answered ${res.status}`);
  }
  return answer;
}

function joined(role) {
  forms.hidden = true;
  show(`You are now a member of the organization${role ? ` (${role})` : ''}. You can close this page.`, 'done');
}

function fields(form) {
  return Object.fromEntries(new FormData(form).entries());
}

async function submitting(form, work) {
  for (const b of form.querySelectorAll('button')) b.disabled = true;
  show('Working…', 'busy');
  try {
    await work(fields(form));
  } catch (err) {
    show(err.message, 'error');
  } finally {
    for (const b of form.querySelectorAll('button')) b.disabled = false;
  }
}

document.getElementById('signin').addEventListener('submit', (event) => {
  event.preventDefault();
  submitting(event.target, async ({ email, password }) => {
    const session = await call('/v1/auth/login', { email, password });
    const accepted = await call('/v1/invitations/accept', { token }, session.access_token);
    joined(accepted.role);
  });
});

document.getElementById('signup').addEventListener('submit', (event) => {
  event.preventDefault();
  submitting(event.target, async ({ name, email, password }) => {
    // Signing up with the invitation's token accepts it in the same step.
    await call('/v1/auth/signup', { name, email, password, invitation_token: token });
    joined();
  });
});
