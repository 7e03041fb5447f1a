// ImageService over the real agent (mTLS, libvirt): ImportOva into a libvirt dir pool with
// progress and a suggested VmSpec, a hostile OVA refused with nothing left in the pool,
// ExportOva of a defined VM that re-imports to identical disk contents, and ExportOva of disks a
// guest rewrote to point at a host file (read as the VM uses them, or refused).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdtemp, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes, randomUUID } from 'node:crypto';
import { finished } from 'node:stream/promises';
import { status } from '@grpc/grpc-js';
import { XMLBuilder } from 'fast-xml-parser';
import { DiskBus, Firmware, NicModel } from '@quantix/proto/v1/vm.js';
import { startTestAgent, type TestAgent } from '../../agent/src/test-support/agent-harness.js';
import { hostDomainType } from '../../agent/src/libvirt/domain-type.js';
import { exportOva } from '../../agent/src/ova/ova-export.js';
import { importOva } from '../../agent/src/ova/ova-import.js';
import { assertGuestBuilt, testGuest } from '../guest/fixture.js';
import { buildTar } from './tar-build.js';
import { importOvaFile, exportOvaToFile } from './import-client.js';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));
const id = randomBytes(3).toString('hex');
const pool = `qxt-ova-pool-${id}`;
const vm = `qxt-ova-vm-${id}`;
const forgedVm = `qxt-ova-forged-${id}`;
const forgedUuid = randomUUID();
let agent: TestAgent;
let work = '';
let poolDir = '';
let ova = '';

const virsh = (...args: string[]) => exec('virsh', ['-q', '-c', 'qemu:///system', ...args]);

before(async () => {
  assertGuestBuilt();
  work = await mkdtemp(join(root, 'test/output/qxt-ova-grpc-'));
  poolDir = join(work, 'pool');
  await exec('mkdir', ['-p', poolDir]);
  await virsh('pool-define-as', pool, 'dir', '--target', poolDir);
  await virsh('pool-start', pool);
  ova = join(work, 'guest.ova');
  const out = createWriteStream(ova);
  await exportOva(
    {
      name: 'Guest From VMware',
      cpus: 2,
      coresPerSocket: 1,
      memoryMib: 128,
      osType: 'windows',
      firmware: 'bios',
      disks: [{ path: testGuest.qcow2, format: 'qcow2' }],
      nics: [{ model: 'VmxNet3', network: 'VM Network', mac: '' }],
    },
    out,
    { workDir: work },
  );
  out.end();
  await finished(out);
  agent = await startTestAgent();
});

after(async () => {
  await agent?.stop();
  await virsh('undefine', vm).catch(() => undefined);
  await virsh('undefine', forgedVm).catch(() => undefined);
  await virsh('pool-destroy', pool).catch(() => undefined);
  await virsh('pool-undefine', pool).catch(() => undefined);
  await rm(work, { recursive: true, force: true });
});

test('ImportOva streams an OVA into a pool: progress, volumes, suggested VmSpec', async () => {
  const { progress, result } = await importOvaFile(agent.clients.image, ova, { pool, name: '', sizeBytes: 0 });
  const phases = [...new Set(progress.map((p) => p.phase))];
  // Its streamOptimized VMDK is decoded into the qcow2 while it arrives: no conversion pass after.
  assert.deepEqual(phases, ['receiving', 'verifying', 'done']);
  assert.ok(progress.filter((p) => p.phase === 'receiving').at(-1)!.bytesDone > 0);
  assert.equal(result.spec?.name, 'Guest From VMware');
  assert.equal(result.spec?.manifest, 'verified');
  assert.equal(result.volumes.length, 1);
  const vol = result.volumes[0]!;
  assert.equal(vol.pool, pool);
  assert.equal(vol.name, 'Guest-From-VMware-disk0.qcow2');
  assert.equal(vol.path, join(poolDir, vol.name));
  await exec('qemu-img', ['compare', testGuest.qcow2, vol.path]);
  assert.match((await virsh('vol-list', pool)).stdout, /Guest-From-VMware-disk0\.qcow2/);
  const spec = result.suggestedSpec!;
  assert.equal(spec.name, 'Guest-From-VMware');
  assert.equal(spec.sockets * spec.cores, 2);
  assert.equal(spec.memoryMib, 128);
  assert.equal(spec.firmware, Firmware.FIRMWARE_BIOS);
  assert.equal(spec.osType, 'windows');
  assert.deepEqual(spec.disks, [{ pool, volume: vol.name, bus: DiskBus.DISK_BUS_SATA, readonly: false }]);
  assert.equal(spec.nics[0]?.model, NicModel.NIC_MODEL_VMXNET3);
  // The disk and the agent's record that it wrote it as qcow2 (storage/volume-formats.ts).
  assert.deepEqual((await readdir(poolDir)).sort(), ['.qx-volume-formats.json', vol.name].sort());
  assert.deepEqual(JSON.parse(await readFile(join(poolDir, '.qx-volume-formats.json'), 'utf8')).volumes, {
    [vol.name]: { format: 'qcow2' },
  });

  const again = importOvaFile(agent.clients.image, ova, { pool, name: '', sizeBytes: 0 });
  await assert.rejects(
    again,
    (err: { code: number; details: string }) =>
      err.code === status.ALREADY_EXISTS && /already exists/.test(err.details),
  );
  assert.deepEqual((await readdir(poolDir)).sort(), ['.qx-volume-formats.json', vol.name].sort());
});

test('ImportOva refuses a hostile OVA and leaves nothing in the pool; bad headers are named', async () => {
  const evil = join(work, 'evil.ova');
  await writeFile(
    evil,
    buildTar([
      { name: '../../etc/cron.d/x', data: Buffer.from('boom') },
      { name: 'a.ovf', data: Buffer.from('<Envelope/>') },
    ]),
  );
  const before = await readdir(poolDir);
  await assert.rejects(
    importOvaFile(agent.clients.image, evil, { pool, name: 'evil', sizeBytes: 0 }),
    (err: { code: number; details: string }) => {
      assert.equal(err.code, status.INVALID_ARGUMENT);
      assert.match(err.details, /path traversal/);
      return true;
    },
  );
  assert.deepEqual(await readdir(poolDir), before);
  await assert.rejects(
    importOvaFile(agent.clients.image, ova, { pool: '../x', name: '', sizeBytes: 0 }),
    (err: { code: number; details: string }) =>
      err.code === status.INVALID_ARGUMENT && /header\.pool/.test(err.details),
  );
  await assert.rejects(
    importOvaFile(agent.clients.image, ova, { pool: `qxt-ova-missing-${id}`, name: '', sizeBytes: 0 }),
    (err: { code: number }) => err.code === status.NOT_FOUND,
  );
  await assert.rejects(
    importOvaFile(agent.clients.image, ova, { pool, name: 'small', sizeBytes: 1000 }),
    (err: { details: string }) => /declared 1000 bytes/.test(err.details),
  );
  assert.deepEqual(await readdir(poolDir), before);
});

test('a client that cancels mid-upload leaves no staging behind', async () => {
  const before = await readdir(poolDir);
  const call = agent.clients.image.importOva();
  call.on('error', () => undefined);
  call.write({ msg: { $case: 'header', value: { pool, name: 'cancelled', sizeBytes: 0 } } });
  const head = (await readFile(ova)).subarray(0, 3 * 1024 * 1024);
  call.write({ msg: { $case: 'data', value: head } });
  // Bounded waits on what the pool holds: the agent's cleanup after a cancel ends the sandboxed
  // converter first, which took longer than the 5 s once allowed in a fresh-clone run at load 20.
  const settle = async (done: (names: string[]) => boolean) => {
    for (const by = Date.now() + 60_000; Date.now() < by && !done(await readdir(poolDir));)
      await new Promise((r) => setTimeout(r, 50));
  };
  await settle((names) => names.length !== before.length);
  assert.ok(
    (await readdir(poolDir)).some((f) => f.startsWith('.qx-ova-staging-')),
    'staging exists while receiving',
  );
  call.cancel();
  await settle((names) => names.length === before.length);
  assert.deepEqual(await readdir(poolDir), before);
});

test('ExportOva of a defined VM re-imports to the same specs and identical disks', async () => {
  const disk = join(poolDir, 'Guest-From-VMware-disk0.qcow2');
  const xml = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@' }).build({
    domain: {
      '@type': hostDomainType(),
      name: vm,
      memory: { '@unit': 'MiB', '#text': 256 },
      vcpu: 4,
      cpu: { topology: { '@sockets': 2, '@cores': 2, '@threads': 1 } },
      os: { type: { '@arch': 'x86_64', '#text': 'hvm' } },
      devices: {
        disk: {
          '@type': 'file',
          '@device': 'disk',
          driver: { '@name': 'qemu', '@type': 'qcow2' },
          source: { '@file': disk },
          target: { '@dev': 'sda', '@bus': 'sata' },
        },
        interface: {
          '@type': 'network',
          mac: { '@address': '52:54:00:0a:0b:0c' },
          source: { '@network': 'default' },
          model: { '@type': 'e1000' },
        },
      },
    },
  }) as string;
  await writeFile(join(work, 'vm.xml'), xml);
  await virsh('define', join(work, 'vm.xml'));
  const exported = join(work, 'exported.ova');
  await exportOvaToFile(agent.clients.image, vm, exported);
  const dest = join(work, 'reimport');
  const back = await importOva({ source: (await import('node:fs')).createReadStream(exported), destDir: dest });
  assert.equal(back.spec.name, vm);
  assert.equal(back.spec.cpus, 4);
  assert.equal(back.spec.coresPerSocket, 2);
  assert.equal(back.spec.memoryMib, 256);
  assert.equal(back.spec.firmware, 'bios');
  assert.equal(back.spec.manifest, 'verified');
  assert.deepEqual(back.spec.nics, [{ model: 'E1000', network: 'default', mac: '52:54:00:0a:0b:0c' }]);
  await exec('qemu-img', ['compare', testGuest.qcow2, back.outputs[0]!]);
  await assert.rejects(
    exportOvaToFile(agent.clients.image, `qxt-ova-novm-${id}`, join(work, 'none.ova')),
    (err: { code: number }) => err.code === status.NOT_FOUND,
  );
});

function diskVmXml(name: string, file: string, format: string): string {
  return new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@' }).build({
    domain: {
      '@type': hostDomainType(),
      name,
      uuid: forgedUuid,
      memory: { '@unit': 'MiB', '#text': 64 },
      vcpu: 1,
      os: { type: { '@arch': 'x86_64', '#text': 'hvm' } },
      devices: {
        disk: {
          '@type': 'file',
          '@device': 'disk',
          driver: { '@name': 'qemu', '@type': format },
          source: { '@file': file },
          target: { '@dev': 'vda', '@bus': 'virtio' },
        },
      },
    },
  }) as string;
}

test('ExportOva never reads a host file through a disk a guest rewrote: raw stays raw, an outside backing file is refused', async () => {
  const SECRET = 'QXT-OVA-EXPORT-SECRET-3b9d';
  const outside = await mkdtemp(join(work, 'host-'));
  const secret = join(outside, 'quantix.db.json');
  await writeFile(secret, SECRET.repeat(65536));
  const header = join(outside, 'header.qcow2');
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', secret, '-F', 'raw', header, '4M']);

  // The VM's raw disk, its first bytes rewritten by the guest into a qcow2 header backed by the host file.
  const forged = join(poolDir, 'forged.raw');
  await exec('qemu-img', ['create', '-q', '-f', 'raw', forged, '4M']);
  const fh = await open(forged, 'r+');
  await fh.write(await readFile(header), 0);
  await fh.close();
  assert.ok(!(await readFile(forged)).includes(SECRET));
  await writeFile(join(work, 'forged.xml'), diskVmXml(forgedVm, forged, 'raw'));
  await virsh('define', join(work, 'forged.xml'));
  const exported = join(work, 'forged.ova');
  await exportOvaToFile(agent.clients.image, forgedVm, exported);
  const back = await importOva({
    source: (await import('node:fs')).createReadStream(exported),
    destDir: join(work, 'forged-back'),
  });
  await exec('qemu-img', ['compare', '-f', 'raw', '-F', 'qcow2', forged, back.outputs[0]!]);
  const backRaw = join(work, 'forged-back.raw');
  await exec('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', back.outputs[0]!, backRaw]);
  assert.ok(!(await readFile(backRaw)).includes(SECRET), 'the host file is not in the exported disk');

  // A disk the VM does use as qcow2, backed by a file outside its directory: refused, named.
  const backed = join(poolDir, 'backed.qcow2');
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-u', '-b', secret, '-F', 'raw', backed, '4M']);
  await writeFile(join(work, 'forged.xml'), diskVmXml(forgedVm, backed, 'qcow2'));
  await virsh('define', join(work, 'forged.xml'));
  await assert.rejects(
    exportOvaToFile(agent.clients.image, forgedVm, join(work, 'backed.ova')),
    (err: { code: number; details: string }) => {
      assert.equal(err.code, status.FAILED_PRECONDITION);
      assert.ok(err.details.includes(secret), err.details);
      assert.ok(!err.details.includes(SECRET));
      return true;
    },
  );
});
