import type { Static } from '@sinclair/typebox';
import type { RequestMeta } from '../../audit/audit.js';
import type { TokenRequest } from '../oauth.schemas.js';
import type { AuthDeps, TokenResponse } from '../oauth.service.js';

/** One grant type of the token endpoint (RFC 6749 §4): checks its own parameters and answers with tokens. */
export type Grant = (deps: AuthDeps, body: Static<typeof TokenRequest>, meta: RequestMeta) => Promise<TokenResponse>;
