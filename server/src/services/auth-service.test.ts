// Sign-in policy end to end over HTTPS: first-run setup, password policy, lockout after failed
// sign-ins, API tokens (Bearer) revoked with immediate effect, logout ends the session.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ADMIN_PASSWORD, startTestServer } from '../test-support/test-server.js';

test('qxt-srv auth: setup, lockout, tokens, logout', async (t) => {
  const s = await startTestServer();
  t.after(() => s.stop());

  await t.test('setup is closed once a user exists', async () => {
    const c = s.client();
    const st = await c.request<{ needsSetup: boolean }>('GET', '/api/v1/setup/status');
    assert.equal(st.json.needsSetup, false);
    const r = await c.request('POST', '/api/v1/setup', { body: { username: 'intruder', password: 'long-enough-password' } });
    assert.equal(r.status, 409);
  });

  await t.test('passwords shorter than 12 characters are refused naming the field', async () => {
    const r = await s.admin.request('POST', '/api/v1/users', { body: { username: 'qxt-short', password: 'short', role: 'viewer' } });
    assert.equal(r.status, 400);
    assert.equal((r.json as { error: { field: string } }).error.field, 'password');
  });

  await t.test('five wrong passwords lock the account; the right one is refused meanwhile', async () => {
    await s.admin.request('POST', '/api/v1/users', { body: { username: 'qxt-lock', password: ADMIN_PASSWORD, role: 'operator' } });
    const c = s.client();
    for (let i = 0; i < 5; i++) assert.equal((await c.login('qxt-lock', 'wrong-password-xx')).status, 401);
    const r = await c.login('qxt-lock', ADMIN_PASSWORD);
    assert.equal(r.status, 429);
    assert.match((r.json as unknown as { error: { message: string } }).error.message, /too many failed sign-ins for "qxt-lock": try again in \d+ s/);
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
    assert.equal((await bot.request('POST', '/api/v1/clusters', { body: { name: 'qxt-srv-bot' } })).status, 403, 'token role viewer');
    const revoked = await s.admin.request('DELETE', `/api/v1/tokens/${created.json.token.id}`);
    assert.equal(revoked.status, 204);
    assert.equal((await bot.request('GET', '/api/v1/vms')).status, 401);
  });

  await t.test('a token cannot exceed its creator; operators can create one', async () => {
    const op = await s.userWithRole('operator');
    const r = await op.request('POST', '/api/v1/tokens', { body: { name: 'qxt-srv-admin', role: 'admin' } });
    assert.equal(r.status, 403);
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
