// Which address this appliance's etcd member is to use after the appliance may have moved: the
// configured one (checked against the machine's addresses, naming the setting), the one it was set
// up with while the machine has it, else the primary one (on the default route's interface).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentMemberAddress, memberAddressProblem } from './controlplane-address.js';

const machine = ['127.0.0.1', '192.0.2.7'];
const none = {};

test('the address set up with stays while the machine has it, or when it is a name', () => {
  assert.equal(currentMemberAddress('192.0.2.7', none, machine), '192.0.2.7');
  assert.equal(currentMemberAddress('127.0.0.1', none, machine), '127.0.0.1');
  assert.equal(currentMemberAddress('qx1.example.net', none, machine), 'qx1.example.net');
});

test('an address the machine no longer has moves to its primary one: on the default route, else the first', () => {
  assert.equal(currentMemberAddress('192.0.2.5', none, machine, []), '192.0.2.7');
  assert.equal(currentMemberAddress('192.0.2.5', none, ['127.0.0.1'], []), undefined, 'none yet (DHCP)');
  const two = ['10.0.0.5', '127.0.0.1', '192.0.2.7'];
  assert.equal(currentMemberAddress('192.0.2.5', none, two, ['192.0.2.7']), '192.0.2.7', 'the default route’s');
  assert.equal(currentMemberAddress('192.0.2.5', none, two, []), '10.0.0.5', 'no default route: the first');
  assert.equal(currentMemberAddress('192.0.2.5', none, two, ['198.51.100.1']), '10.0.0.5');
});

test('the configured address wins, and must be one of the machine’s, naming the setting otherwise', () => {
  const setting = (address: string, addressSetting = 'quantix.controlplane_address=') => ({ address, addressSetting });
  assert.equal(currentMemberAddress('192.0.2.5', setting('192.0.2.7'), machine), '192.0.2.7');
  assert.equal(
    currentMemberAddress('192.0.2.7', setting('127.0.0.2', 'QX_CONTROLPLANE_ADDRESS'), machine),
    '127.0.0.2',
    'any loopback address (the tests’ members)',
  );
  assert.throws(
    () => currentMemberAddress('192.0.2.7', setting('10.1.2.3'), machine),
    /^Error: quantix\.controlplane_address=: 10\.1\.2\.3 is not an address of this appliance \(it has 192\.0\.2\.7\)$/,
  );
  assert.equal(
    memberAddressProblem(
      setting('qx1.example.net', 'controlplaneAddress in /var/lib/quantix/server/config.json'),
      machine,
    ),
    'controlplaneAddress in /var/lib/quantix/server/config.json: "qx1.example.net" is not an IPv4 address of this appliance',
  );
  assert.equal(
    memberAddressProblem(setting('10.1.2.3'), ['127.0.0.1']),
    'quantix.controlplane_address=: 10.1.2.3 is not an address of this appliance (it has none but loopback)',
  );
  assert.equal(memberAddressProblem(none, machine), undefined);
});
