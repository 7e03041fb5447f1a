// The limiter's arithmetic with a fake clock: lock after 5 failures, unlock after 5 minutes,
// failures older than the window forgotten.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LoginLimiter } from './login-limiter.js';

test('login limiter locks and unlocks', () => {
  let now = 1_000_000;
  const l = new LoginLimiter(() => now);
  for (let i = 0; i < 4; i++) l.fail('u', 'a');
  assert.equal(l.retryAfter('u', 'a'), 0);
  l.fail('u', 'a');
  assert.equal(l.retryAfter('u', 'a'), 300);
  assert.equal(l.retryAfter('other', 'b'), 0);
  now += 300_001;
  assert.equal(l.retryAfter('u', 'a'), 0);
  for (let i = 0; i < 4; i++) l.fail('v', 'c');
  now += 16 * 60_000;
  l.fail('v', 'c');
  assert.equal(l.retryAfter('v', 'c'), 0, 'old failures fall out of the window');
});
