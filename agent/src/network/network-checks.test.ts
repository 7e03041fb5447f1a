import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetworkKind } from '@quantix/proto/v1/network.js';
import { AgentError } from '../errors.js';
import { checkPlanAgainstHost, type HostView } from './network-checks.js';
import { planNetwork } from './network-plan.js';
import { parseNetworkXml } from './network-xml-parse.js';
import type { HostInterfaceState } from './host-interfaces.js';

const nic = (name: string, over: Partial<HostInterfaceState> = {}): HostInterfaceState => ({
  name,
  mac: '02:00:00:00:00:01',
  addresses: [],
  globalAddresses: [],
  up: true,
  kind: 'physical',
  management: false,
  master: '',
  ...over,
});
const host: HostView = {
  networks: [
    parseNetworkXml(
      `<network><name>other</name><forward mode='nat'/><bridge name='virbr9'/><ip address='10.213.8.1' prefix='24'/></network>`,
    ),
  ],
  interfaces: [
    nic('eth0', { addresses: ['192.0.2.2/24'], globalAddresses: ['192.0.2.2/24'], management: true }),
    nic('eno2'),
    nic('br7', { kind: 'bridge' }),
    nic('eno3', { master: 'br7' }),
  ],
};
const nat = (name: string, subnet: string) =>
  planNetwork({
    name,
    kind: NetworkKind.NETWORK_KIND_NAT,
    subnet,
    dhcpStart: '',
    dhcpEnd: '',
    bridge: '',
    uplink: '',
    vlanId: 0,
    confirmManagementMove: false,
  });
const bridged = (uplink: string, confirm = false, vlanId = 0) =>
  planNetwork({
    name: 'lan',
    kind: NetworkKind.NETWORK_KIND_BRIDGED,
    subnet: '',
    dhcpStart: '',
    dhcpEnd: '',
    bridge: 'br-lan',
    uplink,
    vlanId,
    confirmManagementMove: confirm,
  });
const fails = (code: string, field: string, text: RegExp) => (e: unknown) =>
  e instanceof AgentError && e.code === code && e.field === field && text.test(e.message);

test('subnets may not overlap other networks or host addresses', () => {
  assert.equal(checkPlanAgainstHost(nat('a', '10.213.9.0/24'), host), undefined);
  assert.throws(
    () => checkPlanAgainstHost(nat('a', '10.213.8.128/25'), host),
    fails('INVALID_ARGUMENT', 'spec.subnet', /network "other"/),
  );
  assert.throws(
    () => checkPlanAgainstHost(nat('a', '192.0.2.0/28'), host),
    fails('INVALID_ARGUMENT', 'spec.subnet', /eth0/),
  );
  assert.throws(
    () => checkPlanAgainstHost(nat('other', '10.213.9.0/24'), host),
    fails('ALREADY_EXISTS', 'spec.name', /exists/),
  );
});

test('bridged networks need an existing, free NIC and confirmation for the management NIC', () => {
  assert.equal(checkPlanAgainstHost(bridged('eno2'), host)?.name, 'eno2');
  assert.throws(
    () => checkPlanAgainstHost(bridged('eno9'), host),
    fails('INVALID_ARGUMENT', 'spec.uplink', /does not exist/),
  );
  assert.throws(
    () => checkPlanAgainstHost(bridged('br7'), host),
    fails('INVALID_ARGUMENT', 'spec.uplink', /is itself a bridge/),
  );
  assert.throws(
    () => checkPlanAgainstHost(bridged('eno3'), host),
    fails('INVALID_ARGUMENT', 'spec.uplink', /port of bridge br7/),
  );
  assert.throws(
    () => checkPlanAgainstHost(bridged('eth0'), host),
    fails('FAILED_PRECONDITION', 'spec.confirm_management_move', /management/),
  );
  assert.equal(checkPlanAgainstHost(bridged('eth0', true), host)?.name, 'eth0');
  assert.equal(checkPlanAgainstHost(bridged('eth0', false, 10), host)?.name, 'eth0');
});
