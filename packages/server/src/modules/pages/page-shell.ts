// The frame of every page Tenantry serves: no inline script or style (PAGE_CSP), no
// referrer sent anywhere, and the emailed token only in a data attribute, which the
// page's script reads and then removes from the address bar.

export const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

export function pageShell(p: { title: string; script: string; id: string; token: string; body: string }): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${escapeHtml(p.title)} · Tenantry</title>
<link rel="stylesheet" href="/assets/accept.css">
<script type="module" src="/assets/${p.script}"></script>
</head>
<body>
<main id="${p.id}" data-token="${escapeHtml(p.token)}">
<h1>${escapeHtml(p.title)}</h1>
${p.body}
</main>
</body>
</html>
`;
}
