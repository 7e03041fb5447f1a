// The certificate names the management addresses only: in a network namespace of its own, a VM
// network bridge (qx-…, whose only port is a VM's tap) getting an address leaves the fingerprint
// alone, while a changed address on a NIC, or on a bridged network's bridge over a NIC, regenerates it.
// The primary address: on the interface of the default route (/proc/net/route fixtures), else the first.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes, X509Certificate } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { HttpsCertificate } from './https-certificate.js';
import { defaultRouteAddresses, defaultRouteInterface, primaryManagementAddress } from './management-addresses.js';
import { eventually } from '../test-support/guest-pool.js';

const exec = promisify(execFile);
const CERT_MODULE = fileURLToPath(new URL('./https-certificate.ts', import.meta.url));
// Holds /dev/net/tun open as tap `name` (a tap has a carrier only while a process holds it, as QEMU does).
const TAP_HOLDER = `
import fcntl, os, struct, sys, time
fd = os.open('/dev/net/tun', os.O_RDWR)
fcntl.ioctl(fd, 0x400454ca, struct.pack('16sH', sys.argv[1].encode(), 0x0002 | 0x1000))
print('ready', flush=True)
time.sleep(3600)
`;

test('qxt-srv https certificate: VM network bridges are not management addresses', async (t) => {
  const ns = `qxt-bnd-${randomBytes(3).toString('hex')}`;
  const ip = (...args: string[]) => exec('ip', ['-n', ns, ...args]);
  await exec('ip', ['netns', 'add', ns]);
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-srv-mgmt-'));
  const tap = spawn('ip', ['netns', 'exec', ns, 'python3', '-c', TAP_HOLDER, 'qxt-tap0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(async () => {
    tap.kill();
    await exec('ip', ['netns', 'del', ns]).catch(() => undefined);
    await rm(dataDir, { recursive: true, force: true });
  });
  await new Promise<void>((resolve, reject) => {
    tap.stdout.once('data', () => resolve());
    tap.once('exit', (code) => reject(new Error(`the tap holder exited (${code})`)));
  });
  // A NIC (one end of a veth pair) and a bridged network's bridge over the other end.
  await ip('link', 'add', 'qxt-nic0', 'type', 'veth', 'peer', 'name', 'qxt-nic1');
  await ip('link', 'add', 'qx-bndbr', 'type', 'bridge');
  await ip('link', 'set', 'qxt-nic1', 'master', 'qx-bndbr');
  // A NAT/isolated network's bridge with a VM's tap as its port.
  await ip('link', 'add', 'qx-bndnat', 'type', 'bridge');
  await ip('link', 'set', 'qxt-tap0', 'master', 'qx-bndnat');
  for (const link of ['lo', 'qxt-nic0', 'qxt-nic1', 'qx-bndbr', 'qxt-tap0', 'qx-bndnat'])
    await ip('link', 'set', link, 'up');
  await ip('address', 'add', '192.0.2.10/24', 'dev', 'qxt-nic0');
  await ip('address', 'add', '203.0.113.5/24', 'dev', 'qx-bndbr');

  /** What the server would see in the namespace: every IPv4 address, and the certificate's names. */
  const inNamespace = async () => {
    const script = `import { networkInterfaces } from 'node:os';
      import { currentNames } from ${JSON.stringify(CERT_MODULE)};
      const all = Object.values(networkInterfaces()).flat().filter((a) => a.family === 'IPv4').map((a) => a.address);
      console.log(JSON.stringify({ all, names: currentNames() }));`;
    const r = await exec('ip', [
      'netns',
      'exec',
      ns,
      process.execPath,
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      script,
    ]);
    return JSON.parse(r.stdout) as { all: string[]; names: { dns: string[]; ips: string[] } };
  };

  const cert = await HttpsCertificate.load(dataDir);
  const first = await eventually(
    'the namespace links running',
    async () => {
      const seen = await inNamespace();
      return seen.all.includes('192.0.2.10') && seen.all.includes('203.0.113.5') && seen;
    },
    20_000,
  );
  assert.deepEqual(first.names.ips, ['127.0.0.1', '192.0.2.10', '203.0.113.5']);
  await cert.refreshGenerated(first.names);
  const fingerprint = cert.dto().fingerprint;

  await ip('address', 'add', '198.51.100.1/24', 'dev', 'qx-bndnat');
  const withVmBridge = await eventually(
    'the VM bridge address visible',
    async () => {
      const seen = await inNamespace();
      return seen.all.includes('198.51.100.1') && seen;
    },
    20_000,
  );
  assert.deepEqual(
    withVmBridge.names.ips,
    first.names.ips,
    'the VM network bridge address is not a management address',
  );
  assert.equal(await cert.refreshGenerated(withVmBridge.names), false);
  assert.equal(cert.dto().fingerprint, fingerprint, 'a VM network bridge getting an address keeps the certificate');

  await ip('address', 'del', '192.0.2.10/24', 'dev', 'qxt-nic0');
  await ip('address', 'add', '192.0.2.11/24', 'dev', 'qxt-nic0');
  const moved = await inNamespace();
  assert.deepEqual(moved.names.ips, ['127.0.0.1', '192.0.2.11', '203.0.113.5']);
  assert.equal(await cert.refreshGenerated(moved.names), true, 'a changed management address regenerates');
  assert.notEqual(cert.dto().fingerprint, fingerprint);
  const sans = (new X509Certificate(cert.current.certPem).subjectAltName ?? '').split(', ');
  assert.ok(sans.includes('IP Address:192.0.2.11') && !sans.includes('IP Address:198.51.100.1'), sans.join(', '));
});

// /proc/net/route of an appliance with a management NIC (eno1, default route via 192.168.10.1), a
// storage NIC (eno2, no gateway), and a second default route of higher metric (a backup uplink).
const ROUTES = `Iface	Destination	Gateway 	Flags	RefCnt	Use	Metric	Mask		MTU	Window	IRTT
eno2	0000000A	00000000	0001	0	0	0	0000FFFF	0	0	0
eno3	00000000	0102000A	0003	0	0	600	00000000	0	0	0
eno1	00000000	010AA8C0	0003	0	0	100	00000000	0	0	0
eno1	000AA8C0	00000000	0001	0	0	100	00FFFFFF	0	0	0
`;

test('default route: the interface of the up default route with the lowest metric', () => {
  assert.equal(defaultRouteInterface(ROUTES), 'eno1');
  assert.equal(
    defaultRouteInterface(ROUTES.replace('eno1\t00000000\t010AA8C0\t0003', 'eno1\t00000000\t010AA8C0\t0002')),
    'eno3',
    'a route not up is not taken',
  );
  assert.equal(
    defaultRouteInterface(
      ROUTES.split('\n')
        .filter((l) => !/^eno[13]\t00000000/.test(l))
        .join('\n'),
    ),
    undefined,
  );
  assert.equal(defaultRouteInterface(''), undefined, 'no /proc/net/route');
  const nic = (address: string) => ({
    address,
    family: 'IPv4' as const,
    netmask: '',
    mac: '',
    internal: false,
    cidr: null,
  });
  const interfaces = { eno1: [nic('192.168.10.20')], eno2: [nic('10.0.3.4')], lo: [nic('127.0.0.1')] };
  assert.deepEqual(defaultRouteAddresses(interfaces, ROUTES), ['192.168.10.20']);
  const addresses = ['10.0.3.4', '127.0.0.1', '192.168.10.20'];
  assert.equal(
    primaryManagementAddress(addresses, ['192.168.10.20']),
    '192.168.10.20',
    'not the first: the routed one',
  );
  assert.equal(primaryManagementAddress(addresses, []), '10.0.3.4', 'no default route: the first but loopback');
  assert.equal(primaryManagementAddress(['127.0.0.1'], []), undefined);
});
