// The limiter's arithmetic with a fake clock: attempts counted before the check, lock per
// (name, address) after 5, per address after 20 names, the per-name slowdown that spares
// loopback and trusted addresses, expiry, the caps, and the state file across a restart.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { addressKey, LoginLimiter } from './login-limiter.js';

test('login limiter: 5 attempts per name and address, counted before the check', () => {
  let now = 1_000_000;
  const l = new LoginLimiter(undefined, () => now);
  for (let i = 0; i < 5; i++) assert.equal(l.attempt('u', '10.0.0.1'), 0, `attempt ${i + 1}`);
  assert.equal(l.attempt('u', '10.0.0.1'), 300, 'the 6th waits 5 min');
  assert.equal(l.attempt('u', '10.0.0.2'), 0, 'another address is not locked');
  assert.equal(l.attempt('other', '10.0.0.1'), 0, 'another name is not locked');
  for (let i = 0; i < 5; i++) l.attempt('d', '10.0.0.4');
  now += 300_001;
  assert.equal(l.attempt('d', '10.0.0.4'), 0, 'unlocked after 5 min');
  for (let i = 0; i < 3; i++) l.attempt('d', '10.0.0.4');
  assert.equal(l.attempt('d', '10.0.0.4'), 0);
  assert.equal(l.attempt('d', '10.0.0.4'), 600, 'a second lock lasts twice as long');
  for (let i = 0; i < 4; i++) l.attempt('v', '10.0.0.3');
  now += 16 * 60_000;
  assert.equal(l.attempt('v', '10.0.0.3'), 0, 'old failures fall out of the window');
  assert.equal(l.attempt('v', '10.0.0.3'), 0);
});

test('login limiter: success clears the pair and takes its own attempt back', () => {
  const now = 1_000_000;
  const l = new LoginLimiter(undefined, () => now);
  for (let i = 0; i < 4; i++) l.attempt('u', '10.0.0.1');
  assert.equal(l.attempt('u', '10.0.0.1'), 0);
  l.succeed('u', '10.0.0.1');
  for (let i = 0; i < 5; i++) assert.equal(l.attempt('u', '10.0.0.1'), 0, 'a fresh count after success');
});

test('login limiter: 20 failures from one address lock it for every name', () => {
  const l = new LoginLimiter(undefined, () => 1_000_000);
  for (let i = 0; i < 20; i++) assert.equal(l.attempt(`user${i}`, '10.0.0.9'), 0);
  assert.ok(l.attempt('admin', '10.0.0.9') > 0);
  assert.equal(l.attempt('admin', '10.0.0.8'), 0);
});

test('login limiter: many addresses slow a name down, but not on loopback or a trusted address', () => {
  let now = 1_000_000;
  const l = new LoginLimiter(undefined, () => now);
  assert.equal(l.attempt('admin', '192.0.2.200'), 0);
  l.succeed('admin', '192.0.2.200');
  for (let i = 0; i < 10; i++) assert.equal(l.attempt('admin', `198.51.100.${i}`), 0);
  assert.equal(l.attempt('admin', '198.51.100.50'), 1, 'past 10 failures a new address waits 2^0 s');
  now += 1000;
  assert.equal(l.attempt('admin', '198.51.100.50'), 0);
  assert.equal(l.attempt('admin', '198.51.100.51'), 2, 'then 2^1 s');
  assert.equal(l.attempt('admin', '127.0.0.1'), 0, 'the console on loopback is never slowed');
  assert.equal(l.attempt('admin', '192.0.2.200'), 0, 'an address that signed in before is not slowed');
  for (let i = 0; i < 60; i++) {
    now += 10 * 60_000;
    l.attempt('admin', `203.0.113.${i}`);
  }
  assert.ok(l.attempt('admin', '203.0.113.250') <= 300, 'the slowdown is capped at 5 min');
});

test('login limiter: IPv6 by /64, IPv4-mapped as IPv4', () => {
  assert.equal(addressKey('::ffff:10.1.2.3'), '10.1.2.3');
  assert.equal(addressKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8:1:2::ffff'), '2001:db8:1:2::/64');
  assert.equal(addressKey('2001:db8::1'), '2001:db8:0:0::/64');
});

test('login limiter: the state file survives a restart, is private and bounded', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-limiter-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  let now = 1_000_000;
  const a = await LoginLimiter.open(dir, () => now);
  for (let i = 0; i < 5; i++) a.attempt('u', '10.0.0.1');
  for (let i = 0; i < 25_000; i++) a.attempt(`n${i % 4000}`, `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
  await a.saved();
  const file = join(dir, 'login-limiter.json');
  assert.equal((await stat(file)).mode & 0o777, 0o600);
  const saved = JSON.parse(await readFile(file, 'utf8')) as { counters: unknown[] };
  assert.ok(saved.counters.length <= 20_000, `${saved.counters.length} counters kept`);
  const b = await LoginLimiter.open(dir, () => now);
  assert.equal(b.attempt('u', '10.0.0.2'), 0);
  // b's attempt is saved too: once it is on disk, so that it cannot land after c's (two limiters
  // on one file exist only here; a restarted server's old one is gone).
  await b.saved();
  // The pair was among the oldest entries: with the cap it may have gone; recreate and check.
  const c = await LoginLimiter.open(dir, () => now);
  for (let i = 0; i < 5; i++) c.attempt('w', '10.9.9.9');
  await c.saved();
  assert.equal((await LoginLimiter.open(dir, () => now)).attempt('w', '10.9.9.9'), 300, 'locked after a restart');
  now += 2 * 86_400_000;
  const d = await LoginLimiter.open(dir, () => now);
  assert.equal(d.attempt('w', '10.9.9.9'), 0, 'expired');
  d.attempt('x', '10.9.9.1');
  await d.saved();
  const pruned = JSON.parse(await readFile(file, 'utf8')) as { counters: unknown[] };
  assert.equal(pruned.counters.length, 6, 'expired entries are dropped on save: 3 counters each for w and x remain');
});
