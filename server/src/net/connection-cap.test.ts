// sourceKey: the unit the per-address cap counts (an IPv6 client holds a whole /64).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { sourceKey } from './connection-cap.js';

test('connection cap: IPv4 per address, IPv6 per /64', () => {
  assert.equal(sourceKey('192.0.2.7'), '192.0.2.7');
  assert.equal(sourceKey('::ffff:192.0.2.7'), '192.0.2.7', 'IPv4-mapped is the IPv4 client');
  assert.equal(sourceKey('2001:db8:0:1::5'), '2001:db8:0:1::/64');
  assert.equal(sourceKey('2001:0db8:0000:0001:aaaa:bbbb:cccc:dddd'), '2001:db8:0:1::/64');
  assert.equal(sourceKey('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(sourceKey('::1'), '0:0:0:0::/64');
  assert.equal(sourceKey('fe80::1%eth0'), 'fe80:0:0:0::/64');
});
