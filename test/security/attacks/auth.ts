// Sign-in and first-run setup attacks (issue #19 "Trust"): parallel password guesses past the
// limit, locking the admin out from another address (also the console's local check), a restart
// forgiving the lockout, claiming first-run setup without its code, and credentials that outlive a
// password change. Real servers over HTTPS; the server sees the real peer (127.0.0.x).
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { Agent, request } from 'node:https';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { attack } from '../attack.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../../server/src/test-support/test-server.js';
import { readSetupCode, SETUP_CODE_FILE } from '../../../server/src/services/setup-code.js';

const CONSOLE_AUTH = fileURLToPath(new URL('../../../appliance/quantix-console-auth', import.meta.url));

interface Reply {
  status: number;
  retryAfter: string | undefined;
  message: string;
  field: string | undefined;
  cookie: string | undefined;
  json: Record<string, unknown> | undefined;
}

/** One JSON request to `s` from the local address `from` (a 127.0.0.x address: Linux routes all of them). */
function call(
  s: TestServer,
  method: string,
  path: string,
  opts: {
    from: string;
    body?: unknown;
    agent?: Agent;
    cookie?: string;
    csrf?: string;
    bearer?: string;
    headers?: Record<string, string>;
  },
): Promise<Reply> {
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  const headers: Record<string, string> = { ...opts.headers };
  if (payload) headers['content-type'] = 'application/json';
  if (opts.cookie) headers.cookie = opts.cookie;
  if (opts.csrf) headers['x-csrf-token'] = opts.csrf;
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, s.base),
      { method, headers, ca: s.services.certificate.current.certPem, localAddress: opts.from, agent: opts.agent },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (text += c));
        res.on('end', () => {
          const json = text ? (JSON.parse(text) as Record<string, unknown>) : undefined;
          const error = json?.error as { message?: string; field?: string } | undefined;
          resolve({
            status: res.statusCode ?? 0,
            retryAfter: res.headers['retry-after'],
            message: error?.message ?? '',
            field: error?.field,
            cookie: res.headers['set-cookie']?.[0]?.split(';')[0],
            json,
          });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const login = (s: TestServer, from: string, password: string, agent?: Agent) =>
  call(s, 'POST', '/api/v1/auth/login', { from, agent, body: { username: 'admin', password } });

/** `n` wrong admin passwords from `from`, all in flight together (over up to 16 connections). */
async function guessInParallel(s: TestServer, from: string, n: number): Promise<Reply[]> {
  const agent = new Agent({ keepAlive: true, maxSockets: 16, localAddress: from });
  try {
    return await Promise.all(Array.from({ length: n }, (_, i) => login(s, from, `wrong-guess-${i}-xxxx`, agent)));
  } finally {
    agent.destroy();
  }
}

/** The console screen's check of an admin password (appliance/quantix-console-auth) against `s`. */
function consoleAuth(s: TestServer, password: string): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CONSOLE_AUTH, 'admin'],
      { env: { ...process.env, QX_CONSOLE_AUTH_PORT: String(s.running.port) } },
      (err, _out, stderr) => resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, stderr }),
    );
    child.stdin!.end(`admin\n${password}\n`);
  });
}

describe('auth', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(async () => {
    await s?.stop();
  });

  attack('40 wrong admin passwords sent in parallel: more than 5 are checked', async () => {
    const replies = await guessInParallel(s, '127.0.0.3', 40);
    const checked = replies.filter((r) => r.status === 401).length;
    const refused = replies.filter((r) => r.status === 429);
    assert.ok(checked <= 5, `${checked} of 40 parallel guesses were checked (limit 5)`);
    assert.equal(checked + refused.length, 40, `other replies: ${replies.map((r) => r.status).join(' ')}`);
    for (const r of refused) {
      assert.match(r.message, /too many failed sign-ins for "admin" from this address: try again in \d+ s/);
      assert.ok(Number(r.retryAfter) > 0, `Retry-After: ${r.retryAfter}`);
    }
    const right = await login(s, '127.0.0.3', ADMIN_PASSWORD);
    assert.equal(right.status, 429, 'the right password from the locked-out address is refused meanwhile');
    // The server keys on the socket's peer, not on a header the client writes.
    const spoofed = await call(s, 'POST', '/api/v1/auth/login', {
      from: '127.0.0.3',
      headers: { 'x-forwarded-for': '127.0.0.1', 'x-real-ip': '127.0.0.1' },
      body: { username: 'admin', password: ADMIN_PASSWORD },
    });
    assert.equal(spoofed.status, 429, 'X-Forwarded-For does not move the attacker to another address');
  });

  attack('an attacker at one address locks the admin out everywhere (web UI and console screen)', async () => {
    const replies = await guessInParallel(s, '127.0.0.2', 12);
    assert.ok(
      replies.some((r) => r.status === 429),
      'the attacker is locked out',
    );
    const admin = await login(s, '127.0.0.1', ADMIN_PASSWORD);
    assert.equal(admin.status, 200, `the admin from 127.0.0.1: ${admin.status} ${admin.message}`);
    const console = await consoleAuth(s, ADMIN_PASSWORD);
    assert.equal(console.code, 0, `the console screen's admin check: exit ${console.code}: ${console.stderr}`);
  });

  attack('a server restart forgives a lockout', async (t) => {
    const dataDir = await mkdtemp(join(tmpdir(), 'qxt-auth-restart-'));
    t.after(() => rm(dataDir, { recursive: true, force: true }));
    const first = await startTestServer({}, { dataDir });
    try {
      const replies = [];
      for (let i = 0; i < 6; i++) replies.push((await login(first, '127.0.0.4', `wrong-guess-${i}-xxxx`)).status);
      assert.deepEqual(replies, [401, 401, 401, 401, 401, 429], 'locked out before the restart');
    } finally {
      await first.stop();
    }
    const second = await startTestServer({}, { dataDir, setup: false });
    try {
      const after = await login(second, '127.0.0.4', ADMIN_PASSWORD);
      assert.equal(after.status, 429, `after the restart the locked-out address got ${after.status}`);
      assert.equal((await login(second, '127.0.0.1', ADMIN_PASSWORD)).status, 200, 'other addresses are not locked');
    } finally {
      await second.stop();
    }
  });

  attack('first-run setup claimed from the network without the setup code', async (t) => {
    const fresh = await startTestServer({}, { setup: false });
    t.after(() => fresh.stop());
    const code = await readSetupCode(fresh.dataDir);
    assert.match(code, /^[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{4}$/);
    assert.equal((await stat(join(fresh.dataDir, SETUP_CODE_FILE))).mode & 0o777, 0o600, 'the code file is private');
    const body = { username: 'intruder', password: 'intruder-password-x' };
    const none = await call(fresh, 'POST', '/api/v1/setup', { from: '127.0.0.5', body });
    assert.equal(none.status, 403, `without the code: ${none.status} ${none.message}`);
    assert.equal(none.field, 'setupCode');
    // Guessing is limited like sign-ins.
    const guesses = [];
    for (let i = 0; i < 6; i++)
      guesses.push(
        await call(fresh, 'POST', '/api/v1/setup', { from: '127.0.0.5', body: { ...body, setupCode: `GUESS${i}XX` } }),
      );
    assert.deepEqual(
      guesses.map((g) => g.status),
      [403, 403, 403, 403, 429, 429],
      'wrong codes count like failed sign-ins (the code-less try was the first)',
    );
    assert.match(guesses[4]!.message, /too many wrong setup codes from this address: try again in \d+ s/);
    assert.ok(Number(guesses[4]!.retryAfter) > 0, `Retry-After: ${guesses[4]!.retryAfter}`);
    assert.equal(fresh.services.auth.listUsers().length, 0, 'nothing was created');
    const ok = await call(fresh, 'POST', '/api/v1/setup', {
      from: '127.0.0.1',
      body: { username: 'admin', password: ADMIN_PASSWORD, setupCode: code.toLowerCase() },
    });
    assert.equal(ok.status, 201, `with the code: ${ok.status} ${ok.message}`);
    const again = await call(fresh, 'POST', '/api/v1/setup', { from: '127.0.0.1', body: { ...body, setupCode: code } });
    assert.equal(again.status, 409, 'the code no longer works once setup is done');
    await assert.rejects(stat(join(fresh.dataDir, SETUP_CODE_FILE)), /ENOENT/, 'the code file is gone');
    assert.deepEqual(
      fresh.services.auth.listUsers().map((u) => u.username),
      ['admin'],
    );
  });

  attack('API tokens and other sessions outlive a password change', async () => {
    const username = 'qxt-auth-victim';
    const created = await s.admin.request<{ id: string }>('POST', '/api/v1/users', {
      body: { username, password: ADMIN_PASSWORD, role: 'operator' },
    });
    assert.equal(created.status, 201);
    const signIn = async () => {
      const r = await call(s, 'POST', '/api/v1/auth/login', {
        from: '127.0.0.1',
        body: { username, password: ADMIN_PASSWORD },
      });
      assert.equal(r.status, 200);
      return { cookie: r.cookie!, csrf: String(r.json!.csrfToken) };
    };
    const me = (who: { cookie?: string; bearer?: string }) =>
      call(s, 'GET', '/api/v1/auth/me', { from: '127.0.0.1', ...who }).then((r) => r.status);
    const mintToken = async (session: { cookie: string; csrf: string }) => {
      const r = await call(s, 'POST', '/api/v1/tokens', {
        from: '127.0.0.1',
        ...session,
        body: { name: `qxt-auth-${Date.now()}`, role: 'viewer' },
      });
      assert.equal(r.status, 201);
      return String(r.json!.secret);
    };

    // Own change: this session stays, the other session and the token end.
    const here = await signIn();
    const elsewhere = await signIn();
    const token = await mintToken(here);
    assert.equal(await me({ bearer: token }), 200);
    const NEW_PASSWORD = 'qxt-auth-new-password';
    const changed = await call(s, 'POST', '/api/v1/auth/password', {
      from: '127.0.0.1',
      ...here,
      body: { currentPassword: ADMIN_PASSWORD, newPassword: NEW_PASSWORD },
    });
    assert.equal(changed.status, 204, changed.message);
    assert.equal(await me({ bearer: token }), 401, 'the API token is revoked by the own password change');
    assert.equal(await me(elsewhere), 401, 'the other session ended');
    assert.equal(await me(here), 200, 'the session that changed the password stays');

    // An admin's change: every session and token of the user ends.
    const token2 = await mintToken(here);
    const reset = await s.admin.request('PATCH', `/api/v1/users/${created.json.id}`, {
      body: { password: ADMIN_PASSWORD },
    });
    assert.equal(reset.status, 200);
    assert.equal(await me({ bearer: token2 }), 401, 'the API token is revoked by the admin reset');
    assert.equal(await me(here), 401, 'the session ended');
  });
});
