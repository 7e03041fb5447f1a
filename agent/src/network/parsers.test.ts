import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseLeases } from './lease-parse.js';
import { parseDomainNics } from './domain-nics-parse.js';
import { parseHostInterfaces, type IpAddrEntry } from './host-interfaces.js';
import { createBridgeArgs, moveToBridgeBatch, restoreUplinkBatch } from './uplink-batch.js';

test('leases: parses virsh net-dhcp-leases rows, skipping headers and blanks', () => {
  const text = [
    ' Expiry Time           MAC address         Protocol   IP address         Hostname   Client ID or DUID',
    '------------------------------------------------------------------------------------------------------',
    ' 2026-11-22 15:10:01   52:54:00:AA:bb:cc   ipv4       10.213.1.7/28      qxguest    01:52:54:00:aa:bb:cc',
    ' 2026-11-22 15:11:00   52:54:00:00:00:01   ipv4       10.213.1.8/28      -          -',
    '',
  ].join('\n');
  const leases = parseLeases(text);
  assert.equal(leases.length, 2);
  assert.deepEqual(
    [leases[0]!.mac, leases[0]!.ip, leases[0]!.hostname],
    ['52:54:00:aa:bb:cc', '10.213.1.7', 'qxguest'],
  );
  assert.equal(leases[1]!.hostname, '');
  assert.ok(leases[0]!.expiryMs > 0);
});

test('domain NICs: network and bridge sources with MACs', () => {
  const d = parseDomainNics(`<domain type='qemu'><name>web1</name><devices>
    <interface type='network'><mac address='52:54:00:0A:00:01'/><source network='lab' bridge='qx-lab'/><model type='e1000'/></interface>
    <interface type='bridge'><mac address='52:54:00:0a:00:02'/><source bridge='br0'/></interface>
    <interface type='user'><mac address='52:54:00:0a:00:03'/></interface>
  </devices></domain>`);
  assert.equal(d.name, 'web1');
  assert.deepEqual(
    d.nics.map((n) => [n.type, n.network, n.bridge, n.mac]),
    [
      ['network', 'lab', 'qx-lab', '52:54:00:0a:00:01'],
      ['bridge', '', 'br0', '52:54:00:0a:00:02'],
      ['user', '', '', '52:54:00:0a:00:03'],
    ],
  );
  assert.deepEqual(parseDomainNics('<domain><name>x</name><devices/></domain>').nics, []);
});

test('host interfaces: kinds, addresses, management and bridge ports', () => {
  const entries: IpAddrEntry[] = [
    {
      ifname: 'lo',
      link_type: 'loopback',
      addr_info: [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, scope: 'host' }],
    },
    {
      ifname: 'eth0',
      address: '02:FC:00:00:00:01',
      flags: ['UP'],
      link_type: 'ether',
      parentbus: 'virtio',
      addr_info: [
        { family: 'inet', local: '192.0.2.2', prefixlen: 24, scope: 'global' },
        { family: 'inet6', local: 'fe80::1', prefixlen: 64, scope: 'link' },
      ],
    },
    { ifname: 'vh', link_type: 'ether', master: 'br0', linkinfo: { info_kind: 'veth' } },
    { ifname: 'br0', flags: ['UP'], link_type: 'ether', linkinfo: { info_kind: 'bridge' } },
    { ifname: 'ifb0', link_type: 'ether', linkinfo: { info_kind: 'ifb' } },
  ];
  const ifs = parseHostInterfaces(entries, new Set(['eth0']));
  assert.deepEqual(
    ifs.map((i) => [i.name, i.kind, i.up, i.management, i.master]),
    [
      ['eth0', 'physical', true, true, ''],
      ['vh', 'veth', false, false, 'br0'],
      ['br0', 'bridge', true, false, ''],
      ['ifb0', 'virtual', false, false, ''],
    ],
  );
  assert.deepEqual(ifs[0]!.addresses, ['192.0.2.2/24', 'fe80::1/64']);
  assert.deepEqual(ifs[0]!.globalAddresses, ['192.0.2.2/24']);
  assert.equal(ifs[0]!.mac, '02:fc:00:00:00:01');
});

test('uplink batches move addresses and non-kernel routes and restore them', () => {
  const state = {
    uplink: 'eno1',
    bridge: 'br0',
    addresses: ['192.0.2.2/24'],
    uplinkUp: true,
    routes: [
      { dst: 'default', gateway: '192.0.2.1', family: 4 as const },
      { dst: '192.0.2.0/24', protocol: 'kernel', scope: 'link', prefsrc: '192.0.2.2', family: 4 as const },
      { dst: 'default', gateway: 'fd00::1', metric: 1024, family: 6 as const, flags: ['onlink'] },
      { dst: 'fe80::/64', protocol: 'kernel', family: 6 as const },
    ],
  };
  assert.deepEqual(createBridgeArgs('br0', '02:00:00:00:00:01'), [
    'link',
    'add',
    'name',
    'br0',
    'address',
    '02:00:00:00:00:01',
    'type',
    'bridge',
  ]);
  assert.deepEqual(createBridgeArgs('br0'), ['link', 'add', 'name', 'br0', 'type', 'bridge']);
  assert.deepEqual(moveToBridgeBatch(state), [
    'link set dev br0 up',
    'link set dev eno1 master br0',
    'address flush dev eno1 scope global',
    'address add 192.0.2.2/24 dev br0',
    'route replace default via 192.0.2.1 dev br0',
    'route replace ::/0 via fd00::1 dev br0 metric 1024 onlink',
  ]);
  assert.deepEqual(restoreUplinkBatch(state), [
    'link set dev eno1 nomaster',
    'link del dev br0',
    'address replace 192.0.2.2/24 dev eno1',
    'link set dev eno1 up',
    'route replace default via 192.0.2.1 dev eno1',
    'route replace ::/0 via fd00::1 dev eno1 metric 1024 onlink',
  ]);
});
