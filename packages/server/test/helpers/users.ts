import type { App } from '../../src/app.js';
import { uuidv7 } from '../../src/db/ids.js';

export const PASSWORD = 'correct horse battery staple';

export interface SignedUp {
  id: string;
  email: string;
  access: string;
  refresh: string;
}

export async function signupUser(app: App, email = `user-${uuidv7()}@example.com`): Promise<SignedUp> {
  const res = await app.inject({ method: 'POST', url: '/v1/auth/signup', payload: { email, password: PASSWORD, name: 'Test User' } });
  if (res.statusCode !== 201) throw new Error(`signup failed: ${res.statusCode} ${res.body}`);
  const b = res.json();
  return { id: b.user.id, email: b.user.email, access: b.access_token, refresh: b.refresh_token };
}

export const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

export async function refreshToken(app: App, refresh: string, extra: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/oauth/token', payload: { grant_type: 'refresh_token', refresh_token: refresh, ...extra } });
}

/** A request with a bearer token (and a JSON body when given). */
export const authed = (app: App, method: string, url: string, token: string, payload?: unknown) =>
  app.inject({ method: method as 'GET', url, headers: bearer(token), ...(payload !== undefined ? { payload: payload as object } : {}) });
