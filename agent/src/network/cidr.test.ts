import { test } from 'node:test';
import assert from 'node:assert/strict';
import { broadcastOf, cidrOf, contains, formatCidr, formatIpv4, overlaps, parseCidr, parseIpv4 } from './cidr.js';
import { AgentError } from '../errors.js';

const invalid = (field: string) => (e: unknown) =>
  e instanceof AgentError && e.code === 'INVALID_ARGUMENT' && e.message.startsWith(`${field}: `);

test('parses and formats addresses and blocks', () => {
  assert.equal(formatIpv4(parseIpv4('ip', '10.213.0.1')), '10.213.0.1');
  assert.equal(parseIpv4('ip', '255.255.255.255'), 0xffffffff);
  assert.equal(formatCidr(parseCidr('subnet', '10.213.4.0/24')), '10.213.4.0/24');
  assert.equal(formatCidr(parseCidr('subnet', '10.213.4.7/24', false)), '10.213.4.0/24');
  assert.equal(formatIpv4(broadcastOf(parseCidr('s', '10.213.4.0/29'))), '10.213.4.7');
  assert.equal(formatCidr(cidrOf(parseIpv4('ip', '192.0.2.77'), 24)), '192.0.2.0/24');
});

test('refuses malformed input, naming the field', () => {
  for (const bad of ['10.0.0.256', '10.0.0', 'a.b.c.d', '010.0.0.1', '', '1.2.3.4.5']) {
    assert.throws(() => parseIpv4('spec.dhcp_start', bad), invalid('spec.dhcp_start'), bad);
  }
  for (const bad of ['10.0.0.0', '10.0.0.0/33', '10.0.0.0/x', '10.0.0.1/24', '10.0.0.0/-1']) {
    assert.throws(() => parseCidr('spec.subnet', bad), invalid('spec.subnet'), bad);
  }
});

test('containment and overlap', () => {
  const a = parseCidr('s', '10.213.0.0/16');
  const b = parseCidr('s', '10.213.7.0/24');
  const c = parseCidr('s', '10.214.0.0/24');
  assert.ok(overlaps(a, b) && overlaps(b, a));
  assert.ok(!overlaps(b, c) && !overlaps(a, c));
  assert.ok(overlaps(parseCidr('s', '0.0.0.0/0'), c));
  assert.ok(contains(b, parseIpv4('ip', '10.213.7.200')));
  assert.ok(!contains(b, parseIpv4('ip', '10.213.8.1')));
});
