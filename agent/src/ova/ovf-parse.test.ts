import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseOvf } from './ovf-parse.js';
import { unitBytes } from './ovf-units.js';
import { osFamily } from './os-family.js';

const fixture = (name: string) => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const GiB = 2 ** 30;

test('ovftool OVF 1.0: Windows, EFI, SATA + SCSI, gzip + chunked file, NICs, CD-ROM, floppy', () => {
  const d = parseOvf(fixture('ovftool-windows-efi.ovf'));
  assert.deepEqual(d.spec, {
    name: 'win-efi',
    annotation: '',
    osType: 'windows',
    firmware: 'efi',
    cpus: 4,
    coresPerSocket: 2,
    memoryMib: 4096,
    disks: [
      {
        file: 'win-efi-disk1.vmdk',
        capacityBytes: 40 * GiB,
        populatedBytes: 0,
        controller: 'sata',
        address: '0',
        format: 'vmdk',
      },
      {
        file: 'win-efi-disk2.vmdk',
        capacityBytes: GiB,
        populatedBytes: 0,
        controller: 'scsi',
        address: '1',
        format: 'vmdk',
      },
    ],
    nics: [
      { model: 'E1000e', network: 'Office LAN', mac: '' },
      { model: 'VmxNet3', network: 'Backup', mac: '00:50:56:aa:bb:02' },
    ],
    hasCdrom: true,
    hasFloppy: true,
    manifest: 'absent',
    certificatePresent: false,
    warnings: ['floppy drive not imported'],
  });
  assert.deepEqual(
    d.diskFiles.map((f) => [f.href, f.size, f.compression, f.chunkSize]),
    [
      ['win-efi-disk1.vmdk', 1234, '', 0],
      ['win-efi-disk2.vmdk', 0, 'gzip', 1000000],
    ],
  );
});

test('VirtualBox OVF 2.0: name from the VirtualSystem id, StorageItem/EthernetPortItem, MACs and EFI from vbox:Machine', () => {
  const { spec } = parseOvf(fixture('virtualbox-ovf2.ovf'));
  assert.equal(spec.name, 'Ubuntu 22.04');
  assert.equal(spec.osType, 'linux');
  assert.equal(spec.firmware, 'efi');
  assert.equal(spec.cpus, 2);
  assert.equal(spec.memoryMib, 2048);
  assert.deepEqual(
    spec.disks.map((x) => [x.file, x.capacityBytes, x.controller]),
    [
      ['Ubuntu 22.04-disk001.vmdk', 10 * GiB, 'sata'],
      ['Ubuntu 22.04-disk002.vmdk', GiB, 'ide'],
    ],
  );
  assert.deepEqual(spec.nics, [
    { model: 'E1000', network: 'NAT', mac: '08:00:27:a1:b2:c3' },
    { model: 'virtio', network: 'NAT', mac: '08:00:27:00:00:02' },
  ]);
  assert.equal(spec.hasCdrom, true);
  assert.deepEqual(spec.warnings, []);
});

test('XXE and entity bombs are refused before parsing; /etc/passwd never appears', () => {
  assert.throws(
    () => parseOvf(fixture('xxe.ovf')),
    (err: Error) => {
      assert.match(err.message, /DTD \(<!DOCTYPE>\) is not allowed/);
      assert.ok(!err.message.includes('root:x:0:0'));
      return true;
    },
  );
  const bomb = '<?xml version="1.0"?>\n<!ENTITY a "aaaa"><Envelope/>';
  assert.throws(() => parseOvf(bomb), /entity declarations are not allowed/);
});

test('predefined XML entities in names and networks read as the characters they stand for', () => {
  const { spec } = parseOvf(
    fixture('ovftool-windows-efi.ovf')
      .replace('<Name>win-efi</Name>', '<Name>R&amp;D &lt;win&gt;</Name>')
      .replace(
        '<rasd:Connection>Office LAN</rasd:Connection>',
        '<rasd:Connection>Office &quot;LAN&quot;</rasd:Connection>',
      ),
  );
  assert.equal(spec.name, 'R&D <win>');
  assert.equal(spec.nics[0]!.network, 'Office "LAN"');
});

test('malformed, oversized and out-of-range descriptors name the field', () => {
  const base = fixture('ovftool-windows-efi.ovf');
  assert.throws(() => parseOvf('<Envelope><VirtualSystem'), /OVF descriptor: /);
  assert.throws(() => parseOvf('x'.repeat(5 * 1024 * 1024)), /larger than/);
  assert.throws(() => parseOvf('<Other/>'), /no Envelope element/);
  assert.throws(
    () =>
      parseOvf(
        base.replace(
          '<rasd:VirtualQuantity>4</rasd:VirtualQuantity>',
          '<rasd:VirtualQuantity>-4</rasd:VirtualQuantity>',
        ),
      ),
    /CPU VirtualQuantity -4 is out of range/,
  );
  assert.throws(
    () => parseOvf(base.replace('byte * 2^30</rasd:AllocationUnits>', 'furlongs</rasd:AllocationUnits>')),
    /unknown allocation units "furlongs"/,
  );
  assert.throws(
    () => parseOvf(base.replace('ovf:capacity="40"', 'ovf:capacity="99999999999"')),
    /capacity .* is absurdly large/,
  );
  assert.throws(
    () => parseOvf(base.replace('ovf:href="win-efi-disk1.vmdk"', 'ovf:href="../../etc/passwd"')),
    /leaves the OVA/,
  );
  const deep = `<Envelope>${'<a>'.repeat(200)}${'</a>'.repeat(200)}</Envelope>`;
  assert.throws(() => parseOvf(deep), /OVF descriptor/);
  assert.throws(
    () =>
      parseOvf(
        base
          .replace(
            '<VirtualSystem ovf:id="win-efi">',
            '<VirtualSystemCollection ovf:id="c"><VirtualSystem ovf:id="win-efi">',
          )
          .replace('</VirtualSystem>', '</VirtualSystem></VirtualSystemCollection>'),
      ),
    /VirtualSystemCollection/,
  );
});

test('allocation units: programmatic and named', () => {
  assert.equal(unitBytes('byte * 2^20'), 2 ** 20);
  assert.equal(unitBytes('byte*2^30'), 2 ** 30);
  assert.equal(unitBytes('byte * 10^6'), 1e6);
  assert.equal(unitBytes('byte * 1024'), 1024);
  assert.equal(unitBytes('MegaBytes'), 2 ** 20);
  assert.equal(unitBytes('MB'), 2 ** 20);
  assert.equal(unitBytes('GB'), 2 ** 30);
  assert.equal(unitBytes('KiloBytes'), 1024);
  assert.equal(unitBytes(''), 1);
  assert.equal(unitBytes('hertz * 10^6'), undefined);
});

test("OS family from CIM id, then the tool's os type string", () => {
  assert.equal(osFamily(105, undefined), 'windows');
  assert.equal(osFamily(120, undefined), 'windows');
  assert.equal(osFamily(96, undefined), 'linux');
  assert.equal(osFamily(78, undefined), 'bsd');
  assert.equal(osFamily(1, 'windows2019srv_64Guest'), 'windows');
  assert.equal(osFamily(102, 'centos8_64Guest'), 'linux');
  assert.equal(osFamily(undefined, 'Ubuntu_64'), 'linux');
  assert.equal(osFamily(1, 'Other'), 'other');
});
