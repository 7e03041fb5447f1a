// Header probe against images made by the real qemu-img (and the test guest's ISO).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../exec/run.js';
import { probeFile, parseHeader } from './volume-probe.js';

const fixtureUrl = new URL('../../../test/guest/fixture.ts', import.meta.url).href;
const { testGuest } = (await import(fixtureUrl)) as { testGuest: { iso: string; qcow2: string } };

test('probeFile recognises qcow2 (size, backing file, data file), vmdk, ISO9660 and raw', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-st-probe-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const img = (name: string) => join(dir, name);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', img('plain.qcow2'), '64M']);
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', img('backed.qcow2'), '1M']);
  await run('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    '-o',
    `data_file=${img('data.raw')}`,
    img('datafile.qcow2'),
    '1M',
  ]);
  await run('qemu-img', ['create', '-q', '-f', 'vmdk', img('disk.vmdk'), '1M']);
  await run('qemu-img', ['create', '-q', '-f', 'raw', img('disk.raw'), '1M']);

  assert.deepEqual(await probeFile(img('plain.qcow2')), {
    format: 'qcow2',
    virtualSize: 64 * 1024 * 1024,
    externalDataFile: false,
  });
  assert.equal((await probeFile(img('backed.qcow2'))).backingFile, '/etc/passwd');
  assert.equal((await probeFile(img('datafile.qcow2'))).externalDataFile, true);
  assert.equal((await probeFile(img('disk.vmdk'))).format, 'vmdk');
  assert.equal((await probeFile(img('disk.raw'))).format, 'raw');
  assert.equal((await probeFile(testGuest.iso)).format, 'iso');
  assert.equal((await probeFile(testGuest.qcow2)).format, 'qcow2');

  await writeFile(img('descriptor.vmdk'), '# Disk DescriptorFile\nRW 8 FLAT "/etc/passwd" 0\n');
  assert.equal((await probeFile(img('descriptor.vmdk'))).format, 'vmdk');
  await symlink('/etc/passwd', img('link'));
  await assert.rejects(probeFile(img('link')), /ELOOP/);
});

test('parseHeader copes with short and hostile headers', async () => {
  const none = async () => Buffer.alloc(0);
  assert.deepEqual(await parseHeader(Buffer.alloc(0), none), { format: 'raw' });
  const qcow2 = Buffer.alloc(104);
  Buffer.from([0x51, 0x46, 0x49, 0xfb]).copy(qcow2, 0);
  qcow2.writeUInt32BE(3, 4);
  qcow2.writeBigUInt64BE(2n ** 62n, 8); // backing name "somewhere" far away
  qcow2.writeUInt32BE(0xffffffff, 16);
  let asked = 0;
  const probe = await parseHeader(qcow2, async (_o, len) => {
    asked = len;
    return Buffer.from('x');
  });
  assert.equal(probe.backingFile, 'x');
  assert.ok(asked <= 1023, 'backing name reads are bounded');
});
