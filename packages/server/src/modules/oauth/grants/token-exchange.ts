import { OAuthError } from '../../../http/errors.js';
import { tokenScope } from '../../access/gate.js';
import { permissionsOf } from '../../access/roles.js';
import { asSubjectInOrganization } from '../../access/transactions.js';
import { record } from '../../audit/audit.js';
import { coveringGrant } from '../../tools/sharing-grants.queries.js';
import { delegatedScopes, parseScope } from '../../tools/sharing-grants.rules.js';
import { noCoveringGrant, standingOf, toolActor } from '../../tools/sharing-grants.tokens.js';
import { authenticateClient, requireActiveClient } from '../client-auth.js';
import type { Grant } from './grant.js';

// grant_type=urn:ietf:params:oauth:grant-type:token-exchange (RFC 8693), delegation only:
// a tool presents a user's access token issued for it and gets a token for another tool,
// under a sharing grant, that names the user as `sub` and itself as `act`. A token without
// `act` (impersonation) is never issued.

export const TOKEN_EXCHANGE_GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
export const ACCESS_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:access_token';

const invalidRequest = (d: string) => new OAuthError('invalid_request', d);
const invalidSubject = (d = 'The subject token is not a valid access token of a user for this tool') => new OAuthError('invalid_grant', d);

export const tokenExchangeGrant: Grant = async (deps, body, request) => {
  const client = requireActiveClient(
    await authenticateClient(deps.clientAuth, { ...body, authorization: request.authorization, ip: request.ip }),
  );
  if (!body.subject_token) throw invalidRequest('subject_token is required');
  if (body.subject_token_type !== ACCESS_TOKEN_TYPE) throw invalidRequest(`subject_token_type must be ${ACCESS_TOKEN_TYPE}`);
  if (body.requested_token_type !== undefined && body.requested_token_type !== ACCESS_TOKEN_TYPE) {
    throw invalidRequest(`requested_token_type must be ${ACCESS_TOKEN_TYPE}`);
  }
  // The actor is the authenticated client, always; no other actor can be named.
  if (body.actor_token !== undefined || body.actor_token_type !== undefined)
    throw invalidRequest('actor_token is not accepted: the authenticated client is the actor');
  const resource = body.resource;
  if (!resource) throw invalidRequest('resource is required: the audience of the tool to call');
  if (resource === client.audience || resource === deps.tokens.apiAudience) throw noCoveringGrant();

  const subject = await deps.tokens.verifySubject(body.subject_token, client.audience);
  if (!subject) throw invalidSubject();
  const requested = parseScope(body.scope);

  return asSubjectInOrganization(deps.db, subject, async (tx, e) => {
    if (!e.sessionLive) throw invalidSubject('The session of the subject token has ended');
    // The user's membership as it is now, not as the subject token says.
    const m = tokenScope(e);
    if ('problem' in m) throw invalidSubject('The user is not an active member of the organization');
    const s = standingOf(await coveringGrant(tx, subject.orgId, client.toolId, resource));
    const scopes = delegatedScopes(requested, s.grantScopes, s.providerScopes, permissionsOf(m.role));
    if (scopes.length === 0) throw new OAuthError('invalid_scope', 'None of the requested scopes may be delegated for this user');
    await record(
      tx,
      { organizationId: subject.orgId, actor: toolActor(client.toolId), meta: request.meta },
      {
        action: 'token.exchanged',
        target: { type: 'sharing_grant', id: s.grantId },
        data: { user_id: subject.userId, provider_tool_id: s.providerToolId, consumer_tool_id: client.toolId, scopes },
      },
    );
    const { token, expiresIn } = await deps.tokens.issueDelegated({
      userId: subject.userId,
      sessionId: subject.sessionId,
      orgId: subject.orgId,
      actorClientId: client.clientId,
      audience: resource,
      grantId: s.grantId,
      permissions: scopes,
      ttl: s.ttl,
    });
    return {
      access_token: token,
      issued_token_type: ACCESS_TOKEN_TYPE,
      token_type: 'Bearer',
      expires_in: expiresIn,
      scope: scopes.join(' '),
      organization_id: subject.orgId,
    };
  });
};
