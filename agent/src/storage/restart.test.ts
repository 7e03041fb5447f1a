// Pools survive the agent: the real agent runs as a child process, is killed with SIGKILL and
// started again. A pool left mounted is adopted (same single loop device, one mount), a pool
// whose device and mount vanished (as after a reboot) is re-attached, and a pool whose backing
// file is gone is reported FAILED with the reason while the others come up; the loop device and
// mount of a create that never finished are released (its file is kept).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PoolKind, PoolState, VolumeFormat, type Pool } from '@quantix/proto/v1/storage.js';
import { run } from '../exec/run.js';
import { Virsh } from '../libvirt/virsh.js';
import { promisify } from '../test-support/promisify.js';
import { libvirtPoolNames } from './libvirt-pool.js';
import { loopAttach, loopDetach, loopFind, loopList } from './loop-device.js';
import { mountFilesystem, readMounts, unmount } from './mounts.js';
import { newVdc, startAgentProcess, type AgentProcess } from '../test-support/agent-harness.js';
import { releaseStorageUnder } from './test-support/cleanup.js';

const MIB = 1024 * 1024;
const virsh = new Virsh('qemu:///system');

test('kill -9 and restart: pools come back without duplicate loop devices; a missing backing file fails alone', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'qxt-st-restart-'));
  const prefix = `qxt-st-r${process.pid}-`;
  const vdc = await newVdc();
  let agent: AgentProcess | undefined;
  t.after(async () => {
    await agent?.kill('SIGKILL');
    await releaseStorageUnder(dataDir, prefix, virsh);
    await rm(dataDir, { recursive: true, force: true });
  });

  agent = await startAgentProcess(dataDir, vdc);
  let s = agent.clients.storage;
  const create = (name: string) =>
    promisify(
      s,
      s.createPool,
    )({
      name: prefix + name,
      kind: PoolKind.POOL_KIND_LOOP,
      sizeBytes: 64 * MIB,
      filesystem: 'ext4',
      path: '',
      validateOnly: false,
    });
  const a = await create('a');
  const b = await create('b');
  const c = await create('c');
  await promisify(
    s,
    s.createVolume,
  )({ pool: a.name, name: 'kept.qcow2', format: VolumeFormat.VOLUME_FORMAT_QCOW2, capacityBytes: 16 * MIB });

  await agent.kill('SIGKILL');
  // b: as after a reboot (nothing attached or mounted). c: its backing file is lost.
  for (const p of [b, c]) {
    await unmount(p.path);
    await loopDetach(p.loopDevice);
  }
  await rm(c.backingFile);
  // An unfinished create (killed before its record was saved): attached and mounted, no record.
  const orphanFile = join(dataDir, 'pools', `${prefix}orphan.img`);
  const orphanMount = join(dataDir, 'mnt', `${prefix}orphan`);
  await run('truncate', ['-s', '32M', orphanFile]);
  await run('mkfs.ext4', ['-q', '-F', orphanFile]);
  const orphanDevice = await loopAttach(orphanFile);
  await mkdir(orphanMount);
  await mountFilesystem(orphanDevice, orphanMount, 'ext4');

  agent = await startAgentProcess(dataDir, vdc);
  s = agent.clients.storage;
  const pools = new Map<string, Pool>((await promisify(s, s.listPools)({})).pools.map((p) => [p.name, p]));
  const a2 = pools.get(a.name)!;
  const b2 = pools.get(b.name)!;
  const c2 = pools.get(c.name)!;
  assert.equal(a2.state, PoolState.POOL_STATE_ACTIVE, a2.error);
  assert.equal(a2.loopDevice, a.loopDevice, 'the attached device was adopted');
  assert.deepEqual(await loopFind(a.backingFile), [a.loopDevice], 'no duplicate loop device');
  assert.equal((await readMounts()).filter((m) => m.mountPoint === a.path).length, 1, 'mounted once');
  assert.deepEqual(
    (await promisify(s, s.listVolumes)({ pool: a.name, format: 0 })).volumes.map((v) => v.name),
    ['kept.qcow2'],
  );

  assert.equal(b2.state, PoolState.POOL_STATE_ACTIVE, b2.error);
  assert.equal((await loopFind(b.backingFile)).length, 1);
  assert.equal((await readMounts()).filter((m) => m.mountPoint === b.path).length, 1);

  assert.deepEqual(
    await loopFind(orphanFile),
    [],
    `the unfinished pool was released: ${agent.logs.filter((l) => /warn|error/.test(l)).join('\n')}`,
  );
  assert.equal(
    (await readMounts()).some((m) => m.mountPoint === orphanMount),
    false,
  );
  assert.ok(existsSync(orphanFile), 'but its file is kept');
  assert.equal(pools.has(`${prefix}orphan`), false);

  assert.equal(c2.state, PoolState.POOL_STATE_FAILED);
  assert.match(c2.error, new RegExp(`pool ${c.name}: backing file .*${c.name}\\.img is missing`));
  assert.doesNotMatch(
    await virsh.exec(['pool-info', '--pool', c.name]),
    /State:\s+running/,
    'no libvirt pool on a bare mount point',
  );

  // Once more, gracefully: still exactly one device per pool.
  await agent.kill('SIGTERM');
  agent = await startAgentProcess(dataDir, vdc);
  s = agent.clients.storage;
  assert.equal((await promisify(s, s.getPool)({ name: b.name })).state, PoolState.POOL_STATE_ACTIVE);
  assert.deepEqual(await loopFind(a.backingFile), [a.loopDevice]);
  assert.equal((await loopFind(b.backingFile)).length, 1);

  for (const p of [a, b, c]) await promisify(s, s.deletePool)({ name: p.name, deleteBackingFile: true });
  await agent.kill('SIGTERM');
  assert.deepEqual(
    (await loopList()).filter((d) => d.backFile.startsWith(dataDir)),
    [],
  );
  assert.deepEqual(
    (await readMounts()).filter((m) => m.mountPoint.startsWith(dataDir)),
    [],
  );
  assert.deepEqual(
    (await libvirtPoolNames(virsh)).filter((n) => n.startsWith(prefix)),
    [],
  );
});
