import type { Static } from '@sinclair/typebox';
import type { RequestMeta } from '../../audit/audit.js';
import type { ClientAuthDeps } from '../client-auth.js';
import type { TokenRequest } from '../oauth.schemas.js';
import type { AuthDeps, TokenResponse } from '../oauth.service.js';

/** What every grant may use: the session machinery, and client authentication for the grants of tools. */
export interface GrantDeps extends AuthDeps {
  clientAuth: ClientAuthDeps;
}

/** The request around the body: where it came from, and its Authorization header (client_secret_basic). */
export interface GrantRequest {
  meta: RequestMeta;
  ip: string;
  authorization: string | undefined;
}

/** One grant type of the token endpoint (RFC 6749 §4): checks its own parameters and answers with tokens. */
export type Grant = (deps: GrantDeps, body: Static<typeof TokenRequest>, request: GrantRequest) => Promise<TokenResponse>;
