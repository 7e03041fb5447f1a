import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetworkKind, type NetworkSpec } from '@quantix/proto/v1/network.js';
import { AgentError } from '../errors.js';
import { planNetwork } from './network-plan.js';
import { buildNetworkXml } from './network-xml-build.js';
import { parseNetworkXml } from './network-xml-parse.js';

const spec = (over: Partial<NetworkSpec>): NetworkSpec => ({
  name: 'lab',
  kind: NetworkKind.NETWORK_KIND_NAT,
  subnet: '10.213.1.0/28',
  dhcpStart: '',
  dhcpEnd: '',
  bridge: '',
  uplink: '',
  vlanId: 0,
  confirmManagementMove: false,
  ...over,
});
const invalid = (field: string) => (e: unknown) =>
  e instanceof AgentError && e.code === 'INVALID_ARGUMENT' && e.field === field && e.message.startsWith(`${field}: `);

test('a NAT plan takes the first address for the host and the rest for DHCP by default', () => {
  const plan = planNetwork(spec({}));
  if (plan.kind !== 'nat') throw new Error(`expected a nat plan, got ${plan.kind}`);
  assert.deepEqual(
    [plan.bridge, plan.hostAddress, plan.dhcpStart, plan.dhcpEnd],
    ['qx-lab', '10.213.1.1', '10.213.1.2', '10.213.1.14'],
  );
});

test('long names get a hashed bridge name that fits 15 characters', () => {
  const plan = planNetwork(spec({ name: 'a-rather-long-network-name' }));
  assert.match(plan.bridge, /^qx-[0-9a-f]{12}$/);
});

test('refuses bad input, naming the field', () => {
  const cases: [Partial<NetworkSpec>, string][] = [
    [{ name: '../etc' }, 'spec.name'],
    [{ name: 'a b' }, 'spec.name'],
    [{ kind: NetworkKind.NETWORK_KIND_UNSPECIFIED }, 'spec.kind'],
    [{ subnet: '' }, 'spec.subnet'],
    [{ subnet: '10.213.1.0/33' }, 'spec.subnet'],
    [{ subnet: '10.213.1.5/28' }, 'spec.subnet'],
    [{ subnet: '10.213.1.0/30' }, 'spec.subnet'],
    [{ dhcpStart: '10.213.1.2' }, 'spec.dhcp_end'],
    [{ dhcpStart: '10.213.2.2', dhcpEnd: '10.213.2.9' }, 'spec.dhcp_start'],
    [{ dhcpStart: '10.213.1.2', dhcpEnd: '10.213.1.15' }, 'spec.dhcp_end'],
    [{ dhcpStart: '10.213.1.1', dhcpEnd: '10.213.1.9' }, 'spec.dhcp_start'],
    [{ dhcpStart: '10.213.1.9', dhcpEnd: '10.213.1.3' }, 'spec.dhcp_end'],
    [{ bridge: 'br0;reboot' }, 'spec.bridge'],
    [{ bridge: 'much-too-long-bridge' }, 'spec.bridge'],
    [{ uplink: 'eth0' }, 'spec.uplink'],
    [{ vlanId: 5 }, 'spec.vlan_id'],
    [{ kind: NetworkKind.NETWORK_KIND_BRIDGED, subnet: '10.213.1.0/28', uplink: 'eth0' }, 'spec.subnet'],
    [{ kind: NetworkKind.NETWORK_KIND_BRIDGED, subnet: '', uplink: '' }, 'spec.uplink'],
    [{ kind: NetworkKind.NETWORK_KIND_BRIDGED, subnet: '', uplink: '-x' }, 'spec.uplink'],
    [{ kind: NetworkKind.NETWORK_KIND_BRIDGED, subnet: '', uplink: 'eth0', vlanId: 4095 }, 'spec.vlan_id'],
  ];
  for (const [over, field] of cases) assert.throws(() => planNetwork(spec(over)), invalid(field), JSON.stringify(over));
});

test('NAT, isolated and bridged XML round-trip through the parser', () => {
  const nat = parseNetworkXml(buildNetworkXml(planNetwork(spec({ dhcpStart: '10.213.1.5', dhcpEnd: '10.213.1.9' }))));
  assert.deepEqual(
    [nat.name, nat.kind, nat.bridge, nat.subnetText, nat.dhcpStart, nat.dhcpEnd],
    ['lab', 'nat', 'qx-lab', '10.213.1.0/28', '10.213.1.5', '10.213.1.9'],
  );
  const isoXml = buildNetworkXml(planNetwork(spec({ kind: NetworkKind.NETWORK_KIND_ISOLATED })));
  assert.doesNotMatch(isoXml, /<forward/);
  assert.equal(parseNetworkXml(isoXml).kind, 'isolated');
  const br = parseNetworkXml(
    buildNetworkXml(
      planNetwork(
        spec({ kind: NetworkKind.NETWORK_KIND_BRIDGED, subnet: '', uplink: 'eno1', bridge: 'br0', vlanId: 12 }),
      ),
    ),
  );
  assert.deepEqual([br.kind, br.bridge, br.uplink, br.vlanId, br.subnetText], ['bridged', 'br0', 'eno1', 12, '']);
});

test('parses libvirt-made networks (the default network as virsh dumps it)', () => {
  const n = parseNetworkXml(`<network>
  <name>default</name>
  <uuid>0b1a4ba8-5c2f-4b1e-9a57-7d0c09d8d8a1</uuid>
  <forward mode='nat'><nat><port start='1024' end='65535'/></nat></forward>
  <bridge name='virbr0' stp='on' delay='0'/>
  <mac address='52:54:00:12:34:56'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp><range start='192.168.122.2' end='192.168.122.254'/></dhcp>
  </ip>
</network>`);
  assert.deepEqual(
    [n.kind, n.bridge, n.subnetText, n.dhcpEnd, n.uplink],
    ['nat', 'virbr0', '192.168.122.0/24', '192.168.122.254', ''],
  );
});
