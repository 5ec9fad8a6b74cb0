import { AppError } from './errors.js';
import { RawJson } from './raw-json.js';

// Keyset pagination: the cursor is the last row's key, opaque to clients.

export const encodeCursor = (key: string): string => Buffer.from(key, 'utf8').toString('base64url');

export function decodeCursor(cursor: string | undefined, valid: (key: string) => boolean): string | undefined {
  if (cursor === undefined) return undefined;
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!valid(key))
    throw new AppError('VALIDATION_FAILED', 'Invalid cursor', [{ path: '/query/cursor', message: 'is not a cursor from this list' }]);
  return key;
}

/** Fetch `limit + 1` rows; this cuts the extra one off and derives next_cursor from the last kept row. */
export function page<T>(rows: T[], limit: number, keyOf: (row: T) => string): { data: T[]; next_cursor: string | null } {
  const more = rows.length > limit;
  const data = more ? rows.slice(0, limit) : rows;
  return { data, next_cursor: more ? encodeCursor(keyOf(data[data.length - 1]!)) : null };
}

/** The same envelope as page(), around rows the database already rendered as a JSON array. */
export const renderedPage = (data: string, lastKey: string | null): RawJson =>
  new RawJson(`{"data":${data},"next_cursor":${lastKey === null ? 'null' : JSON.stringify(encodeCursor(lastKey))}}`);
