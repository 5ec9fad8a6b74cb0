// A tool's own access token (client_credentials, SPEC §10), kept until shortly before it expires.
import { postAsClient } from './oauth-post.js';

export interface ClientCredentialsOptions {
  /** Tenantry's token endpoint, e.g. `https://tenantry.example/oauth/token`. */
  tokenEndpoint: string | URL;
  clientId: string;
  clientSecret: string;
  /** The organization the token is bound to; omitted: the token lists the tool's organizations only. */
  organizationId?: string;
  scope?: string;
  /** RFC 8707: another tool's audience (under a sharing grant), or this tool's own. */
  resource?: string;
  fetch?: typeof fetch;
  now?: () => number;
}

export class ClientCredentials {
  private current: { token: string; until: number } | undefined;
  private inflight: Promise<string> | undefined;

  constructor(private readonly o: ClientCredentialsOptions) {}

  /** A valid token, fetched again 30 s before the current one expires. Concurrent callers share one request. */
  async token(): Promise<string> {
    const now = (this.o.now ?? Date.now)();
    if (this.current && this.current.until > now) return this.current.token;
    this.inflight ??= this.fetchToken().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Drops the kept token (e.g. after a 401). */
  reset(): void {
    this.current = undefined;
  }

  private async fetchToken(): Promise<string> {
    const body = new URLSearchParams({ grant_type: 'client_credentials' });
    if (this.o.organizationId) body.set('organization_id', this.o.organizationId);
    if (this.o.scope) body.set('scope', this.o.scope);
    if (this.o.resource) body.set('resource', this.o.resource);
    const res = await postAsClient(this.o.tokenEndpoint, this.o, body);
    const answer = (await res.json().catch(() => ({}))) as { access_token?: unknown; expires_in?: unknown; error?: unknown };
    if (res.status !== 200 || typeof answer.access_token !== 'string') {
      throw new Error(`client_credentials refused: ${typeof answer.error === 'string' ? answer.error : res.status}`);
    }
    const lifetime = typeof answer.expires_in === 'number' ? answer.expires_in : 60;
    this.current = { token: answer.access_token, until: (this.o.now ?? Date.now)() + Math.max(0, lifetime - 30) * 1000 };
    return answer.access_token;
  }
}
