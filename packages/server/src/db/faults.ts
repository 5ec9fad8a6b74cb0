// How a database error is answered. A client never sees a lost connection or a
// timeout as a 500: those are "try again" (503 with Retry-After), and the
// connection that saw them is never pooled again.
import { AppError, unavailable } from '../http/errors.js';

/** SQLSTATEs after which the server side of the connection is gone or going. */
const CONNECTION_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** SQLSTATEs that leave the connection usable but say "retry", not "you sent something wrong". */
const RETRYABLE_SQLSTATES = new Set(['57014', '40001', '40P01', '55P03', '53200', '53400']);

/** node-postgres errors without SQLSTATE: a socket that died, refused, timed out or stalled. */
const SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);
const SOCKET_MESSAGES =
  /Connection terminated|Query read timeout|timeout exceeded when trying to connect|not queryable|Client was closed|connection error/i;

const codeOf = (err: unknown): string | undefined =>
  err instanceof Error && 'code' in err && typeof err.code === 'string' ? err.code : undefined;

export const isSqlstate = (code: string | undefined): code is string => code !== undefined && /^[0-9A-Z]{5}$/.test(code);

/** The connection cannot be trusted after this error: destroy it instead of pooling it. */
export function breaksConnection(err: unknown): boolean {
  const code = codeOf(err);
  if (!isSqlstate(code)) return true;
  return code.startsWith('08') || CONNECTION_SQLSTATES.has(code);
}

/** The database could not be reached or the connection was lost. */
export function isConnectionLoss(err: unknown): boolean {
  const code = codeOf(err);
  if (isSqlstate(code)) return code.startsWith('08') || CONNECTION_SQLSTATES.has(code);
  if (code !== undefined && SOCKET_CODES.has(code)) return true;
  return err instanceof Error && SOCKET_MESSAGES.test(err.message);
}

/**
 * The answer for a database error: connection loss → 503 retrying after `unreachableRetryAfter`
 * seconds; a statement timeout, serialization failure or deadlock → 503 retrying after 1 s;
 * anything else unchanged (a constraint violation is the caller's to translate).
 */
export function classifyDatabaseError(err: unknown, unreachableRetryAfter: number): unknown {
  if (err instanceof AppError) return err;
  const code = codeOf(err);
  if (isConnectionLoss(err)) return withCause(unavailable('The database is unavailable; retry shortly', unreachableRetryAfter), err);
  if (isSqlstate(code) && RETRYABLE_SQLSTATES.has(code)) {
    const detail = code === '57014' ? 'The database took too long to answer; retry shortly' : 'The database is busy; retry shortly';
    return withCause(unavailable(detail, 1), err);
  }
  return err;
}

function withCause(e: AppError, cause: unknown): AppError {
  Object.defineProperty(e, 'cause', { value: cause, enumerable: false });
  return e;
}

/** Seconds a client should wait before retrying when the database is unreachable. */
export const unreachableRetryAfter = (connectionTimeoutMs: number) => Math.max(2, Math.ceil(connectionTimeoutMs / 1000) + 1);
