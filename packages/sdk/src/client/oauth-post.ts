// A form POST to one of Tenantry's OAuth endpoints, authenticated as the tool
// (client_secret_basic, RFC 6749 §2.3.1: id and secret form-encoded, then base64).

export interface ClientAuth {
  clientId: string;
  clientSecret: string;
  fetch?: typeof fetch;
  timeoutMs?: number;
}

export function postAsClient(endpoint: string | URL, auth: ClientAuth, form: URLSearchParams): Promise<Response> {
  const basic = Buffer.from(`${encodeURIComponent(auth.clientId)}:${encodeURIComponent(auth.clientSecret)}`).toString('base64');
  return (auth.fetch ?? fetch)(endpoint, {
    method: 'POST',
    headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
    body: form.toString(),
    redirect: 'error',
    signal: AbortSignal.timeout(auth.timeoutMs ?? 5000),
  });
}
