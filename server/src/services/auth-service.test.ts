// Sign-in policy end to end over HTTPS: first-run setup (also when two race), password policy,
// lockout after failed sign-ins, API tokens (Bearer: minted only by a signed-in user, always
// expiring, revoked with immediate effect), logout ends the session; open event streams and
// shell websockets end the moment their credentials stop being valid.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_PASSWORD, startTestServer } from '../test-support/test-server.js';
import { SseClient } from '../test-support/sse-client.js';
import { ConsoleSocket } from '../test-support/console-socket.js';
import { AuditEntryDto } from '../dto/system.js';
import type { HostConnection } from '../agents/host-connection.js';
import { HttpError } from '../errors.js';
import { Db } from '../store/db.js';
import { SessionRepo, TokenRepo, UserRepo } from '../store/user-repo.js';
import { AuthService, type Principal } from './auth-service.js';
import { LoginLimiter } from './login-limiter.js';
import { readSetupCode, SETUP_CODE_FILE, SetupCode } from './setup-code.js';
import { loadServerConfig } from '../config.js';

const DAY_MS = 86_400_000;
/** The setup code authOnTempDb() opens setup with. */
const CODE = 'QXT-TEST-CODE';

/** Resolves with `p`, or fails the test naming `what` after `ms`. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>(
    (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)),
  );
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** True when `p` is still pending after `ms`. */
async function stillPending(p: Promise<unknown>, ms: number): Promise<boolean> {
  return (await Promise.race([p.then(() => false), new Promise((r) => setTimeout(() => r(true), ms))])) as boolean;
}

async function authOnTempDb(t: { after(fn: () => Promise<void>): void }, sessionHours = 12): Promise<AuthService> {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-auth-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = await Db.open(dir);
  const code = new SetupCode(dir);
  await code.prepare(true, CODE);
  return new AuthService(
    new UserRepo(db),
    new SessionRepo(db),
    new TokenRepo(db),
    new LoginLimiter(),
    sessionHours,
    code,
  );
}

test('qxt-srv auth: setup, lockout, tokens, logout', async (t) => {
  const s = await startTestServer();
  t.after(() => s.stop());

  await t.test('setup is closed once a user exists', async () => {
    const c = s.client();
    const st = await c.request<{ needsSetup: boolean }>('GET', '/api/v1/setup/status');
    assert.equal(st.json.needsSetup, false);
    const r = await c.request('POST', '/api/v1/setup', {
      body: { username: 'intruder', password: 'long-enough-password' },
    });
    assert.equal(r.status, 409);
  });

  await t.test('passwords shorter than 12 characters are refused naming the field', async () => {
    const r = await s.admin.request('POST', '/api/v1/users', {
      body: { username: 'qxt-short', password: 'short', role: 'viewer' },
    });
    assert.equal(r.status, 400);
    assert.equal((r.json as { error: { field: string } }).error.field, 'password');
  });

  await t.test('five wrong passwords lock the account; the right one is refused meanwhile', async () => {
    await s.admin.request('POST', '/api/v1/users', {
      body: { username: 'qxt-lock', password: ADMIN_PASSWORD, role: 'operator' },
    });
    const c = s.client();
    for (let i = 0; i < 5; i++) assert.equal((await c.login('qxt-lock', 'wrong-password-xx')).status, 401);
    const r = await c.login('qxt-lock', ADMIN_PASSWORD);
    assert.equal(r.status, 429);
    assert.match(
      (r.json as unknown as { error: { message: string } }).error.message,
      /too many failed sign-ins for "qxt-lock" from this address: try again in \d+ s/,
    );
    assert.equal((await s.client().login('admin', ADMIN_PASSWORD)).status, 200, 'other users are not locked');
  });

  await t.test('an API token works as Bearer and stops working the moment it is revoked', async () => {
    const created = await s.admin.request<{ token: { id: string }; secret: string }>('POST', '/api/v1/tokens', {
      body: { name: 'qxt-srv-token', role: 'viewer' },
    });
    assert.equal(created.status, 201);
    const bot = s.client();
    bot.bearer = created.json.secret;
    assert.equal((await bot.request('GET', '/api/v1/vms')).status, 200);
    assert.equal(
      (await bot.request('POST', '/api/v1/clusters', { body: { name: 'qxt-srv-bot' } })).status,
      403,
      'token role viewer',
    );
    const revoked = await s.admin.request('DELETE', `/api/v1/tokens/${created.json.token.id}`);
    assert.equal(revoked.status, 204);
    assert.equal((await bot.request('GET', '/api/v1/vms')).status, 401);
  });

  await t.test('a token cannot exceed its creator; operators can create one', async () => {
    const op = await s.userWithRole('operator');
    const r = await op.request('POST', '/api/v1/tokens', { body: { name: 'qxt-srv-admin', role: 'admin' } });
    assert.equal(r.status, 403);
  });

  await t.test(
    'a token cannot mint tokens; tokens expire after 90 days unless asked for fewer, at most 365',
    async () => {
      const created = await s.admin.request<{ token: { expiresAt: string }; secret: string }>(
        'POST',
        '/api/v1/tokens',
        {
          body: { name: 'qxt-srv-minter', role: 'admin' },
        },
      );
      assert.equal(created.status, 201);
      assert.ok(
        Math.abs(Date.parse(created.json.token.expiresAt) - (Date.now() + 90 * DAY_MS)) < 60_000,
        created.json.token.expiresAt,
      );
      const bot = s.client();
      bot.bearer = created.json.secret;
      const minted = await bot.request<{ error: { message: string } }>('POST', '/api/v1/tokens', {
        body: { name: 'qxt-srv-child', expiresInDays: 1 },
      });
      assert.equal(minted.status, 403);
      assert.equal(
        minted.json.error.message,
        'API tokens are created by a signed-in user, not with another token (admin/token:qxt-srv-minter)',
      );
      const tooLong = await s.admin.request<{ error: { field: string } }>('POST', '/api/v1/tokens', {
        body: { name: 'qxt-srv-long', expiresInDays: 366 },
      });
      assert.equal(tooLong.status, 400);
      assert.equal(tooLong.json.error.field, 'expiresInDays');
      const week = await s.admin.request<{ token: { expiresAt: string } }>('POST', '/api/v1/tokens', {
        body: { name: 'qxt-srv-week', expiresInDays: 7 },
      });
      assert.ok(Math.abs(Date.parse(week.json.token.expiresAt) - (Date.now() + 7 * DAY_MS)) < 60_000);
    },
  );

  await t.test('the audit log names token callers in the documented form', async () => {
    const documented = /"([^"]*token:<name>)"/.exec(AuditEntryDto.props!.user!.opts.description ?? '')?.[1];
    assert.ok(documented, 'AuditEntryDto.user documents the form for API tokens');
    const expected = documented.replace('<username>', 'admin').replace('<name>', 'qxt-srv-minter');
    const audit = await s.admin.request<{ user: string; action: string; status: number }[]>(
      'GET',
      '/api/v1/audit?limit=1000',
    );
    assert.ok(
      audit.json.some((e) => e.action === 'createToken' && e.status === 403 && e.user === expected),
      `an audit entry by "${expected}"; got ${JSON.stringify(audit.json.filter((e) => e.action === 'createToken').map((e) => e.user))}`,
    );
  });

  await t.test('logout ends the session; the cookie is HttpOnly, Secure, SameSite=Strict', async () => {
    const c = s.client();
    const login = await c.login('admin', ADMIN_PASSWORD);
    const cookie = String(login.headers['set-cookie']);
    assert.match(cookie, /HttpOnly/);
    assert.match(cookie, /Secure/);
    assert.match(cookie, /SameSite=Strict/);
    assert.match(cookie, /Expires=/);
    assert.equal((await c.request('GET', '/api/v1/auth/me')).status, 200);
    assert.equal((await c.request('POST', '/api/v1/auth/logout')).status, 204);
    assert.equal((await c.request('GET', '/api/v1/auth/me')).status, 401);
  });

  await t.test('the password hash is scrypt and never leaves the server', async () => {
    const users = await s.admin.request('GET', '/api/v1/users');
    assert.doesNotMatch(users.text, /scrypt|passwordHash/);
    assert.match(s.services.db.data.users[0]!.passwordHash, /^scrypt\$/);
  });
});

test('qxt-srv auth: the setup code comes from the kernel command line when given; an initial admin password makes none', async (t) => {
  assert.equal(
    loadServerConfig({ QX_SERVER_DATA_DIR: '/nonexistent' }, 'ro quantix.setup_code=WXYZ-2345').setupCode,
    'WXYZ-2345',
  );
  const given = await startTestServer({ QX_SETUP_CODE: 'ABCD-EFGH' }, { setup: false });
  t.after(() => given.stop());
  assert.equal(await readSetupCode(given.dataDir), 'ABCD-EFGH');
  const c = given.client();
  const r = await c.request('POST', '/api/v1/setup', {
    body: { username: 'admin', password: ADMIN_PASSWORD, setupCode: 'abcdefgh' },
  });
  assert.equal(r.status, 201, 'case and dashes do not matter');

  const preset = await startTestServer({ QX_ADMIN_PASSWORD: ADMIN_PASSWORD }, { setup: false });
  t.after(() => preset.stop());
  await assert.rejects(access(join(preset.dataDir, SETUP_CODE_FILE)), /ENOENT/, 'no setup code once the admin exists');
  assert.equal((await preset.client().login('admin', ADMIN_PASSWORD)).status, 200);
});

test('qxt-srv auth: two concurrent first-run setups create exactly one admin', async (t) => {
  const auth = await authOnTempDb(t);
  const results = await Promise.allSettled([
    auth.setup('qxt-first', ADMIN_PASSWORD, CODE, '127.0.0.1'),
    auth.setup('qxt-second', ADMIN_PASSWORD, CODE, '127.0.0.1'),
  ]);
  assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one setup wins');
  const lost = results.find((r) => r.status === 'rejected');
  assert.ok(lost?.reason instanceof HttpError && lost.reason.status === 409, String(lost?.reason));
  assert.equal(lost.reason.message, 'setup is already done: sign in instead');
  assert.equal(auth.listUsers().length, 1);
  assert.equal(auth.needsSetup(), false);
});

test('qxt-srv auth: watch() ends a stream when its session expires, its token is revoked or loses the role', async (t) => {
  const auth = await authOnTempDb(t, 0.3 / 3600);
  const admin = await auth.setup('qxt-admin', ADMIN_PASSWORD, CODE, '127.0.0.1');
  await auth.createUser('qxt-admin2', ADMIN_PASSWORD, 'admin');
  const ended = (p: Principal, role: 'viewer' | 'admin') => {
    let unwatch = () => {};
    const reason = new Promise<string>((resolve) => (unwatch = auth.watch(p, role, resolve)));
    return { reason, unwatch };
  };

  const session = auth.fromCookie((await auth.openSession(admin)).cookie)!;
  const expiry = ended(session, 'viewer');
  assert.equal(
    await within(expiry.reason, 2_000, 'the end at session expiry'),
    'the session of qxt-admin expired: sign in again',
  );

  // A token's role is capped by its user's: demoting the user ends an admin-only stream.
  const fresh = auth.fromCookie((await auth.openSession(admin)).cookie)!;
  const { secret, token } = await auth.createToken(fresh, 'qxt-bot', 'admin', 1);
  const shellLike = ended(auth.fromBearer(secret)!, 'admin');
  const eventsLike = ended(auth.fromBearer(secret)!, 'viewer');
  await auth.updateUser(admin.id, { role: 'operator' });
  assert.equal(
    await within(shellLike.reason, 1_000, 'the end at demotion'),
    'qxt-admin/token:qxt-bot no longer has the admin role',
  );
  assert.ok(await stillPending(eventsLike.reason, 50), 'a viewer-level stream of the token stays open');
  await auth.revokeToken(auth.fromCookie((await auth.openSession(auth.userById(admin.id)!)).cookie)!, token.id);
  assert.equal(
    await within(eventsLike.reason, 1_000, 'the end at revocation'),
    'API token qxt-admin/token:qxt-bot was revoked',
  );

  const closedByClient = ended(auth.fromCookie((await auth.openSession(admin)).cookie)!, 'viewer');
  closedByClient.unwatch();
  assert.ok(
    await stillPending(closedByClient.reason, 500),
    'an unwatched stream is not ended later (expiry timer cleared)',
  );
});

/** A host whose shell is a fake gRPC call: records writes and whether the server cancelled it. */
function fakeShellHost(id: string) {
  const call = Object.assign(new EventEmitter(), {
    cancelled: false,
    write: () => true,
    cancel() {
      call.cancelled = true;
    },
  });
  const host = {
    record: { id, name: id, clusterId: null, maintenance: false },
    online: true,
    requireOnline: () => ({ openShell: () => call }),
  } as unknown as HostConnection;
  return { host, call };
}

test('qxt-srv auth: open event streams and shell websockets end when their credentials do', async (t) => {
  const s = await startTestServer();
  t.after(() => s.stop());
  const ca = s.services.certificate.current.certPem;
  const adminEvents = await SseClient.open(s.base, ca, s.admin.cookie!);

  await t.test('logout ends the event stream of that session', async () => {
    const viewer = await s.userWithRole('viewer');
    const sse = await SseClient.open(s.base, ca, viewer.cookie!);
    assert.equal((await viewer.request('POST', '/api/v1/auth/logout')).status, 204);
    await within(sse.ended, 2_000, 'the stream end after logout');
    assert.ok(
      sse.comments.some((c) => /^closed: the session of qxt-viewer-\d+ ended/.test(c)),
      sse.comments.join('\n'),
    );
  });

  await t.test('revoking a token ends the event stream opened with it', async () => {
    const created = await s.admin.request<{ token: { id: string }; secret: string }>('POST', '/api/v1/tokens', {
      body: { name: 'qxt-srv-sse', role: 'viewer' },
    });
    const sse = await SseClient.open(s.base, ca, { bearer: created.json.secret });
    assert.equal((await s.admin.request('DELETE', `/api/v1/tokens/${created.json.token.id}`)).status, 204);
    await within(sse.ended, 2_000, 'the stream end after revoke');
    assert.ok(sse.comments.includes('closed: API token admin/token:qxt-srv-sse was revoked'), sse.comments.join('\n'));
  });

  await t.test('disabling a user ends their event stream', async () => {
    const viewer = await s.userWithRole('viewer');
    const me = await viewer.request<{ user: { id: string } }>('GET', '/api/v1/auth/me');
    const sse = await SseClient.open(s.base, ca, viewer.cookie!);
    assert.equal(
      (await s.admin.request('PATCH', `/api/v1/users/${me.json.user.id}`, { body: { disabled: true } })).status,
      200,
    );
    await within(sse.ended, 2_000, 'the stream end after disable');
  });

  await t.test('demoting an admin closes their open host shell (1008) and cancels the agent stream', async () => {
    const { host, call } = fakeShellHost('qxt-srv-fake-host');
    const realGet = s.services.pool.get.bind(s.services.pool);
    s.services.pool.get = (id: string) => (id === 'qxt-srv-fake-host' ? host : realGet(id));
    t.after(() => (s.services.pool.get = realGet));
    const admin2 = await s.userWithRole('admin');
    const me = await admin2.request<{ user: { id: string } }>('GET', '/api/v1/auth/me');
    const ticket = await admin2.request<{ url: string }>('POST', '/api/v1/hosts/qxt-srv-fake-host/shell-ticket');
    assert.equal(ticket.status, 201, ticket.text);
    const shell = await ConsoleSocket.open(`wss://127.0.0.1:${s.running.port}${ticket.json.url}`, {
      ca,
      cookie: admin2.cookie!,
      origin: s.base,
    });
    assert.equal(s.running.console.open, 1);
    assert.equal(
      (await s.admin.request('PATCH', `/api/v1/users/${me.json.user.id}`, { body: { role: 'operator' } })).status,
      200,
    );
    assert.equal(await within(shell.closed, 2_000, 'the shell close after demotion'), 1008);
    assert.match(shell.closedReason ?? '', /^the session of qxt-admin-\d+ ended/);
    assert.ok(call.cancelled, 'the agent shell stream is cancelled');
    assert.equal(s.running.console.open, 0);
  });

  await t.test('streams of other callers stay open', async () => {
    assert.ok(await stillPending(adminEvents.ended, 100));
    adminEvents.close();
  });
});
