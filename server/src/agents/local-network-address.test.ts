import { test } from 'node:test';
import assert from 'node:assert/strict';
import { localNetworkAddress } from './local-network-address.js';

test('the local host recorded on a control plane: ":port" takes the first management address beyond loopback', () => {
  assert.equal(localNetworkAddress(':9443', ['127.0.0.1', '192.168.7.2']), '192.168.7.2:9443');
  assert.equal(localNetworkAddress('10.1.2.3:9500', []), '10.1.2.3:9500');
  assert.equal(localNetworkAddress(':9443', ['127.0.0.1']), undefined, 'no address another server reaches');
  assert.equal(localNetworkAddress(undefined, ['192.168.7.2']), undefined);
});
