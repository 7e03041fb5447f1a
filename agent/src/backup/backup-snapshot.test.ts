// The snapshot design of a running VM's full backup (#24), its pure parts: the snapshot's arguments,
// and the definition given its files back, from a dumpxml captured on libvirt 9.0 of a VM shut off
// on its overlays. Against real libvirt and a guest: test/guest-boot/backup-snapshot.guest.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readDomainXml, type DomainDisk } from '../libvirt/xml/domain-parse.js';
import { processStart } from '../exec/process-identity.js';
import { OWNER_FILE, restoreDiskSources, runningOwner, snapshotArgs } from './backup-snapshot.js';

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

test('runningOwner: overlays of a live other process are its; of this process, a dead one or nobody, not', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'qxt-owner-'));
  const child = spawn('sleep', ['60']);
  t.after(async () => {
    child.kill('SIGKILL');
    await rm(root, { recursive: true, force: true });
  });
  const dirOf = async (name: string, owner?: { pid: number; start: string | undefined }) => {
    const dir = join(root, name);
    await mkdir(dir);
    if (owner) await writeFile(join(dir, OWNER_FILE), JSON.stringify(owner));
    return dir;
  };
  const pid = child.pid!;
  const live = await dirOf('live', { pid, start: await processStart(pid) });
  const own = await dirOf('own', { pid: process.pid, start: await processStart(process.pid) });
  const reused = await dirOf('reused', { pid, start: '1' });
  const nobody = await dirOf('nobody');
  const cut = await dirOf('cut');
  await writeFile(join(cut, OWNER_FILE), `{"pid": ${pid}, "st`);
  assert.equal(await runningOwner([own, reused, nobody, cut]), undefined);
  assert.equal(await runningOwner([nobody, live]), pid);
  child.kill('SIGKILL');
  await new Promise((r) => child.once('exit', r));
  assert.equal(await runningOwner([live]), undefined, 'its process is gone');
});
