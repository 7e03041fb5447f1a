// StorageService end to end over mTLS: a real loop pool (losetup, ext4, mount, libvirt pool),
// volumes created/resized/cloned/deleted, uploads (guest qcow2, ISO, a hostile qcow2),
// download, the test guest booted from a pool volume with an ISO-library CD-ROM, online growth.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { status, type ServiceError } from '@grpc/grpc-js';
import { XMLBuilder } from 'fast-xml-parser';
import type { WatchEvent } from '@quantix/proto/v1/host.js';
import { PoolKind, PoolState, VolumeFormat } from '@quantix/proto/v1/storage.js';
import { run } from '../exec/run.js';
import { hostDomainType } from '../libvirt/domain-type.js';
import { Virsh } from '../libvirt/virsh.js';
import { startTestAgent } from '../test-support/agent-harness.js';
import { promisify } from '../test-support/promisify.js';
import { spaceFigures } from './filesystem.js';
import { libvirtPoolNames } from './libvirt-pool.js';
import { loopList } from './loop-device.js';
import { readMounts } from './mounts.js';
import { downloadDigest, uploadChunks, uploadFile } from './test-support/transfer-client.js';

// Loaded by URL: test/ lies outside the agent's TypeScript root.
const fixtureUrl = new URL('../../../test/guest/fixture.ts', import.meta.url).href;
const { testGuest, assertGuestBuilt } = (await import(fixtureUrl)) as {
  testGuest: { qcow2: string; iso: string; banner: string; memoryMib: number };
  assertGuestBuilt(): void;
};

const MIB = 1024 * 1024;
const virsh = new Virsh('qemu:///system');

const code = (c: status, re?: RegExp) => (e: ServiceError) => e.code === c && (!re || re.test(e.details));

async function sha256(path: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(path))
    .digest('hex');
}

function domainXml(name: string, pool: string, disk: string, iso: string, log: string): string {
  const b = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: true });
  return b.build({
    domain: {
      '@_type': hostDomainType(),
      name,
      memory: { '@_unit': 'MiB', '#text': testGuest.memoryMib },
      vcpu: 1,
      os: { type: { '@_arch': 'x86_64', '#text': 'hvm' }, boot: { '@_dev': 'hd' } },
      features: { acpi: '' },
      devices: {
        disk: [
          {
            '@_type': 'volume',
            '@_device': 'disk',
            driver: { '@_name': 'qemu', '@_type': 'qcow2' },
            source: { '@_pool': pool, '@_volume': disk },
            target: { '@_dev': 'hda', '@_bus': 'ide' },
          },
          {
            '@_type': 'volume',
            '@_device': 'cdrom',
            driver: { '@_name': 'qemu', '@_type': 'raw' },
            source: { '@_pool': pool, '@_volume': iso },
            target: { '@_dev': 'hdc', '@_bus': 'ide' },
            readonly: '',
          },
        ],
        serial: { '@_type': 'pty', log: { '@_file': log, '@_append': 'off' }, target: { '@_port': 0 } },
        console: { '@_type': 'pty' },
      },
    },
  }) as string;
}

test('loop pool: volumes, uploads, download, a VM disk and an ISO CD-ROM, online growth', async (t) => {
  assertGuestBuilt();
  const agent = await startTestAgent();
  const work = await mkdtemp(join(tmpdir(), 'qxt-st-work-'));
  const s = agent.clients.storage;
  const call = {
    createPool: promisify(s, s.createPool),
    listPools: promisify(s, s.listPools),
    getPool: promisify(s, s.getPool),
    growPool: promisify(s, s.growPool),
    stopPool: promisify(s, s.stopPool),
    startPool: promisify(s, s.startPool),
    deletePool: promisify(s, s.deletePool),
    createVolume: promisify(s, s.createVolume),
    listVolumes: promisify(s, s.listVolumes),
    getVolume: promisify(s, s.getVolume),
    resizeVolume: promisify(s, s.resizeVolume),
    deleteVolume: promisify(s, s.deleteVolume),
    cloneVolume: promisify(s, s.cloneVolume),
  };
  const poolName = `qxt-st-${process.pid}`;
  const domain = `qxt-st-vm-${process.pid}`;
  t.after(async () => {
    await virsh.exec(['destroy', domain], { timeoutMs: 180_000 }).catch(() => undefined);
    await virsh.exec(['undefine', domain], { timeoutMs: 180_000 }).catch(() => undefined);
    for (const p of await call
      .listPools({})
      .then((r) => r.pools)
      .catch(() => [])) {
      await call.deletePool({ name: p.name, deleteBackingFile: true }).catch(() => undefined);
    }
    const dataDir = agent.dataDir;
    await agent.stop();
    await rm(work, { recursive: true, force: true });
    // Nothing of ours is left: no loop device on our backing files, no mount, no libvirt pool.
    assert.deepEqual(
      (await loopList()).filter((d) => d.backFile.startsWith(dataDir)),
      [],
    );
    assert.deepEqual(
      (await readMounts()).filter((m) => m.mountPoint.startsWith(dataDir)),
      [],
    );
    assert.deepEqual(
      (await libvirtPoolNames(virsh)).filter((n) => n === poolName),
      [],
    );
  });

  // Pool changes reach HostService/Watch subscribers.
  const poolEvents: { name: string; state: PoolState; removed: boolean }[] = [];
  const watch = agent.clients.host.watch({ metricsIntervalMs: 60_000 });
  watch.on('data', (e: WatchEvent) => {
    if (e.event?.$case === 'pool') {
      const { pool: p, removed } = e.event.value;
      poolEvents.push({ name: p?.name ?? '', state: p?.state ?? PoolState.POOL_STATE_UNSPECIFIED, removed });
    }
  });
  watch.on('error', () => undefined);
  t.after(() => watch.cancel());
  await once(watch, 'data');

  // Pool: a sparse file on a loop device, ext4, mounted, a running libvirt pool.
  const pool = await call.createPool({
    name: poolName,
    kind: PoolKind.POOL_KIND_LOOP,
    sizeBytes: 256 * MIB,
    filesystem: 'ext4',
    path: '',
    validateOnly: false,
  });
  assert.equal(pool.state, PoolState.POOL_STATE_ACTIVE);
  assert.match(pool.loopDevice, /^\/dev\/loop\d+$/);
  assert.equal(pool.path, join(agent.dataDir, 'mnt', poolName));
  assert.ok(pool.capacityBytes > 200 * MIB && pool.capacityBytes <= 256 * MIB, `capacity ${pool.capacityBytes}`);
  assert.ok(pool.availableBytes > 0 && pool.availableBytes <= pool.capacityBytes);
  assert.ok((await stat(pool.backingFile)).blocks * 512 < 256 * MIB, 'the backing file is sparse');
  assert.deepEqual(
    (await loopList()).filter((d) => d.backFile === pool.backingFile).map((d) => d.name),
    [pool.loopDevice],
  );
  assert.equal((await readMounts()).find((m) => m.mountPoint === pool.path)?.source, pool.loopDevice);
  assert.match(await virsh.exec(['pool-info', '--pool', poolName]), /State:\s+running/);
  await assert.rejects(
    call.createPool({
      name: poolName,
      kind: PoolKind.POOL_KIND_LOOP,
      sizeBytes: 64 * MIB,
      filesystem: '',
      path: '',
      validateOnly: false,
    }),
    code(status.ALREADY_EXISTS, new RegExp(poolName)),
  );

  await t.test('volumes: create, resize (grow only), clone full and linked, delete', async () => {
    const q = await call.createVolume({
      pool: poolName,
      name: 'disk1.qcow2',
      format: VolumeFormat.VOLUME_FORMAT_QCOW2,
      capacityBytes: 64 * MIB,
    });
    assert.equal(q.format, VolumeFormat.VOLUME_FORMAT_QCOW2);
    assert.equal(q.capacityBytes, 64 * MIB);
    const r = await call.createVolume({
      pool: poolName,
      name: 'disk2.raw',
      format: VolumeFormat.VOLUME_FORMAT_RAW,
      capacityBytes: 32 * MIB,
    });
    assert.equal(r.format, VolumeFormat.VOLUME_FORMAT_RAW);
    assert.equal(r.capacityBytes, 32 * MIB);
    // libvirt sees them (the VM side resolves disks this way).
    assert.equal(
      (await virsh.exec(['vol-path', '--pool', poolName, 'disk1.qcow2'])).trim(),
      join(pool.path, 'disk1.qcow2'),
    );

    await assert.rejects(
      call.createVolume({ pool: poolName, name: 'disk1.qcow2', format: 1, capacityBytes: MIB }),
      code(status.ALREADY_EXISTS),
    );
    await assert.rejects(
      call.createVolume({ pool: poolName, name: '../escape', format: 1, capacityBytes: MIB }),
      code(status.INVALID_ARGUMENT, /^name:/),
    );
    await assert.rejects(
      call.createVolume({ pool: poolName, name: 'zero', format: 1, capacityBytes: 0 }),
      code(status.INVALID_ARGUMENT, /capacity_bytes/),
    );
    await assert.rejects(
      call.createVolume({ pool: poolName, name: 'huge', format: 2, capacityBytes: 10 * 1024 * MIB }),
      code(status.RESOURCE_EXHAUSTED, /capacity_bytes.*pool/),
    );
    await assert.rejects(
      call.createVolume({ pool: 'qxt-st-nope', name: 'x', format: 1, capacityBytes: MIB }),
      code(status.NOT_FOUND, /pool qxt-st-nope/),
    );

    const grown = await call.resizeVolume({ pool: poolName, name: 'disk1.qcow2', capacityBytes: 96 * MIB });
    assert.equal(grown.capacityBytes, 96 * MIB);
    assert.equal(
      (await call.resizeVolume({ pool: poolName, name: 'disk2.raw', capacityBytes: 48 * MIB })).capacityBytes,
      48 * MIB,
    );
    await assert.rejects(
      call.resizeVolume({ pool: poolName, name: 'disk1.qcow2', capacityBytes: 32 * MIB }),
      code(status.INVALID_ARGUMENT, /never shrink/),
    );

    const full = await call.cloneVolume({
      pool: poolName,
      name: 'disk1.qcow2',
      targetName: 'full.qcow2',
      targetPool: '',
      linked: false,
    });
    assert.equal(full.format, VolumeFormat.VOLUME_FORMAT_QCOW2);
    assert.equal(full.backingVolume, '');
    assert.equal(full.capacityBytes, 96 * MIB);
    const linked = await call.cloneVolume({
      pool: poolName,
      name: 'disk1.qcow2',
      targetName: 'linked.qcow2',
      targetPool: '',
      linked: true,
    });
    assert.equal(linked.backingVolume, 'disk1.qcow2');
    await assert.rejects(
      call.deleteVolume({ pool: poolName, name: 'disk1.qcow2' }),
      code(status.FAILED_PRECONDITION, new RegExp(`linked clone\\(s\\) ${poolName}/linked\\.qcow2`)),
    );

    const listed = await call.listVolumes({ pool: poolName, format: VolumeFormat.VOLUME_FORMAT_UNSPECIFIED });
    assert.deepEqual(
      listed.volumes.map((v) => v.name),
      ['disk1.qcow2', 'disk2.raw', 'full.qcow2', 'linked.qcow2'],
    );
    for (const name of ['linked.qcow2', 'disk1.qcow2', 'full.qcow2', 'disk2.raw'])
      await call.deleteVolume({ pool: poolName, name });
    await assert.rejects(call.getVolume({ pool: poolName, name: 'disk1.qcow2' }), code(status.NOT_FOUND));
    assert.equal((await call.getPool({ name: poolName })).volumeCount, 0);
  });

  await t.test('uploads: sniffed, capped, hostile images refused with nothing written', async () => {
    const evil = join(work, 'evil.qcow2');
    await run('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', '/etc/passwd', '-F', 'raw', evil, '1M']);
    const evilSize = (await stat(evil)).size;
    const paddedEvil = Buffer.concat([await readFile(evil), Buffer.alloc((512 - (evilSize % 512)) % 512)]);
    await assert.rejects(
      uploadChunks(
        s,
        { pool: poolName, name: 'evil.qcow2', format: VolumeFormat.VOLUME_FORMAT_QCOW2, sizeBytes: paddedEvil.length },
        [paddedEvil],
      ),
      code(status.INVALID_ARGUMENT, /backing file \("\/etc\/passwd"\)/),
    );
    // The same bytes declared as raw: a mismatch, refused too.
    await assert.rejects(
      uploadChunks(
        s,
        { pool: poolName, name: 'evil.raw', format: VolumeFormat.VOLUME_FORMAT_RAW, sizeBytes: paddedEvil.length },
        [paddedEvil],
      ),
      code(status.INVALID_ARGUMENT, /it is qcow2, the upload says raw/),
    );
    // More than declared, and a declared size beyond the pool's free space.
    await assert.rejects(
      uploadChunks(s, { pool: poolName, name: 'big.raw', format: VolumeFormat.VOLUME_FORMAT_RAW, sizeBytes: MIB }, [
        Buffer.alloc(MIB),
        Buffer.alloc(512),
      ]),
      code(status.INVALID_ARGUMENT, /more data arrived than the declared/),
    );
    await assert.rejects(
      uploadChunks(
        s,
        { pool: poolName, name: 'big.raw', format: VolumeFormat.VOLUME_FORMAT_RAW, sizeBytes: 1024 * 1024 * MIB },
        [],
      ),
      code(status.RESOURCE_EXHAUSTED, /header\.size_bytes/),
    );
    // A client that gives up half-way: the temp file goes away.
    const partial = s.uploadVolume(() => undefined);
    partial.on('error', () => undefined);
    partial.write({
      msg: {
        $case: 'header',
        value: { pool: poolName, name: 'cancelled.raw', format: VolumeFormat.VOLUME_FORMAT_RAW, sizeBytes: 8 * MIB },
      },
    });
    partial.write({ msg: { $case: 'data', value: Buffer.alloc(MIB, 1) } });
    for (let i = 0; i < 50 && !(await readdir(pool.path)).some((f) => f.startsWith('.qx-upload-')); i++)
      await sleep(100);
    assert.ok(
      (await readdir(pool.path)).some((f) => f.startsWith('.qx-upload-')),
      'the upload started',
    );
    partial.cancel();
    for (let i = 0; i < 50 && (await readdir(pool.path)).length > 1; i++) await sleep(100);
    assert.deepEqual(await readdir(pool.path), ['lost+found'], 'nothing written, no temp file left');

    const guest = await uploadFile(
      s,
      {
        pool: poolName,
        name: 'guest.qcow2',
        format: VolumeFormat.VOLUME_FORMAT_QCOW2,
        sizeBytes: (await stat(testGuest.qcow2)).size,
      },
      testGuest.qcow2,
    );
    assert.equal(guest.format, VolumeFormat.VOLUME_FORMAT_QCOW2);
    const iso = await uploadFile(
      s,
      {
        pool: poolName,
        name: 'guest.iso',
        format: VolumeFormat.VOLUME_FORMAT_ISO,
        sizeBytes: (await stat(testGuest.iso)).size,
      },
      testGuest.iso,
    );
    assert.equal(iso.format, VolumeFormat.VOLUME_FORMAT_ISO);
    await assert.rejects(
      uploadFile(
        s,
        {
          pool: poolName,
          name: 'not-an.iso',
          format: VolumeFormat.VOLUME_FORMAT_ISO,
          sizeBytes: (await stat(testGuest.qcow2)).size,
        },
        testGuest.qcow2,
      ),
      code(status.INVALID_ARGUMENT, /it is qcow2, the upload says iso/),
    );
    // The ISO library: ISO volumes across every active pool.
    const library = await call.listVolumes({ pool: '', format: VolumeFormat.VOLUME_FORMAT_ISO });
    assert.deepEqual(
      library.volumes.filter((v) => v.pool === poolName).map((v) => v.name),
      ['guest.iso'],
    );

    const down = await downloadDigest(s, poolName, 'guest.qcow2');
    assert.equal(down.bytes, (await stat(testGuest.qcow2)).size);
    assert.equal(down.sha256, await sha256(testGuest.qcow2));
    // The volumes and the agent's record of what it wrote them as (the declared, checked formats).
    assert.deepEqual((await readdir(pool.path)).sort(), [
      '.qx-volume-formats.json',
      'guest.iso',
      'guest.qcow2',
      'lost+found',
    ]);
    assert.deepEqual(JSON.parse(await readFile(join(pool.path, '.qx-volume-formats.json'), 'utf8')).volumes, {
      'guest.qcow2': { format: 'qcow2' },
      'guest.iso': { format: 'iso' },
    });
  });

  await t.test('the test guest boots from a pool volume; a used volume and its pool cannot be deleted', async () => {
    const log = join(work, 'console.log');
    const xmlFile = join(work, 'domain.xml');
    await writeFile(xmlFile, domainXml(domain, poolName, 'guest.qcow2', 'guest.iso', log));
    await virsh.exec(['define', '--file', xmlFile], { timeoutMs: 180_000 });
    await virsh.exec(['start', domain], { timeoutMs: 180_000 });
    let text = '';
    for (let i = 0; i < 240 && !text.includes(testGuest.banner); i++) {
      await sleep(500);
      text = existsSync(log) ? await readFile(log, 'utf8') : '';
    }
    assert.ok(text.includes(testGuest.banner), `guest banner in the serial log; got: ${text.slice(-400)}`);

    const used = await call.getVolume({ pool: poolName, name: 'guest.qcow2' });
    assert.deepEqual(used.usedBy, [domain]);
    assert.deepEqual((await call.getVolume({ pool: poolName, name: 'guest.iso' })).usedBy, [domain]);
    await assert.rejects(
      call.deleteVolume({ pool: poolName, name: 'guest.qcow2' }),
      code(status.FAILED_PRECONDITION, new RegExp(`used by VM\\(s\\) ${domain}`)),
    );
    await assert.rejects(
      call.resizeVolume({ pool: poolName, name: 'guest.qcow2', capacityBytes: 64 * MIB }),
      code(status.FAILED_PRECONDITION, /running VM/),
    );
    await assert.rejects(call.stopPool({ name: poolName }), code(status.FAILED_PRECONDITION, /running VM/));
    await virsh.exec(['destroy', domain], { timeoutMs: 180_000 });
    // Shut off but still defined: deleting is still refused.
    await assert.rejects(
      call.deletePool({ name: poolName, deleteBackingFile: true }),
      code(status.FAILED_PRECONDITION, new RegExp(domain)),
    );
    await virsh.exec(['undefine', domain], { timeoutMs: 180_000 });
    await call.deleteVolume({ pool: poolName, name: 'guest.qcow2' });
  });

  await t.test('grow while mounted: the filesystem grows (ext4 and xfs); shrinking is refused', async () => {
    const mountId = async (path: string) => (await readMounts()).find((m) => m.mountPoint === path)?.id;
    const before = await spaceFigures(pool.path);
    const grown = await call.growPool({ name: poolName, sizeBytes: 384 * MIB });
    assert.equal(grown.state, PoolState.POOL_STATE_ACTIVE);
    assert.equal((await stat(pool.backingFile)).size, 384 * MIB);
    const after = await spaceFigures(pool.path);
    assert.ok(
      after.capacityBytes > before.capacityBytes + 100 * MIB,
      `${before.capacityBytes} → ${after.capacityBytes}`,
    );
    assert.equal(grown.capacityBytes, after.capacityBytes);
    await assert.rejects(
      call.growPool({ name: poolName, sizeBytes: 128 * MIB }),
      code(status.INVALID_ARGUMENT, /never shrink/),
    );
    assert.deepEqual(
      (await call.listVolumes({ pool: poolName, format: 0 })).volumes.map((v) => v.name),
      ['guest.iso'],
    );

    // xfs grows online even without CAP_SYS_RESOURCE: the mount stays the same one.
    const xfs = await call.createPool({
      name: `${poolName}-xfs`,
      kind: PoolKind.POOL_KIND_LOOP,
      sizeBytes: 320 * MIB,
      filesystem: 'xfs',
      path: '',
      validateOnly: false,
    });
    assert.equal(xfs.filesystem, 'xfs');
    assert.equal((await readMounts()).find((m) => m.mountPoint === xfs.path)?.fsType, 'xfs');
    const id = await mountId(xfs.path);
    const xfsGrown = await call.growPool({ name: xfs.name, sizeBytes: 512 * MIB });
    assert.ok(
      xfsGrown.capacityBytes > xfs.capacityBytes + 150 * MIB,
      `${xfs.capacityBytes} → ${xfsGrown.capacityBytes}`,
    );
    assert.equal(await mountId(xfs.path), id, 'grown online, not remounted');
    await call.deletePool({ name: xfs.name, deleteBackingFile: true });
    assert.equal(existsSync(xfs.backingFile), false);
  });

  await t.test('stop, start, delete keeping the backing file; each change is published', async () => {
    const stopped = await call.stopPool({ name: poolName });
    assert.equal(stopped.state, PoolState.POOL_STATE_INACTIVE);
    assert.equal(stopped.loopDevice, '');
    assert.deepEqual(
      (await loopList()).filter((d) => d.backFile === pool.backingFile),
      [],
    );
    await assert.rejects(
      call.listVolumes({ pool: poolName, format: 0 }),
      code(status.FAILED_PRECONDITION, /not started/),
    );
    const started = await call.startPool({ name: poolName });
    assert.equal(started.state, PoolState.POOL_STATE_ACTIVE);
    assert.equal(started.volumeCount, 1);
    await call.deletePool({ name: poolName, deleteBackingFile: false });
    assert.ok(existsSync(pool.backingFile), 'the backing file stays unless asked');
    await sleep(200);
    const mine = poolEvents.filter((e) => e.name === poolName);
    assert.deepEqual(mine[0], { name: poolName, state: PoolState.POOL_STATE_ACTIVE, removed: false });
    assert.ok(
      mine.some((e) => e.state === PoolState.POOL_STATE_INACTIVE),
      'stop was published',
    );
    assert.deepEqual(mine.at(-1)?.removed, true);
    assert.deepEqual(
      (await loopList()).filter((d) => d.backFile === pool.backingFile),
      [],
    );
    assert.equal(existsSync(pool.path), false);
    await assert.rejects(
      call.createPool({
        name: poolName,
        kind: PoolKind.POOL_KIND_LOOP,
        sizeBytes: 64 * MIB,
        filesystem: '',
        path: '',
        validateOnly: false,
      }),
      code(status.ALREADY_EXISTS, /backing file .* already exists/),
    );
    await rm(pool.backingFile);
  });
});
