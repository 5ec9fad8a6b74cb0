// The one catalogue of error codes. Every error a client sees comes from here.

export const ERRORS = {
  VALIDATION_FAILED: { status: 400, title: 'Request validation failed' },
  MALFORMED_JSON: { status: 400, title: 'Request body is not valid JSON' },
  UNAUTHENTICATED: { status: 401, title: 'Authentication required' },
  INVALID_CREDENTIALS: { status: 401, title: 'Invalid email or password' },
  FORBIDDEN: { status: 403, title: 'Not allowed' },
  ORGANIZATION_SUSPENDED: { status: 403, title: 'Organization is suspended' },
  NOT_FOUND: { status: 404, title: 'Not found' },
  METHOD_NOT_ALLOWED: { status: 405, title: 'Method not allowed' },
  EMAIL_TAKEN: { status: 409, title: 'An account with this email already exists' },
  SLUG_TAKEN: { status: 409, title: 'Slug is already taken' },
  LAST_OWNER: { status: 409, title: 'An organization must keep at least one owner' },
  ALREADY_MEMBER: { status: 409, title: 'Already a member of this organization' },
  AUDIENCE_TAKEN: { status: 409, title: 'Another tool already has this audience' },
  CREDENTIAL_LIMIT: { status: 409, title: 'A tool has at most two active credentials; revoke one first' },
  INVALID_STATE: { status: 409, title: 'The resource is not in a state that allows this' },
  INVITATION_PENDING: { status: 409, title: 'A pending invitation already exists for this email' },
  INVITATION_INVALID: { status: 400, title: 'Invitation is invalid, expired or already used' },
  INVITATION_EMAIL_MISMATCH: { status: 403, title: 'This invitation was sent to another email address' },
  GRANT_SCOPE_INVALID: { status: 400, title: 'The sharing grant is not valid for these tools and scopes' },
  SHARING_GRANT_EXISTS: { status: 409, title: 'An active sharing grant between these tools already exists' },
  TOKEN_INVALID: { status: 400, title: 'Token is invalid, expired or already used' },
  EMAIL_NOT_VERIFIED: { status: 403, title: 'Email address not verified' },
  IDEMPOTENCY_KEY_REUSED: { status: 422, title: 'This Idempotency-Key was used with another request' },
  IDEMPOTENCY_KEY_IN_USE: { status: 409, title: 'A request with this Idempotency-Key is still in progress' },
  IDEMPOTENCY_KEY_UNSUPPORTED: { status: 400, title: 'Idempotency-Key is accepted only from signed-in callers' },
  PAYLOAD_TOO_LARGE: { status: 413, title: 'Request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, title: 'Content-Type must be application/json' },
  RATE_LIMITED: { status: 429, title: 'Too many requests' },
  INTERNAL: { status: 500, title: 'Internal error' },
  SERVICE_UNAVAILABLE: { status: 503, title: 'Service temporarily unavailable' },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

export interface FieldError {
  path: string;
  message: string;
}

export class AppError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail?: string,
    readonly errors?: FieldError[],
    readonly headers?: Record<string, string>,
  ) {
    super(detail ?? ERRORS[code].title);
    this.name = 'AppError';
    this.status = ERRORS[code].status;
  }
}

export const notFound = (what = 'Resource') => new AppError('NOT_FOUND', `${what} not found`);
export const forbidden = (detail = 'Your role does not allow this action') => new AppError('FORBIDDEN', detail);
export const unavailable = (detail: string, retryAfterSeconds = 1) =>
  new AppError('SERVICE_UNAVAILABLE', detail, undefined, { 'retry-after': String(retryAfterSeconds) });

export interface Problem {
  type: string;
  title: string;
  status: number;
  code: ErrorCode;
  detail: string;
  errors?: FieldError[];
  request_id: string;
}

export function problemOf(err: AppError, requestId: string): Problem {
  const p: Problem = {
    type: `https://tenantry.dev/problems/${err.code.toLowerCase().replaceAll('_', '-')}`,
    title: ERRORS[err.code].title,
    status: err.status,
    code: err.code,
    detail: err.detail ?? ERRORS[err.code].title,
    request_id: requestId,
  };
  if (err.errors && err.errors.length > 0) p.errors = err.errors;
  return p;
}

/** OAuth 2.0 errors (RFC 6749 §5.2), used on /oauth/* only. */
export class OAuthError extends Error {
  constructor(
    readonly error:
      | 'invalid_request'
      | 'invalid_grant'
      | 'unsupported_grant_type'
      | 'invalid_client'
      | 'unsupported_token_type'
      | 'invalid_target'
      | 'invalid_scope',
    readonly description: string,
    readonly status = 400,
    readonly headers?: Record<string, string>,
  ) {
    super(description);
    this.name = 'OAuthError';
  }
}
