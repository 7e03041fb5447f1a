// Backups to another host (#24) between two real hosts (two-hosts.ts): a running VM on host A with
// a data disk of known bytes is backed up into host B's pool (full, then incremental after the
// guest changed ~1% of it), the agents streaming it under the vDC's PKI; the points are listed on
// the VM from host B, and each restores on B into a new VM whose data disk equals the guest's disk
// at that point (qemu-img compare). Host B's agent killed mid-copy: the task fails, nothing new is
// listed, and the next backup is an incremental of the last listed point that restores right.
// Points held on B restore on A too (a new VM, one disk, over the VM itself): copied to A first,
// removed after; a copy killed with A's agent leaves the chain as it was (the next backup to B is
// an incremental of the point whose copy was killed). A schedule selecting host B's cluster backs up exactly the VMs on B. The VM shut
// off backs up to B too.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createReadStream, readdirSync, statSync } from 'node:fs';
import { copyFile, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { BackupDto, BackupScheduleDto, BackupScheduleRunDto } from '../../server/src/dto/backups.js';
import type { ErrorDto } from '../../server/src/dto/common.js';
import type { HostDto } from '../../server/src/dto/hosts.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import type { BackupManifest } from '../../agent/src/backup/backup-store.js';
import { chunkSums } from '../../agent/src/backup/chunk-sums.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { guestWriteDevice, mountFreezableFs } from '../../agent/src/test-support/guest-file.js';
import { guestAgentReady } from '../../agent/src/vm/guest-agent.js';
import { startTwoHosts } from './two-hosts.js';

const exec = promisify(execFile);
const MIB = 2 ** 20;
/** Large enough that a copy to B takes a while (B's agent is killed during one). */
const DATA_BYTES = 64 * MIB;

/** qemu-img compare: the restored qcow2 holds exactly the raw state's bytes. */
const sameData = (qcow2: string, raw: string) => exec('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', qcow2, raw]);

async function patch(file: string, offset: number, data: Buffer): Promise<void> {
  const fh = await open(file, 'r+');
  await fh.write(data, 0, data.length, offset);
  await fh.close();
}

test(
  'backup to another host: full + incremental land on B, restore there, B killed mid-copy',
  { timeout: 900_000 },
  async (t) => {
    const cluster = await startTwoHosts();
    const work = await mkdtemp(join(tmpdir(), 'qxc-bk-remote-'));
    t.after(async () => {
      await cluster.stop();
      await rm(work, { recursive: true, force: true });
    });
    const { api, a, b } = cluster;
    const virshA = new Virsh('qemu:///system');

    // The data disk: known random bytes, uploaded into A's pool.
    const states = [0, 1, 2].map((i) => join(work, `state${i}.raw`));
    await writeFile(states[0]!, randomBytes(DATA_BYTES));
    const dataQcow2 = join(work, 'data.qcow2');
    await exec('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', states[0]!, dataQcow2]);
    const up = await api.upload(
      `/api/v1/hosts/${a.id}/pools/${a.pool}/uploads`,
      { name: 'qxc-bkr-data.qcow2', format: 'qcow2', sizeBytes: statSync(dataQcow2).size },
      createReadStream(dataQcow2),
    );
    assert.equal(up.reply.status, 200, up.reply.text);
    const vm = await cluster.createGuestVm(a, 'qxc-bkr', {
      spec: {
        disks: [
          { pool: a.pool, volume: 'qxc-bkr.qcow2' },
          { pool: a.pool, volume: 'qxc-bkr-data.qcow2' },
        ],
      },
    });
    await eventually('the guest agent', async () => (await guestAgentReady(virshA, vm.id)) || false, 180_000);
    // A filesystem its agent freezes (the bare test guest's are tmpfs and initramfs).
    await mountFreezableFs(virshA, vm.id);

    const backUp = async () => {
      const r = await api.request<TaskDto>('POST', `/api/v1/vms/${vm.id}/backups`, {
        body: { pool: b.pool, hostId: b.id },
      });
      assert.equal(r.status, 202, r.text);
      return r.json;
    };
    const succeeded = async (task: TaskDto) => {
      const done = await cluster.waitTask(task.id, 300_000);
      assert.equal(done.status, 'succeeded', done.error ?? '');
      return done.result as BackupDto;
    };
    const listed = async () =>
      (await api.request<BackupDto[]>('GET', `/api/v1/vms/${vm.id}/backups`)).json.map((x) => [x.id, x.hostId]);

    const full = await succeeded(await backUp());
    assert.deepEqual([full.kind, full.hostId, full.pool], ['full', b.id, b.pool]);
    assert.equal(full.consistency, 'application', 'the guest agent froze the guest');

    // About 1% of the data disk changes, written by the guest.
    const change1 = randomBytes(640 * 1024);
    await guestWriteDevice(virshA, vm.id, '/dev/vdb', [{ offset: 17 * MIB, data: change1 }]);
    await copyFile(states[0]!, states[1]!);
    await patch(states[1]!, 17 * MIB, change1);
    const incr = await succeeded(await backUp());
    assert.deepEqual([incr.kind, incr.parentId, incr.hostId], ['incremental', full.id, b.id]);
    const incrData = incr.disks.find((d) => d.target === 'vdb')!;
    assert.ok(incrData.storedBytes < 2 * MIB, `the incremental holds only the change: ${incrData.storedBytes} bytes`);
    assert.deepEqual(await listed(), [
      [full.id, b.id],
      [incr.id, b.id],
    ]);
    // Nothing of the backups on A: they are B's.
    assert.equal(readdirSync(a.poolDir).includes('backups'), false);

    // Host B's agent killed while a full copy streams in: the task fails, nothing new is listed.
    const vmDir = join(b.poolDir, 'backups', vm.id);
    const partial = () =>
      (statSync(vmDir, { throwIfNoEntry: false }) ? readdirSync(vmDir) : [])
        .filter((n) => n.startsWith('.tmp-'))
        .some((n) => {
          const f = join(vmDir, n, 'vdb.qcow2');
          return (statSync(f, { throwIfNoEntry: false })?.size ?? 0) > 0;
        });
    const killed = await api.request<TaskDto>('POST', `/api/v1/vms/${vm.id}/backups`, {
      body: { pool: b.pool, hostId: b.id, full: true },
    });
    assert.equal(killed.status, 202, killed.text);
    // Polled tightly: the copy takes well under a second on an idle machine.
    for (const end = Date.now() + 120_000; !partial(); await new Promise((r) => setTimeout(r, 2))) {
      if (Date.now() > end) throw new Error('no part of the copy arrived on B');
    }
    await b.killAgent();
    const failed = await cluster.waitTask(killed.json.id, 300_000);
    assert.equal(failed.status, 'failed');
    await b.startAgent();
    await eventually('host B online again', async () => {
      const h = (await api.request<HostDto>('GET', `/api/v1/hosts/${b.id}`)).json;
      return h.status === 'online';
    });
    assert.deepEqual(await listed(), [
      [full.id, b.id],
      [incr.id, b.id],
    ]);

    // The chain goes on from the last listed point; the killed copy's leftovers are gone.
    const change2 = randomBytes(256 * 1024);
    await guestWriteDevice(virshA, vm.id, '/dev/vdb', [{ offset: 40 * MIB + 4096, data: change2 }]);
    await copyFile(states[1]!, states[2]!);
    await patch(states[2]!, 40 * MIB + 4096, change2);
    const incr2 = await succeeded(await backUp());
    assert.deepEqual([incr2.kind, incr2.parentId], ['incremental', incr.id]);
    assert.deepEqual(readdirSync(vmDir).sort(), [full.id, incr.id, incr2.id].sort());
    const checkpoints = (await a.virsh(['checkpoint-list', vm.id, '--name'])).split('\n').filter(Boolean);
    assert.deepEqual(
      checkpoints.sort(),
      [full.id, incr.id, incr2.id].map((id) => `qx-backup-${id}`).sort(),
      "the killed copy's checkpoint is gone from A",
    );

    // Every point restores on B into a new VM whose data disk is the guest's at that point.
    for (const [i, point] of [full, incr, incr2].entries()) {
      const name = `qxc-bkr-r${i}`;
      const r = await api.request<TaskDto>('POST', `/api/v1/backups/${b.id}/${b.pool}/${vm.id}/${point.id}/restore`, {
        body: { name, targetPool: b.pool },
      });
      assert.equal(r.status, 202, r.text);
      const done = await cluster.waitTask(r.json.id, 300_000);
      assert.equal(done.status, 'succeeded', done.error ?? '');
      const { volumes } = done.result as { volumes: string[] };
      await sameData(join(b.poolDir, volumes[1]!), states[i]!);
    }

    // Restored on A, the VM's own host, from the points on B: the point and those it builds on are
    // copied into A's pool first (B's agent sends them, A's checks every file), then removed again;
    // the VM's checkpoints on A, which the chain on B goes on from, stay.
    const restoreOnA = async (path: string, body: Record<string, unknown>) => {
      const r = await api.request<TaskDto>('POST', `/api/v1/backups/${b.id}/${b.pool}/${vm.id}/${path}`, { body });
      assert.equal(r.status, 202, r.text);
      const done = await cluster.waitTask(r.json.id, 300_000);
      assert.equal(done.status, 'succeeded', `${done.error ?? ''}\n${done.log.map((l) => l.message).join('\n')}`);
      const staging = join(a.poolDir, 'backups', vm.id);
      assert.deepEqual(
        statSync(staging, { throwIfNoEntry: false }) ? readdirSync(staging) : [],
        [],
        'the copies staged on A are gone after the restore',
      );
      return done;
    };
    // Bad input is refused before anything is copied, naming the field.
    for (const [body, field] of [
      [{ name: 'qxc-bkr-bad', targetPool: 'qxc-no-such-pool', hostId: a.id }, 'targetPool'],
      [{ name: 'qxc-bkr-bad', targetPool: a.pool, hostId: 'no-such-host' }, 'hostId'],
    ] as const) {
      const r = await api.request<ErrorDto>('POST', `/api/v1/backups/${b.id}/${b.pool}/${vm.id}/${incr2.id}/restore`, {
        body,
      });
      assert.equal(r.status, 400, r.text);
      assert.equal(r.json.error.field, field);
    }
    assert.equal(statSync(join(a.poolDir, 'backups'), { throwIfNoEntry: false }), undefined, 'nothing was copied');
    // The full point as a backup stored before format 2 left it (SHA-256 sums): its copy to A is
    // hashed and checked with SHA-256, its incrementals' with XXH3-128.
    const fullDir = join(b.poolDir, 'backups', vm.id, full.id);
    const manifest = JSON.parse(await readFile(join(fullDir, 'manifest.json'), 'utf8')) as BackupManifest;
    assert.equal(manifest.format, 2);
    for (const d of manifest.disks) {
      d.sha256 = (await chunkSums(join(fullDir, d.file), 'sha256')).sums;
      delete d.xxh128;
    }
    await writeFile(join(fullDir, 'manifest.json'), JSON.stringify({ ...manifest, format: 1 }));
    const onA = await restoreOnA(`${incr2.id}/restore`, { name: 'qxc-bkr-on-a', targetPool: a.pool, hostId: a.id });
    assert.equal(onA.hostId, a.id);
    assert.ok(
      [full.id, incr.id, incr2.id].every((id) => onA.log.some((l) => l.message.includes(`copying backup ${id}`))),
      onA.log.map((l) => l.message).join('\n'),
    );
    const restoredOnA = onA.result as { vmId: string; volumes: string[] };
    await sameData(join(a.poolDir, restoredOnA.volumes[1]!), states[2]!);
    assert.equal((await api.request('GET', `/api/v1/vms/${restoredOnA.vmId}`)).status, 200, 'the new VM is on A');
    const diskOnA = await restoreOnA(`${incr.id}/restore-disk`, {
      disk: 'vdb',
      targetPool: a.pool,
      name: 'qxc-bkr-vdb-on-a.qcow2',
      hostId: a.id,
    });
    assert.deepEqual(diskOnA.result, { pool: a.pool, volume: 'qxc-bkr-vdb-on-a.qcow2' });
    await sameData(join(a.poolDir, 'qxc-bkr-vdb-on-a.qcow2'), states[1]!);
    assert.deepEqual(
      (await a.virsh(['checkpoint-list', vm.id, '--name'])).split('\n').filter(Boolean).sort(),
      checkpoints.sort(),
      "the VM's checkpoints on A stay",
    );

    // A copy killed with A's agent costs the chain nothing: the point's checkpoint is the VM's
    // latest, and the leftover of its copy is not taken for an unfinished backup of the VM (whose
    // checkpoint the next backup deletes). A's next backup into its own pool clears the leftover,
    // and the next backup to B is still an incremental of that point.
    const fresh = await api.request<TaskDto>('POST', `/api/v1/vms/${vm.id}/backups`, {
      body: { pool: b.pool, hostId: b.id, full: true },
    });
    assert.equal(fresh.status, 202, fresh.text);
    const latest = await succeeded(fresh.json);
    const copying = await api.request<TaskDto>(
      'POST',
      `/api/v1/backups/${b.id}/${b.pool}/${vm.id}/${latest.id}/restore`,
      { body: { name: 'qxc-bkr-killed-copy', targetPool: a.pool, hostId: a.id } },
    );
    assert.equal(copying.status, 202, copying.text);
    const stagingOnA = join(a.poolDir, 'backups', vm.id);
    const copyArriving = () =>
      readdirSync(stagingOnA)
        .filter((n) => n.startsWith('.'))
        .some((n) => (statSync(join(stagingOnA, n, 'vdb.qcow2'), { throwIfNoEntry: false })?.size ?? 0) > 0);
    for (const end = Date.now() + 120_000; !copyArriving(); await new Promise((r) => setTimeout(r, 2))) {
      if (Date.now() > end) throw new Error('no part of the copy arrived on A');
    }
    await a.killAgent();
    assert.equal((await cluster.waitTask(copying.json.id, 300_000)).status, 'failed');
    await a.startAgent();
    await eventually('host A online again', async () => {
      const h = (await api.request<HostDto>('GET', `/api/v1/hosts/${a.id}`)).json;
      return h.status === 'online';
    });
    const onOwnPool = await api.request<TaskDto>('POST', `/api/v1/vms/${vm.id}/backups`, {
      body: { pool: a.pool, hostId: a.id },
    });
    assert.equal(onOwnPool.status, 202, onOwnPool.text);
    const local = await succeeded(onOwnPool.json);
    assert.deepEqual(readdirSync(stagingOnA), [local.id], "the killed copy's leftover is gone");
    const afterKilledCopy = await succeeded(await backUp());
    assert.deepEqual(
      [afterKilledCopy.kind, afterKilledCopy.parentId],
      ['incremental', latest.id],
      'the point whose copy was killed still has its checkpoint',
    );
    const dropped = await api.request('DELETE', `/api/v1/backups/${a.id}/${a.pool}/${vm.id}/${local.id}`);
    assert.equal(dropped.status, 200, dropped.text);

    // Selection by cluster: a schedule for B's cluster backs up exactly the VMs on B (the three
    // restored ones, shut off), not the VM on A. (A cluster of host A would also select every
    // other VM of this machine's shared libvirtd, so only B's is asserted exactly.)
    const ofB = await api.request<{ id: string }>('POST', '/api/v1/clusters', {
      body: { name: 'qxc-bk-cluster', hostIds: [b.id] },
    });
    assert.equal(ofB.status, 201, ofB.text);
    const schedule = await api.request<BackupScheduleDto>('POST', '/api/v1/backup-schedules', {
      body: {
        name: 'qxc-bk-by-cluster',
        cron: '0 3 * * *',
        selection: { vmIds: [], tags: [], clusterIds: [ofB.json.id] },
        pool: b.pool,
        enabled: false,
      },
    });
    assert.equal(schedule.status, 201, schedule.text);
    const run = await api.request<BackupScheduleRunDto>('POST', `/api/v1/backup-schedules/${schedule.json.id}/run`);
    assert.equal(run.status, 202, run.text);
    const tasks = await Promise.all(run.json.taskIds.map((id) => cluster.waitTask(id, 300_000)));
    assert.deepEqual(tasks.map((x) => x.target.name).sort(), ['qxc-bkr-r0', 'qxc-bkr-r1', 'qxc-bkr-r2']);
    for (const x of tasks) assert.equal(x.status, 'succeeded', x.error ?? '');

    // The VM shut off: a full, "stopped" backup to B (its disks read through qemu-nbd), restorable there.
    const off = await api.request<TaskDto>('POST', `/api/v1/vms/${vm.id}/force-off`);
    assert.equal((await cluster.waitTask(off.json.id)).status, 'succeeded');
    const cold = await succeeded(await backUp());
    assert.deepEqual([cold.kind, cold.consistency, cold.hostId], ['full', 'stopped', b.id]);
    const r = await api.request<TaskDto>('POST', `/api/v1/backups/${b.id}/${b.pool}/${vm.id}/${cold.id}/restore`, {
      body: { name: 'qxc-bkr-cold', targetPool: b.pool },
    });
    const done = await cluster.waitTask(r.json.id, 300_000);
    assert.equal(done.status, 'succeeded', done.error ?? '');
    const { volumes } = done.result as { volumes: string[] };
    await sameData(join(b.poolDir, volumes[1]!), states[2]!);

    // Over the VM itself, on A, from the first incremental held on B: its data disk is as then.
    await restoreOnA(`${incr.id}/restore-over`, { confirmName: 'qxc-bkr', disks: ['vdb'] });
    await sameData(join(a.poolDir, 'qxc-bkr-data.qcow2'), states[1]!);
  },
);
