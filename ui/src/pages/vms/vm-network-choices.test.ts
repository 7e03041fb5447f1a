// The create wizard offers only networks the VM can get where it will run: the chosen host's,
// the chosen cluster's (applied somewhere), or with automatic placement those every usable host has.
import type { ClusterNetworkDto } from '@dto/cluster-networks.js';
import type { NetworkDto } from '@dto/networks.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { networkChoices, type NetworkSources } from './vm-network-choices.js';

const net = (hostId: string, name: string, extra: Partial<NetworkDto> = {}): NetworkDto => ({
  hostId,
  name,
  kind: 'nat',
  subnet: '',
  dhcpStart: '',
  dhcpEnd: '',
  bridge: '',
  uplink: '',
  vlanId: 0,
  active: true,
  leases: [],
  usedBy: [],
  error: '',
  ...extra,
});
const clusterNet = (
  clusterId: string,
  name: string,
  states: ('applied' | 'failed' | 'pending')[],
): ClusterNetworkDto => ({
  clusterId,
  name,
  kind: 'bridged',
  subnet: '',
  dhcpStart: '',
  dhcpEnd: '',
  bridge: '',
  uplink: 'eth1',
  vlanId: 0,
  createdAt: '',
  hosts: states.map((state, i) => ({
    hostId: `h${i}`,
    hostName: `h${i}`,
    state,
    reason: '',
    needsConfirmation: false,
    updatedAt: '',
  })),
});

const src: NetworkSources = {
  hosts: [
    { id: 'h1', status: 'online', maintenance: false },
    { id: 'h2', status: 'online', maintenance: false },
    { id: 'h3', status: 'online', maintenance: true },
    { id: 'h4', status: 'offline', maintenance: false },
  ],
  networks: [
    net('h1', 'default', { subnet: '192.168.122.0/24' }),
    net('h1', 'lab', { kind: 'isolated', active: false }),
    net('h2', 'default'),
    net('h2', 'dmz'),
    net('h3', 'only-h3'),
  ],
  clusterNetworks: [
    clusterNet('c1', 'vm-lan', ['applied', 'failed']),
    clusterNet('c1', 'broken', ['failed']),
    clusterNet('c2', 'other', ['applied']),
  ],
};
const names = (t: Parameters<typeof networkChoices>[0]) => networkChoices(t, src).map((n) => n.name);

test('a chosen host offers its own networks only', () => {
  assert.deepEqual(names({ hostId: 'h1' }), ['default', 'lab']);
  assert.deepEqual(names({ hostId: 'h2' }), ['default', 'dmz']);
  assert.deepEqual(
    networkChoices({ hostId: 'h1' }, src).map((n) => n.detail),
    ['nat, 192.168.122.0/24', 'isolated, inactive'],
  );
});

test('a chosen cluster offers its cluster networks that are applied on some host', () => {
  assert.deepEqual(names({ clusterId: 'c1' }), ['vm-lan']);
  assert.deepEqual(names({ clusterId: 'c9' }), []);
});

test('automatic placement offers the networks every online host out of maintenance has', () => {
  assert.deepEqual(names({}), ['default']);
  assert.deepEqual(networkChoices({}, { ...src, hosts: [] }), []);
});
