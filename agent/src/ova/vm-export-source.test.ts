import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { exportSourceFromDomainXml } from './vm-export-source.js';

const fixture = readFileSync(new URL('../libvirt/xml/fixtures/uefi-all-devices.xml', import.meta.url), 'utf8');
const volumePath = async (pool: string, volume: string) => `/pools/${pool}/${volume}`;

test('a captured UEFI domain: topology, memory, disks in XML order, NIC models as OVF names', async () => {
  const s = await exportSourceFromDomainXml(fixture, volumePath);
  assert.equal(s.firmware, 'efi');
  assert.deepEqual([s.cpus, s.coresPerSocket, s.memoryMib], [4, 2, 512]);
  assert.deepEqual(
    s.nics!.map((n) => n.model),
    ['E1000', 'VmxNet3', 'VirtioNet'],
  );
  assert.ok(s.disks.every((d) => d.format === 'qcow2' || d.format === 'raw'));
});

test('names and descriptions come out unescaped (the OVF builder escapes them once)', async () => {
  const s = await exportSourceFromDomainXml(
    `<domain type='kvm'><name>a&amp;b</name><description>x &lt; y</description><memory unit='KiB'>1048576</memory>
      <vcpu>4</vcpu><cpu><topology sockets='1' cores='2' threads='2'/></cpu><os><type>hvm</type></os>
      <devices><disk type='volume' device='disk'><source pool='p' volume='v'/><target dev='vda'/></disk>
      <interface type='bridge'><source bridge='br0'/><model type='rtl8139'/></interface><interface type='user'/></devices></domain>`,
    volumePath,
  );
  assert.deepEqual(s, {
    name: 'a&b',
    annotation: 'x < y',
    osType: 'other',
    firmware: 'bios',
    cpus: 4,
    coresPerSocket: 4,
    memoryMib: 1024,
    disks: [{ path: '/pools/p/v', format: 'raw' }],
    nics: [
      { model: 'RTL8139', network: 'br0', mac: '' },
      { model: 'E1000', network: 'VM Network', mac: '' },
    ],
  });
});

test('a VM with hotplug ceilings exports what it runs with: 2 of 6 vCPUs, 512 of 1024 MiB', async () => {
  const s = await exportSourceFromDomainXml(
    `<domain type='kvm'><name>grow</name><memory unit='KiB'>1048576</memory><currentMemory unit='KiB'>524288</currentMemory>
      <vcpu current='2'>6</vcpu><cpu><topology sockets='3' cores='2' threads='1'/></cpu><os><type>hvm</type></os>
      <devices><disk type='volume' device='disk'><source pool='p' volume='v'/><target dev='vda'/></disk></devices></domain>`,
    volumePath,
  );
  assert.deepEqual([s.cpus, s.coresPerSocket, s.memoryMib], [2, 2, 512]);
});
