// The snapshot design of a running VM's full backup (#24), its pure parts: the snapshot's arguments,
// and the definition given its files back, from a dumpxml captured on libvirt 9.0 of a VM shut off
// on its overlays. Against real libvirt and a guest: test/guest-boot/backup-snapshot.guest.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { readDomainXml, type DomainDisk } from '../libvirt/xml/domain-parse.js';
import { restoreDiskSources, snapshotArgs } from './backup-snapshot.js';

const disk = (dev: string, file: string): DomainDisk => ({
  device: 'disk',
  dev,
  bus: 'virtio',
  source: { file },
  format: 'qcow2',
  readonly: false,
});

test('snapshotArgs: an overlay per disk in the backup dir beside it, none for a CD-ROM, commas escaped', () => {
  assert.deepEqual(snapshotArgs('u', [disk('vda', '/p/a.qcow2'), disk('vdb', '/p,q/b.qcow2')], ['sda'], 'B1'), [
    'snapshot-create-as',
    'u',
    '--disk-only',
    '--no-metadata',
    '--atomic',
    '--diskspec',
    'vda,snapshot=external,file=/p/.qx-backup-B1/vda.overlay.qcow2',
    '--diskspec',
    'vdb,snapshot=external,file=/p,,q/.qx-backup-B1/vdb.overlay.qcow2',
    '--diskspec',
    'sda,snapshot=no',
  ]);
});

test('restoreDiskSources: each overlay replaced by its base, its backingStore dropped, the rest kept', async () => {
  const xml = await readFile(new URL('fixtures/domain-on-overlays.xml', import.meta.url), 'utf8');
  const out = restoreDiskSources(
    xml,
    new Map([
      ['/tmp/qxexp/.qx-backup-x/vda.overlay.qcow2', '/tmp/qxexp/a.qcow2'],
      ['/tmp/qxexp/.qx-backup-x/vdb.overlay.qcow2', '/tmp/qxexp/b.qcow2'],
    ]),
  );
  const before = readDomainXml(xml);
  const after = readDomainXml(out);
  assert.deepEqual(
    after.disks.map((d) => [d.dev, d.device, d.source.file]),
    [
      ['vda', 'disk', '/tmp/qxexp/a.qcow2'],
      ['vdb', 'disk', '/tmp/qxexp/b.qcow2'],
      ['sda', 'cdrom', undefined],
    ],
  );
  assert.doesNotMatch(out, /backingStore/);
  assert.deepEqual({ ...after, disks: [] }, { ...before, disks: [] });
  assert.equal(out.match(/<address /g)?.length, xml.match(/<address /g)?.length);
});
