// The refusals of the SDK, each with the HTTP status and the problem code a tool answers with
// (the codes of Tenantry's own catalogue, SPEC §1).

export type RefusalCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'NOT_FOUND' | 'SERVICE_UNAVAILABLE';

const STATUS: Readonly<Record<RefusalCode, number>> = {
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  SERVICE_UNAVAILABLE: 503,
};

const TITLE: Readonly<Record<RefusalCode, string>> = {
  UNAUTHENTICATED: 'Unauthenticated',
  FORBIDDEN: 'Forbidden',
  NOT_FOUND: 'Not found',
  SERVICE_UNAVAILABLE: 'Service unavailable',
};

/** A refused request. `detail` is safe to show to the caller: it never names a key or a claim value. */
export class TenantryAuthError extends Error {
  readonly status: number;
  constructor(
    readonly code: RefusalCode,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super(detail, options);
    this.name = 'TenantryAuthError';
    this.status = STATUS[code];
  }

  /** RFC 9457 problem details, as Tenantry itself answers. */
  toProblem(): { type: string; title: string; status: number; code: RefusalCode; detail: string } {
    return { type: 'about:blank', title: TITLE[this.code], status: this.status, code: this.code, detail: this.detail };
  }

  /** The headers that go with the answer: a `WWW-Authenticate` challenge on 401 (RFC 6750). */
  headers(): Record<string, string> {
    return this.status === 401 ? { 'www-authenticate': 'Bearer error="invalid_token"' } : {};
  }
}

export const unauthenticated = (detail = 'The access token is invalid') => new TenantryAuthError('UNAUTHENTICATED', detail);
export const forbidden = (detail: string) => new TenantryAuthError('FORBIDDEN', detail);
export const notFound = () => new TenantryAuthError('NOT_FOUND', 'Not found');
