import { test } from 'node:test';
import { X509Certificate } from 'node:crypto';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile, stat } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JoinToken } from './join-token.js';
import { VdcMembership } from './vdc-membership.js';
import { createCa } from '@quantix/proto/tls/certificates.js';

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qx-join-token-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Waits until the clock passes `at` (the condition itself, no fixed sleep). */
async function until(at: Date): Promise<void> {
  while (Date.now() <= at.getTime())
    await new Promise((r) => setTimeout(r, Math.max(1, at.getTime() - Date.now() + 1)));
}

test('a join token: the file holds the token alone, its expiry beside it; it expires; renewal replaces it', async (t) => {
  const dir = await tempDir(t);
  const file = join(dir, 'join-token');
  // A clock of the test's own: with a real one, a loaded machine let a 300 ms token expire before
  // the checks that expect it valid (seen failing in a fresh-clone make test at load 20).
  let clock = Date.now();
  const tokens = new JoinToken(file, 300, () => clock);
  assert.equal(tokens.read(), undefined);
  assert.deepEqual(tokens.check('anything'), { ok: false, reason: 'wrong' }, 'no token: nothing matches');

  const first = await tokens.issue();
  assert.match(first.token, /^qx-[a-z0-9]{5}(-[a-z0-9]{5}){3}$/);
  assert.equal((await readFile(file, 'utf8')).trim(), first.token, 'scripts read the file as the token');
  assert.equal((await readFile(`${file}.expires`, 'utf8')).trim(), first.expiresAt.toISOString());
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  assert.deepEqual(tokens.check(` ${first.token}\n`), { ok: true });
  assert.deepEqual(tokens.check('qx-wrong'), { ok: false, reason: 'wrong' });
  assert.equal((await tokens.ensure()).token, first.token, 'a valid token is kept');

  clock = first.expiresAt.getTime();
  assert.deepEqual(tokens.check(first.token), { ok: false, reason: 'expired', expiredAt: first.expiresAt });
  const second = await tokens.ensure();
  assert.notEqual(second.token, first.token, 'an expired token is replaced');
  assert.deepEqual(tokens.check(first.token), { ok: false, reason: 'wrong' });

  // A token written without an expiry (an older agent) counts as expired.
  await rm(`${file}.expires`);
  assert.equal(tokens.check(second.token).ok, false);

  await tokens.discard();
  assert.ok(!existsSync(file) && !existsSync(`${file}.expires`));
});

test('membership: join once with a valid token; joined refuses Join; leave forgets the CA and makes a new token', async (t) => {
  const dataDir = await tempDir(t);
  const tokens = new JoinToken(join(dataDir, 'join-token'), 3_600_000);
  const m = await VdcMembership.load(dataDir, tokens);
  assert.equal(m.joined, false);
  const { token } = m.status();
  assert.match(token, /^qx-/);
  const vdc = await createCa('qx test vDC', 1);
  const attacker = await createCa('qx attacker', 1);
  const changes: (string | undefined)[] = [];
  m.onChange((pem) => changes.push(pem));

  await assert.rejects(m.join(token, 'not a pem', 'v'), /ca_certificate_pem: not a PEM certificate/);
  await assert.rejects(m.join('qx-wrong', vdc.certPem, 'v'), /join token is wrong/);
  await assert.rejects(
    m.renewToken().then(() => m.join(token, vdc.certPem, 'v')),
    /join token is wrong/,
    'renewal voids the old token',
  );
  const renewed = m.status().token;

  // Two joins race with the same token: exactly one wins.
  const results = await Promise.allSettled([
    m.join(renewed, vdc.certPem, 'vdc-1'),
    m.join(renewed, attacker.certPem, 'evil'),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected'],
  );
  assert.equal(m.ca?.fingerprint256, new X509Certificate(vdc.certPem).fingerprint256);
  assert.equal(existsSync(join(dataDir, 'join-token')), false, 'a joined host has no token');
  assert.equal(m.status().token, '');

  await assert.rejects(
    m.join(renewed, attacker.certPem, 'evil'),
    (e: Error) =>
      e.message ===
      `already joined to vDC vdc-1 (CA SHA-256 ${new X509Certificate(vdc.certPem).fingerprint256}); reset at the host's console or remove it from that vDC`,
  );
  await assert.rejects(m.renewToken(), /joined to vDC vdc-1.*no join token/);

  // The state survives a restart.
  const again = await VdcMembership.load(dataDir, tokens);
  assert.equal(again.joined, true);
  assert.equal(again.status().vdcId, 'vdc-1');

  const fresh = await m.leave();
  assert.equal(m.joined, false);
  assert.equal(existsSync(join(dataDir, 'identity', 'vdc-ca.crt')), false);
  assert.equal((await readFile(join(dataDir, 'join-token'), 'utf8')).trim(), fresh.token);
  assert.deepEqual(changes, [vdc.certPem, undefined]);
  await m.join(fresh.token, attacker.certPem, 'next');
  assert.equal(m.status().vdcId, 'next');
});

test('membership: an expired token is refused with the time it expired', async (t) => {
  const dataDir = await tempDir(t);
  const m = await VdcMembership.load(dataDir, new JoinToken(join(dataDir, 'join-token'), 200));
  const { token, tokenExpiresAt } = m.status();
  await until(new Date(tokenExpiresAt));
  const vdc = await createCa('qx test vDC', 1);
  await assert.rejects(m.join(token, vdc.certPem, 'v'), (e: Error) =>
    e.message.startsWith(`the join token expired at ${tokenExpiresAt}; make a new one at the host's console`),
  );
  assert.equal(m.joined, false);
  // Written by hand into the file (as `qx agent renew-token` does with the agent stopped): read at once.
  await writeFile(join(dataDir, 'join-token.expires'), `${new Date(Date.now() + 60_000).toISOString()}\n`);
  await m.join(token, vdc.certPem, 'v');
  assert.equal(m.joined, true);
});
