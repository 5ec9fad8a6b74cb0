// What a failed first connection means, in words an operator can act on. The pool's
// error (a 503 to clients) carries the driver's error as its cause; at start the
// process names the cause instead of only "unavailable".

interface Cause {
  code?: string;
  message?: string;
}

/** The driver's error below an AppError, an AggregateError (several addresses) or a plain error. */
function rootCauses(err: unknown): Cause[] {
  const out: Cause[] = [];
  let e: unknown = err;
  for (let depth = 0; e && typeof e === 'object' && depth < 5; depth++) {
    out.push(e as Cause);
    if (e instanceof AggregateError) out.push(...(e.errors as Cause[]));
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/** A sentence for a failed connection to DATABASE_URL, or undefined when the cause is something else. */
export function describeConnectFailure(err: unknown, databaseUrl: string): string | undefined {
  const url = new URL(databaseUrl);
  const host = url.hostname || 'localhost';
  const port = url.port || '5432';
  const user = decodeURIComponent(url.username) || 'the current user';
  const database = decodeURIComponent(url.pathname.slice(1)) || decodeURIComponent(url.username);
  const where = `${host}:${port}`;
  const causes = rootCauses(err);
  const has = (...codes: string[]) => causes.some((c) => c.code !== undefined && codes.includes(c.code));

  if (has('3D000'))
    return `database "${database}" does not exist on ${where}; create it (e.g. \`createdb -h ${host} -p ${port} -U ${user} ${database}\`) or fix DATABASE_URL`;
  if (has('28P01')) return `password authentication failed for role "${user}" on ${where}; check the password in DATABASE_URL`;
  if (has('28000')) {
    const said = causes.find((c) => c.code === '28000')?.message;
    return `PostgreSQL on ${where} refused role "${user}"${said ? ` (${said})` : ''}; check the role in DATABASE_URL and pg_hba.conf`;
  }
  if (has('ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME'))
    return `the database host "${host}" could not be resolved; check the host name in DATABASE_URL`;
  if (has('ECONNREFUSED')) return `connection refused at ${where}: is PostgreSQL running and listening there?`;
  if (has('EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT') || causes.some((c) => /timeout/i.test(c.message ?? '')))
    return `the database host ${where} is unreachable (no answer in time); check the host, the port and the network`;
  return undefined;
}
