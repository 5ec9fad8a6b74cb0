// Where sharing grants join the token endpoint and the enablement of tools: installed once,
// when the application's routes are loaded.
import { setGrantBoundIssuer } from '../oauth/grants/client-credentials.js';
import { whenToolDisabled } from './organization-tools.service.js';
import { suspendGrantsOf } from './sharing-grants.service.js';
import { issueGrantBound } from './sharing-grants.tokens.js';

setGrantBoundIssuer(issueGrantBound);
// Disabling a tool in an organization suspends its grants there, in the same transaction.
whenToolDisabled(suspendGrantsOf);
