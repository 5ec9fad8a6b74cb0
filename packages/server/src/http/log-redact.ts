// Apart from app.ts: the process logger needs these paths before the server's modules load.
const SECRET_FIELDS = [
  'password',
  'current_password',
  'token',
  'access_token',
  'refresh_token',
  'invitation_token',
  'password_hash',
  'private_key',
  'authorization',
];

/** Secrets never reach the logs: at the top level, one level down, and in request headers and bodies. */
export const LOG_REDACT = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((f) => `*.${f}`),
  ...SECRET_FIELDS.map((f) => `req.body.${f}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
];
