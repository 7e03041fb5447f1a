import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NO_ADDRESSING,
  bridgeNetworkFile,
  networkFileDhcp,
  networkdFileNames,
  parseLeaseClientId,
  parseNetworkdState,
  portNetworkFile,
  uplinkAddressing,
} from './networkd-files.js';

/** The [Section] → key=value lines of a .network file (comments and blanks dropped). */
function sections(text: string): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  let cur = '';
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    if (line.startsWith('[')) out[(cur = line)] = [];
    else out[cur]!.push(line);
  }
  return out;
}

test('networkd files: names sort before the appliance’s 10-static-* and 20-wired files', () => {
  const n = networkdFileNames('qx-lan', 'eth0');
  assert.deepEqual(n, { bridge: '05-quantix-bridge-qx-lan.network', port: '05-quantix-port-eth0.network' });
  const sorted = [n.bridge, n.port, '10-static-eth0.network', '20-wired.network'].sort();
  assert.deepEqual(sorted.slice(2), ['10-static-eth0.network', '20-wired.network']);
});

test('networkd files: the port keeps its master and gets no DHCP or addresses', () => {
  assert.deepEqual(sections(portNetworkFile('eth0', 'qx-lan')), {
    '[Match]': ['Name=eth0'],
    '[Link]': ['RequiredForOnline=no'],
    '[Network]': ['KeepMaster=yes', 'DHCP=no', 'LinkLocalAddressing=no', 'IPv6AcceptRA=no'],
  });
  assert.match(portNetworkFile('eth0', 'qx-lan'), /^# Written by the Quantix agent: eth0 is a port of bridge qx-lan/);
});

test('networkd files: a DHCP NIC’s bridge asks for the same lease (same client identity)', () => {
  const duid = bridgeNetworkFile('qx-lan', 'eth0', {
    dhcp: 'yes',
    clientId: { type: 'duid', iaid: 0x1a2b3c4d },
    addresses: [],
    gateways: [],
  });
  assert.deepEqual(sections(duid), {
    '[Match]': ['Name=qx-lan'],
    '[Network]': ['DHCP=yes', 'LinkLocalAddressing=ipv6'],
    '[DHCPv4]': ['ClientIdentifier=duid', `IAID=${0x1a2b3c4d}`],
  });
  const mac = bridgeNetworkFile('qx-lan', 'eth0', {
    dhcp: 'ipv4',
    clientId: { type: 'mac' },
    addresses: [],
    gateways: [],
  });
  assert.deepEqual(sections(mac)['[DHCPv4]'], ['ClientIdentifier=mac']);
  const plain = bridgeNetworkFile('qx-lan', 'eth0', { dhcp: 'yes', addresses: [], gateways: [] });
  assert.equal(sections(plain)['[DHCPv4]'], undefined, 'no identity known: networkd’s default');
});

test('networkd files: a static NIC’s bridge carries its addresses and gateway; a VLAN bridge nothing', () => {
  const s = bridgeNetworkFile('br0', 'ens3', {
    dhcp: '',
    addresses: ['192.168.10.5/24', '2001:db8::5/64'],
    gateways: ['192.168.10.1'],
  });
  assert.deepEqual(sections(s)['[Network]'], [
    'Address=192.168.10.5/24',
    'Address=2001:db8::5/64',
    'Gateway=192.168.10.1',
    'LinkLocalAddressing=ipv6',
  ]);
  assert.deepEqual(sections(bridgeNetworkFile('qx-v10', 'eth0', NO_ADDRESSING))['[Network]'], [
    'LinkLocalAddressing=no',
    'IPv6AcceptRA=no',
  ]);
});

test('networkd files: names that would be globs in Name= are refused', () => {
  for (const bad of ['eth*', 'en? x', '[ab]', '']) {
    assert.throws(() => portNetworkFile(bad, 'br0'), /not an interface name/);
    assert.throws(() => bridgeNetworkFile('br0', bad, NO_ADDRESSING), /not an interface name/);
  }
});

test('networkd state: the link file names its .network file; DHCP= is read from [Network] only', () => {
  const link = parseNetworkdState(
    '# This is private data. Do not parse.\nADMIN_STATE=configured\nOPER_STATE=routable\nNETWORK_FILE=/etc/systemd/network/20-wired.network\n',
  );
  assert.equal(link.get('NETWORK_FILE'), '/etc/systemd/network/20-wired.network');
  assert.equal(link.get('ADMIN_STATE'), 'configured');

  const wired =
    '# DHCP on every wired NIC.\n[Match]\nName=en* eth*\n\n[Network]\nDHCP=yes\nLinkLocalAddressing=ipv6\n\n[DHCPv4]\nUseDomains=yes\n';
  assert.equal(networkFileDhcp(wired), 'yes');
  assert.equal(networkFileDhcp('[Match]\nName=eth0\n\n[Network]\nAddress=10.0.0.5/24\nGateway=10.0.0.1\n'), '');
  assert.equal(networkFileDhcp('[Network]\nDHCP = IPv4\n'), 'ipv4');
  assert.equal(networkFileDhcp('[Network]\nDHCP=yes\nDHCP=no\n'), '', 'the last assignment wins');
  assert.equal(networkFileDhcp('[Network]\nDHCP=ipv6\n'), 'ipv6');
  assert.equal(networkFileDhcp('[DHCPv4]\nDHCP=yes\n'), '');
});

test('networkd lease: CLIENTID of type 255 gives the IAID (big-endian), type 1 means the MAC', () => {
  const lease =
    'ADDRESS=192.0.2.50\nNETMASK=255.255.255.0\nROUTER=192.0.2.1\nCLIENTID=ff1a2b3c4d00020000ab11e1a2b3c4d5e6f70011\n';
  assert.deepEqual(parseLeaseClientId(lease), { type: 'duid', iaid: 0x1a2b3c4d });
  assert.deepEqual(parseLeaseClientId('CLIENTID=01525400123456\n'), { type: 'mac' });
  assert.equal(parseLeaseClientId('ADDRESS=192.0.2.50\n'), undefined);
  assert.equal(parseLeaseClientId('CLIENTID=zz\n'), undefined);
});

test('uplink addressing: DHCP and SLAAC addresses and their routes are left to networkd', () => {
  const a = uplinkAddressing({
    addrInfo: [
      { local: '192.0.2.50', prefixlen: 24, scope: 'global', dynamic: true, valid_life_time: 3000 },
      { local: '2001:db8::5054:ff:fe12:3456', prefixlen: 64, scope: 'global', valid_life_time: 86000 },
      { local: '198.51.100.7', prefixlen: 24, scope: 'global', valid_life_time: 4294967295 },
      { local: 'fe80::5054:ff:fe12:3456', prefixlen: 64, scope: 'link', valid_life_time: 4294967295 },
    ],
    routes: [
      { dst: 'default', gateway: '192.0.2.1', protocol: 'dhcp', family: 4 },
      { dst: 'default', gateway: 'fe80::1', protocol: 'ra', family: 6 },
      { dst: '192.0.2.0/24', protocol: 'kernel', scope: 'link', family: 4 },
    ],
    dhcp: 'yes',
    clientId: { type: 'mac' },
  });
  assert.deepEqual(a, { dhcp: 'yes', clientId: { type: 'mac' }, addresses: ['198.51.100.7/24'], gateways: [] });

  const s = uplinkAddressing({
    addrInfo: [{ local: '10.213.30.1', prefixlen: 24, scope: 'global', valid_life_time: 4294967295 }],
    routes: [
      { dst: 'default', gateway: '10.213.30.254', protocol: 'static', family: 4 },
      { dst: '10.213.31.0/24', gateway: '10.213.30.2', protocol: 'boot', family: 4 },
    ],
    dhcp: '',
    clientId: { type: 'mac' },
  });
  assert.deepEqual(s, { dhcp: '', addresses: ['10.213.30.1/24'], gateways: ['10.213.30.254'] });
});
