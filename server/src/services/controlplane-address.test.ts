// Which address this appliance's etcd member is to use after the appliance may have moved.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentMemberAddress } from './controlplane-address.js';

const machine = ['127.0.0.1', '192.0.2.7'];

test('the address set up with stays while the machine has it, or when it is a name', () => {
  assert.equal(currentMemberAddress('192.0.2.7', undefined, machine), '192.0.2.7');
  assert.equal(currentMemberAddress('127.0.0.1', undefined, machine), '127.0.0.1');
  assert.equal(currentMemberAddress('qx1.example.net', undefined, machine), 'qx1.example.net');
});

test('an address the machine no longer has moves to its first one other than loopback', () => {
  assert.equal(currentMemberAddress('192.0.2.5', undefined, machine), '192.0.2.7');
  assert.equal(currentMemberAddress('192.0.2.5', undefined, ['127.0.0.1']), undefined, 'none yet (DHCP)');
});

test('QX_CONTROLPLANE_ADDRESS wins', () => {
  assert.equal(currentMemberAddress('192.0.2.7', '10.1.2.3', machine), '10.1.2.3');
});
