import { sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Config, ConfigError, loadConfig } from '../src/config.js';
import { withTenant } from '../src/db/tenant-context.js';
import { startApp, type TestApp } from './helpers/app.js';
import { ENGINES } from './helpers/db.js';
import { insertMembership } from './helpers/fixtures.js';
import { createOrg } from './helpers/orgs.js';
import { outboxTo, startSmtpServer } from './helpers/smtp.js';
import { authed, bearer, PASSWORD, refreshToken, type SignedUp, signupUser } from './helpers/users.js';

// The account lifecycle of SPEC §3b over real HTTP, with every email sent through the
// outbox to a real SMTP server and its link read from the message that arrived.

const NEW_PASSWORD = 'a brand new passphrase 42';
const uniqueEmail = (tag: string) => `${tag}-${Math.random().toString(36).slice(2)}@example.com`;

interface Harness {
  t: TestApp;
  smtp: Awaited<ReturnType<typeof startSmtpServer>>;
  deliver: () => Promise<void>;
}

async function harness(engine: Parameters<typeof startApp>[0], overrides: Partial<Config> = {}, onQuery?: (q: string) => void) {
  const t = await startApp(engine, overrides, onQuery ? { onQuery } : {});
  const smtp = await startSmtpServer();
  return { t, smtp, deliver: outboxTo(t.db, smtp.port) };
}

/** Delivers the outbox and returns the one message to `to` with `subject` (each test uses addresses of its own). */
async function mailTo(h: Harness, to: string, subject: string) {
  await h.deliver();
  const found = h.smtp.received.filter((m) => m.to.includes(to) && m.raw.includes(`Subject: ${subject}`));
  expect(found).toHaveLength(1);
  return found[0]!.raw;
}

/** The token of the link in an email (VERIFY_EMAIL_URL / PASSWORD_RESET_URL carry it as ?token=). */
const tokenIn = (raw: string) => {
  const m = /token=(et_[A-Za-z0-9_-]+)/.exec(raw);
  if (!m) throw new Error('no token link in the email');
  return m[1]!;
};

const post = (h: Harness, url: string, payload: object, headers: Record<string, string> = {}) =>
  h.t.app.inject({ method: 'POST', url, payload, headers });

const login = (h: Harness, email: string, password: string) => post(h, '/v1/auth/login', { email, password });

async function verificationToken(h: Harness, u: SignedUp) {
  expect((await authed(h.t.app, 'POST', '/v1/auth/verify-email/request', u.access)).statusCode).toBe(202);
  return tokenIn(await mailTo(h, u.email, 'Verify your email address'));
}

async function resetToken(h: Harness, email: string) {
  expect((await post(h, '/v1/auth/password-reset/request', { email })).statusCode).toBe(202);
  return tokenIn(await mailTo(h, email, 'Reset your password'));
}

const passwordIs = async (h: Harness, email: string, password: string) => (await login(h, email, password)).statusCode === 200;

describe.each(ENGINES)('account lifecycle (%s)', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(engine, { verifyEmailUrl: 'https://app.example.com/verify?token={token}' });
  });
  afterAll(async () => {
    await h.smtp.close();
    await h.t.close();
  });

  it('a new user verifies the email, resets the password, changes the email and deletes the account, end to end', async () => {
    const user = await signupUser(h.t.app, uniqueEmail('life'));
    const colleague = await signupUser(h.t.app, uniqueEmail('colleague'));
    const org = await createOrg(h.t.app, user, { name: 'Lifecycle Ltd' });
    await insertMembership(h.t.db, org.id, colleague.id, 'owner');

    // Verification.
    expect((await authed(h.t.app, 'GET', '/v1/me', user.access)).json().email_verified).toBe(false);
    expect((await authed(h.t.app, 'POST', '/v1/auth/verify-email/request', user.access)).statusCode).toBe(202);
    const verifyMail = await mailTo(h, user.email, 'Verify your email address');
    expect(verifyMail).toContain('https://app.example.com/verify?token=et_');
    const verified = await post(h, '/v1/auth/verify-email', { token: tokenIn(verifyMail) });
    expect(verified.statusCode).toBe(200);
    expect(verified.json()).toEqual({ user_id: user.id, email: user.email, email_verified: true });
    expect((await authed(h.t.app, 'GET', '/v1/me', user.access)).json().email_verified).toBe(true);

    // Password reset: every session ends, the new password signs in, the link works once.
    const second = (await login(h, user.email, PASSWORD)).json();
    const reset = await resetToken(h, user.email);
    const done = await post(h, '/v1/auth/password-reset', { token: reset, password: NEW_PASSWORD });
    expect(done.statusCode).toBe(204);
    expect((await authed(h.t.app, 'GET', '/v1/me', user.access)).statusCode).toBe(401);
    expect((await authed(h.t.app, 'GET', '/v1/me', second.access_token)).statusCode).toBe(401);
    expect((await refreshToken(h.t.app, second.refresh_token)).json().error).toBe('invalid_grant');
    expect(await passwordIs(h, user.email, PASSWORD)).toBe(false);
    const fresh = (await login(h, user.email, NEW_PASSWORD)).json();
    expect(fresh.access_token).toBeTruthy();
    const reused = await post(h, '/v1/auth/password-reset', { token: reset, password: 'yet another passphrase' });
    expect(reused.statusCode).toBe(400);
    expect(reused.json().code).toBe('TOKEN_INVALID');

    // Email change: the new address gets the link, the old one a notice afterwards.
    const newEmail = uniqueEmail('moved');
    const patch = await authed(h.t.app, 'PATCH', '/v1/me', fresh.access_token, { email: newEmail, current_password: NEW_PASSWORD });
    expect(patch.statusCode).toBe(200);
    expect(patch.json().email).toBe(user.email); // unchanged until the new address is verified
    const change = tokenIn(await mailTo(h, newEmail, 'Confirm your new email address'));
    const switched = await post(h, '/v1/auth/verify-email', { token: change });
    expect(switched.statusCode).toBe(200);
    expect(switched.json()).toEqual({ user_id: user.id, email: newEmail, email_verified: true });
    const notice = await mailTo(h, user.email, 'Your email address was changed');
    expect(notice).toContain(newEmail);
    expect(await passwordIs(h, user.email, NEW_PASSWORD)).toBe(false);
    const moved = (await login(h, newEmail, NEW_PASSWORD)).json();
    const me = (await authed(h.t.app, 'GET', '/v1/me', moved.access_token)).json();
    expect(me).toMatchObject({ email: newEmail, email_verified: true });
    const members = (await authed(h.t.app, 'GET', `/v1/organizations/${org.id}/members`, colleague.access)).json();
    expect(members.data.find((m: { user_id: string }) => m.user_id === user.id).email).toBe(newEmail);

    // Deletion: sessions and memberships end; the audit log keeps the id only.
    const gone = await h.t.app.inject({
      method: 'DELETE',
      url: '/v1/me',
      headers: bearer(moved.access_token),
      payload: { current_password: NEW_PASSWORD },
    });
    expect(gone.statusCode).toBe(204);
    expect((await authed(h.t.app, 'GET', '/v1/me', moved.access_token)).statusCode).toBe(401);
    expect((await refreshToken(h.t.app, moved.refresh_token)).json().error).toBe('invalid_grant');
    expect(await passwordIs(h, newEmail, NEW_PASSWORD)).toBe(false);
    const after = (await authed(h.t.app, 'GET', `/v1/organizations/${org.id}/members`, colleague.access)).json();
    expect(after.data.map((m: { user_id: string }) => m.user_id)).toEqual([colleague.id]);
    const events = (
      await authed(h.t.app, 'GET', `/v1/organizations/${org.id}/audit-events?action=member.removed`, colleague.access)
    ).json();
    expect(events.data).toHaveLength(1);
    expect(events.data[0]).toMatchObject({
      actor: { type: 'user', id: user.id },
      target: { type: 'user', id: user.id },
      data: { role: 'owner', account_deleted: true },
    });
    expect(JSON.stringify(events.data[0])).not.toContain(newEmail);
  });

  it('deleting the account is refused with LAST_OWNER while the user is the last owner of an organization', async () => {
    const owner = await signupUser(h.t.app, uniqueEmail('sole'));
    const org = await createOrg(h.t.app, owner, { name: 'Sole Owner Inc' });
    const res = await h.t.app.inject({
      method: 'DELETE',
      url: '/v1/me',
      headers: bearer(owner.access),
      payload: { current_password: PASSWORD },
    });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('LAST_OWNER');
    expect((await authed(h.t.app, 'GET', '/v1/me', owner.access)).json().memberships).toEqual([
      expect.objectContaining({ organization_id: org.id, role: 'owner' }),
    ]);
    const wrong = await h.t.app.inject({
      method: 'DELETE',
      url: '/v1/me',
      headers: bearer(owner.access),
      payload: { current_password: 'not the password' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('INVALID_CREDENTIALS');
  });

  it('password reset token reuse is refused and keeps the password the first use set', async () => {
    const u = await signupUser(h.t.app, uniqueEmail('reuse'));
    const token = await resetToken(h, u.email);
    expect((await post(h, '/v1/auth/password-reset', { token, password: NEW_PASSWORD })).statusCode).toBe(204);
    const again = await post(h, '/v1/auth/password-reset', { token, password: 'the attacker passphrase' });
    expect(again.statusCode).toBe(400);
    expect(again.json().code).toBe('TOKEN_INVALID');
    expect(await passwordIs(h, u.email, NEW_PASSWORD)).toBe(true);
    expect(await passwordIs(h, u.email, 'the attacker passphrase')).toBe(false);
  });

  it('an expired token is refused: a reset link after its hour, a verification link after its day', async () => {
    const u = await signupUser(h.t.app, uniqueEmail('expired'));
    const reset = await resetToken(h, u.email);
    const verify = await verificationToken(h, u);
    await sql`update account_tokens set expires_at = now() - interval '1 second' where user_id = ${u.id}`.execute(h.t.db.kysely);
    const r = await post(h, '/v1/auth/password-reset', { token: reset, password: NEW_PASSWORD });
    expect(r.statusCode).toBe(400);
    expect(r.json().code).toBe('TOKEN_INVALID');
    expect(await passwordIs(h, u.email, PASSWORD)).toBe(true);
    expect((await post(h, '/v1/auth/verify-email', { token: verify })).statusCode).toBe(400);
    expect((await authed(h.t.app, 'GET', '/v1/me', u.access)).json().email_verified).toBe(false);
  });

  it('a token for another purpose is refused and stays usable for its own', async () => {
    const u = await signupUser(h.t.app, uniqueEmail('purpose'));
    const verify = await verificationToken(h, u);
    const reset = await resetToken(h, u.email);
    const asReset = await post(h, '/v1/auth/password-reset', { token: verify, password: NEW_PASSWORD });
    expect(asReset.statusCode).toBe(400);
    expect(asReset.json().code).toBe('TOKEN_INVALID');
    expect(await passwordIs(h, u.email, PASSWORD)).toBe(true);
    expect((await post(h, '/v1/auth/verify-email', { token: reset })).statusCode).toBe(400);
    expect((await authed(h.t.app, 'GET', '/v1/me', u.access)).json().email_verified).toBe(false);
    expect((await post(h, '/v1/auth/verify-email', { token: verify })).statusCode).toBe(200);
    expect((await post(h, '/v1/auth/password-reset', { token: reset, password: NEW_PASSWORD })).statusCode).toBe(204);
  });

  it('a verification link sent to an address the account has left does not verify the new one', async () => {
    const u = await signupUser(h.t.app, uniqueEmail('left'));
    const oldLink = await verificationToken(h, u);
    const newEmail = uniqueEmail('left-new');
    await authed(h.t.app, 'PATCH', '/v1/me', u.access, { email: newEmail, current_password: PASSWORD });
    expect(
      (await post(h, '/v1/auth/verify-email', { token: tokenIn(await mailTo(h, newEmail, 'Confirm your new email address')) })).statusCode,
    ).toBe(200);
    await sql`update users set email_verified_at = null where id = ${u.id}`.execute(h.t.db.kysely);
    expect((await post(h, '/v1/auth/verify-email', { token: oldLink })).statusCode).toBe(400);
    expect((await authed(h.t.app, 'GET', '/v1/me', u.access)).json()).toMatchObject({ email: newEmail, email_verified: false });
  });

  it('email change to a taken address is refused: at the request, and at verification when taken meanwhile', async () => {
    const u = await signupUser(h.t.app, uniqueEmail('changer'));
    const other = await signupUser(h.t.app, uniqueEmail('taken'));
    const now = await authed(h.t.app, 'PATCH', '/v1/me', u.access, { email: other.email, current_password: PASSWORD });
    expect(now.statusCode).toBe(409);
    expect(now.json().code).toBe('EMAIL_TAKEN');

    const wanted = uniqueEmail('wanted');
    expect((await authed(h.t.app, 'PATCH', '/v1/me', u.access, { email: wanted, current_password: PASSWORD })).statusCode).toBe(200);
    const token = tokenIn(await mailTo(h, wanted, 'Confirm your new email address'));
    const squatter = await signupUser(h.t.app, wanted);
    const res = await post(h, '/v1/auth/verify-email', { token });
    expect(res.statusCode).toBe(409);
    expect(res.json().code).toBe('EMAIL_TAKEN');
    expect((await authed(h.t.app, 'GET', '/v1/me', u.access)).json().email).toBe(u.email);
    expect((await authed(h.t.app, 'GET', '/v1/me', squatter.access)).json().email).toBe(wanted);
    expect(h.smtp.received.filter((m) => m.to.includes(u.email) && m.raw.includes('Subject: Your email address was changed'))).toHaveLength(
      0,
    );
  });

  it('an email change needs the current password', async () => {
    const u = await signupUser(h.t.app, uniqueEmail('nopw'));
    const missing = await authed(h.t.app, 'PATCH', '/v1/me', u.access, { email: uniqueEmail('x') });
    expect(missing.statusCode).toBe(400);
    const wrong = await authed(h.t.app, 'PATCH', '/v1/me', u.access, { email: uniqueEmail('x'), current_password: 'wrong password!' });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('INVALID_CREDENTIALS');
  });

  it('the request roles see no account token of another user, nor any without presenting it', async () => {
    const u = await signupUser(h.t.app, uniqueEmail('rls'));
    const other = await signupUser(h.t.app, uniqueEmail('rls-other'));
    await verificationToken(h, u);
    const visible = (userId: string | null) =>
      withTenant(h.t.db, { orgId: null, userId }, (tx) => tx.selectFrom('account_tokens').select('user_id').execute());
    expect(await visible(null)).toEqual([]);
    expect(await visible(other.id)).toEqual([]);
    expect((await visible(u.id)).map((r) => r.user_id)).toContain(u.id);
    const used = await withTenant(h.t.db, { orgId: null, userId: null }, (tx) =>
      tx.updateTable('account_tokens').set({ used_at: new Date() }).where('user_id', '=', u.id).returning('user_id').execute(),
    );
    expect(used).toEqual([]);
  });
});

describe.each(ENGINES)('password reset request enumeration (%s)', (engine) => {
  let h: Harness;
  let queries: string[] = [];
  beforeAll(async () => {
    h = await harness(engine, {}, (q) => queries.push(q));
  });
  afterAll(async () => {
    await h.smtp.close();
    await h.t.close();
  });

  async function ask(email: string) {
    queries = [];
    const res = await post(h, '/v1/auth/password-reset/request', { email });
    return { res, queries: [...queries] };
  }

  it('password reset request does not reveal whether an email is registered: same status, body, headers and database work', async () => {
    const known = await signupUser(h.t.app, uniqueEmail('known'));
    const unknown = uniqueEmail('unknown');
    const a = await ask(known.email);
    const b = await ask(unknown);
    expect(a.res.statusCode).toBe(202);
    expect(b.res.statusCode).toBe(202);
    expect(a.res.body).toBe('');
    expect(b.res.body).toBe(a.res.body);
    const headers = (r: typeof a.res) => {
      const { 'x-request-id': _id, date: _date, ...rest } = r.headers;
      return rest;
    };
    expect(headers(b.res)).toEqual(headers(a.res));
    expect(a.queries.length).toBeGreaterThan(0);
    expect(b.queries).toEqual(a.queries);
    // Only the known address gets mail.
    await h.deliver();
    expect(h.smtp.received.filter((m) => m.to.includes(known.email))).toHaveLength(1);
    expect(h.smtp.received.filter((m) => m.to.includes(unknown))).toHaveLength(0);
  });
});

describe.each(ENGINES)('credential checks are rate limited (%s)', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(engine, { rateLimit: { max: 3, windowMs: 60_000 } });
  });
  afterAll(async () => {
    await h.smtp.close();
    await h.t.close();
  });

  it('brute force of current_password is rate limited across PATCH and DELETE /v1/me', async () => {
    const u = await signupUser(h.t.app, uniqueEmail('brute'));
    const del = (current_password: string) =>
      h.t.app.inject({ method: 'DELETE', url: '/v1/me', headers: bearer(u.access), payload: { current_password } });
    expect((await del('guess number 1')).statusCode).toBe(401);
    expect((await del('guess number 2')).statusCode).toBe(401);
    expect(
      (await authed(h.t.app, 'PATCH', '/v1/me', u.access, { password: NEW_PASSWORD, current_password: 'guess number 3' })).statusCode,
    ).toBe(401);
    const limited = await del(PASSWORD); // even the right password: the budget is spent
    expect(limited.statusCode).toBe(429);
    expect(limited.json().code).toBe('RATE_LIMITED');
    expect(limited.headers['retry-after']).toBeTruthy();
    expect((await authed(h.t.app, 'GET', '/v1/me', u.access)).statusCode).toBe(200);
  });

  it('brute force of reset tokens is rate limited per address', async () => {
    const tries = [];
    for (let i = 0; i < 4; i++)
      tries.push((await post(h, '/v1/auth/password-reset', { token: `et_guess${i}`, password: NEW_PASSWORD })).statusCode);
    expect(tries).toEqual([400, 400, 400, 429]);
  });
});

describe.each(ENGINES)('REQUIRE_VERIFIED_EMAIL (%s)', (engine) => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness(engine, { requireVerifiedEmail: true });
  });
  afterAll(async () => {
    await h.smtp.close();
    await h.t.close();
  });

  const createOrgAs = (u: SignedUp) =>
    authed(h.t.app, 'POST', '/v1/organizations', u.access, { name: 'Verified Only', industry: 'technology' });

  it('an unverified address can neither create an organization nor accept an invitation; a verified one can', async () => {
    const u = await signupUser(h.t.app, uniqueEmail('unverified'));
    const refused = await createOrgAs(u);
    expect(refused.statusCode).toBe(403);
    expect(refused.json().code).toBe('EMAIL_NOT_VERIFIED');
    await post(h, '/v1/auth/verify-email', { token: await verificationToken(h, u) });
    const org = await createOrgAs(u);
    expect(org.statusCode).toBe(201);

    const invitee = await signupUser(h.t.app, uniqueEmail('invitee'));
    const inv = (
      await authed(h.t.app, 'POST', `/v1/organizations/${org.json().id}/invitations`, u.access, { email: invitee.email, role: 'member' })
    ).json();
    const accept = () => authed(h.t.app, 'POST', '/v1/invitations/accept', invitee.access, { token: inv.token });
    const notYet = await accept();
    expect(notYet.statusCode).toBe(403);
    expect(notYet.json().code).toBe('EMAIL_NOT_VERIFIED');
    await post(h, '/v1/auth/verify-email', { token: await verificationToken(h, invitee) });
    expect((await accept()).statusCode).toBe(200);
  });

  it('signup with an invitation token verifies the address the invitation was sent to', async () => {
    const owner = await signupUser(h.t.app, uniqueEmail('inviter'));
    await post(h, '/v1/auth/verify-email', { token: await verificationToken(h, owner) });
    const org = (await createOrgAs(owner)).json();
    const email = uniqueEmail('joiner');
    const inv = (await authed(h.t.app, 'POST', `/v1/organizations/${org.id}/invitations`, owner.access, { email, role: 'member' })).json();
    const res = await post(h, '/v1/auth/signup', { email, password: PASSWORD, name: 'Joiner', invitation_token: inv.token });
    expect(res.statusCode).toBe(201);
    const me = (await authed(h.t.app, 'GET', '/v1/me', res.json().access_token)).json();
    expect(me.email_verified).toBe(true);
    expect(me.memberships).toHaveLength(1);
  });
});

describe.skipIf(!process.env.TEST_DATABASE_URL)('deleting the last owner concurrently (postgres)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness('postgres');
  });
  afterAll(async () => {
    await h.smtp.close();
    await h.t.close();
  });

  it('deleting the account as the last owner concurrently with another owner leaving keeps one owner', async () => {
    const a = await signupUser(h.t.app, uniqueEmail('owner-a'));
    const b = await signupUser(h.t.app, uniqueEmail('owner-b'));
    const org = await createOrg(h.t.app, a, { name: 'Two Owners' });
    await insertMembership(h.t.db, org.id, b.id, 'owner');

    // A third connection holds the audit log so that both requests reach their decision
    // and wait at their audit event; each then proceeds only after the other decided.
    const blocker = new pg.Client({ connectionString: h.t.url });
    await blocker.connect();
    try {
      await blocker.query('begin');
      await blocker.query('lock table audit_events in exclusive mode');
      // An injected request starts once awaited: Promise.resolve starts both now.
      const deleting = Promise.resolve(
        h.t.app.inject({ method: 'DELETE', url: '/v1/me', headers: bearer(a.access), payload: { current_password: PASSWORD } }),
      );
      const leaving = Promise.resolve(authed(h.t.app, 'DELETE', `/v1/organizations/${org.id}/members/${b.id}`, b.access));
      // Both requests are waiting on a lock: the blocker's, or the other request's row lock.
      for (;;) {
        await blocker.query('select pg_stat_clear_snapshot()'); // the activity view is otherwise read once per transaction
        const { rows } = await blocker.query(
          `select count(*)::int as n from pg_stat_activity
           where datname = current_database() and state = 'active' and wait_event_type = 'Lock' and pid <> pg_backend_pid()`,
        );
        if (rows[0].n >= 2) break;
        await new Promise((r) => setImmediate(r));
      }
      await blocker.query('commit');
      const statuses = [(await deleting).statusCode, (await leaving).statusCode].sort();
      expect(statuses).toEqual([204, 409]);
    } finally {
      await blocker.end();
    }
    const owners = await sql<{ n: number }>`
      select count(*)::int as n from memberships where organization_id = ${org.id} and role = 'owner'`.execute(h.t.db.kysely);
    expect(owners.rows[0]!.n).toBe(1);
  });
});

describe('account lifecycle settings', () => {
  it('REQUIRE_VERIFIED_EMAIL is false unless set to true, and the link templates need {token}', () => {
    const base = { PUBLIC_URL: 'https://id.example.com' };
    const c = loadConfig(base);
    expect(c.requireVerifiedEmail).toBe(false);
    expect(c.verifyEmailUrl).toBe('https://id.example.com/verify-email?token={token}');
    expect(c.passwordResetUrl).toBe('https://id.example.com/reset-password?token={token}');
    expect(loadConfig({ ...base, REQUIRE_VERIFIED_EMAIL: 'true' }).requireVerifiedEmail).toBe(true);
    expect(() => loadConfig({ ...base, REQUIRE_VERIFIED_EMAIL: 'yes' })).toThrow(ConfigError);
    expect(() => loadConfig({ ...base, PASSWORD_RESET_URL: 'https://app.example.com/reset' })).toThrow(/PASSWORD_RESET_URL/);
    expect(loadConfig({ ...base, VERIFY_EMAIL_URL: 'https://app.example.com/v?t={token}' }).verifyEmailUrl).toBe(
      'https://app.example.com/v?t={token}',
    );
  });
});
