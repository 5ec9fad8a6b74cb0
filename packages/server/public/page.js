// What the scripts of Tenantry's pages share: the emailed token (then taken out of the
// address bar), the status line, and calls to the JSON API on this origin.
const statusLine = document.getElementById('status');

/** The token the server put in the page; the URL that carried it is replaced by one without it. */
export function pageToken(root) {
  // Out of the address bar, the history and any bookmark or screenshot of the page.
  if (location.search) history.replaceState(null, '', location.pathname);
  return root.dataset.token;
}

export function show(text, state) {
  statusLine.textContent = text;
  statusLine.dataset.state = state;
}

/** POSTs JSON; the answer's body (null for 204), or an Error with the API's explanation. */
export async function call(path, body, accessToken) {
  const headers = { 'content-type': 'application/json' };
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  const res = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body) });
  const answer = res.status === 204 ? null : await res.json().catch(() => ({}));
  if (!res.ok) {
    const detail = answer.errors?.map((e) => `${e.path}: ${e.message}`).join('; ');
    throw new Error(detail || answer.detail || answer.title || `The server answered ${res.status}`);
  }
  return answer;
}

/** Runs `work` with the form's fields, its buttons disabled meanwhile; a failure is shown. */
export async function submitting(form, work) {
  for (const b of form.querySelectorAll('button')) b.disabled = true;
  show('Working…', 'busy');
  try {
    await work(Object.fromEntries(new FormData(form).entries()));
  } catch (err) {
    show(err.message, 'error');
  } finally {
    for (const b of form.querySelectorAll('button')) b.disabled = false;
  }
}

/** Submitting `form` runs `work` (see submitting) instead of navigating. */
export function onSubmit(form, work) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    submitting(form, work);
  });
}
