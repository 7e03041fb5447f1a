// The snapshot design of a running VM's full backup (#24), against the real libvirt + QEMU (TCG)
// with one test guest (its pure parts: agent/src/backup/backup-snapshot.test.ts): the VM ends on
// its own files, data the guest wrote between snapshot and commit is in its disk and in the next
// incremental (the checkpoint's bitmap kept counting); a cancel mid-copy; the overlays of a "killed
// agent" committed back by recovery, live and with the VM shut off; a guest an agent killed while it
// was frozen thawed by recovery; the frozen files read for
// another host through qemu-nbd while the VM runs on its overlays. In `make test-guest`: a guest
// boot and several backups are too slow for `make test`'s budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, open, readdir, writeFile, type FileHandle } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BackupConsistency, BackupKind } from '@quantix/proto/v1/backup.js';
import { run } from '../../agent/src/exec/run.js';
import { domainDumpXml } from '../../agent/src/libvirt/domain.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { readDomainXml } from '../../agent/src/libvirt/xml/domain-parse.js';
import { moveVmDisks } from '../../agent/src/storage/disk-move.js';
import { startBackupGuest } from '../../agent/src/test-support/backup-guest.js';
import { guestWriteDevice, mountFreezableFs } from '../../agent/src/test-support/guest-file.js';
import { guestAgentReady } from '../../agent/src/vm/guest-agent.js';
import { forceOffVm, startVm } from '../../agent/src/vm/vm-lifecycle.js';
import { BackupJobs } from '../../agent/src/backup/backup-create.js';
import { commitOverlays, takeOverlays } from '../../agent/src/backup/backup-snapshot.js';
import type { DiskOut } from '../../agent/src/backup/backup-pull.js';
import type { BackupTarget } from '../../agent/src/backup/backup-target.js';
import { fileSink } from '../../agent/src/backup/qcow2-writer.js';
import { copyWholeDisks } from '../../agent/src/backup/whole-disk-copy.js';
import { vmBackupsDir } from '../../agent/src/backup/backup-store.js';

const virsh = new Virsh('qemu:///system');
const MIB = 2 ** 20;
const DATA_BYTES = 16 * MIB;

async function until<T>(what: string, fn: () => Promise<T | false>, timeoutMs = 180_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function patch(file: string, offset: number, data: Buffer): Promise<void> {
  const fh = await open(file, 'r+');
  await fh.write(data, 0, data.length, offset);
  await fh.close();
}

test('full backup of a running VM through an external snapshot: VM back on its files, window writes kept and counted', async (t) => {
  // The data disk mode 0600 like an uploaded volume: owned by QEMU's user while the VM runs, so
  // only a reader with CAP_DAC_READ_SEARCH copies it.
  const g = await startBackupGuest(virsh, { prefix: 'qxt-bks', dataBytes: DATA_BYTES, dataMode: 0o600 });
  t.after(() => g.stop());
  const { dir, poolDir, pools, volumes, pool, uuid, name: vmName, files } = g;
  // What the guest's data disk holds after each step, as raw files.
  const state = (n: number) => join(dir, `state${n}.raw`);
  const boot = async () => {
    await startVm(virsh, uuid);
    await until('the guest agent', async () => (await guestAgentReady(virsh, uuid)) || false);
  };

  /** The guest writes `data` at `offset` of its data disk; state `to` is state `from` with that write. */
  const write = async (from: number, to: number, offset: number, data: Buffer) => {
    await guestWriteDevice(virsh, uuid, '/dev/vdb', [{ offset, data }]);
    await copyFile(state(from), state(to));
    await patch(state(to), offset, data);
  };
  const sources = async (inactive = false) =>
    readDomainXml(await domainDumpXml(virsh, uuid, inactive))
      .disks.filter((d) => d.device === 'disk')
      .map((d) => d.source.file);
  /** The VM on its own files (live and defined), no backup dir beside them, no block job. */
  const onOwnDisks = async () => {
    assert.deepEqual(await sources(), files, 'live definition');
    assert.deepEqual(await sources(true), files, 'persistent definition');
    assert.deepEqual(
      (await readdir(poolDir)).filter((n) => n.startsWith('.qx-backup-')),
      [],
      'no backup dir stays',
    );
    for (const dev of ['vda', 'vdb']) {
      // virsh -q prints nothing for "No current block job".
      const info = await virsh.exec(['blockjob', uuid, dev, '--info']).catch(() => '');
      assert.equal(info.replace(/No current block job.*/, '').trim(), '', `block job on ${dev}`);
    }
  };
  /** The VM's data disk equals state `n` (read while it runs: qemu-img's -U). */
  const diskIs = (n: number) => run('qemu-img', ['compare', '-U', '-f', 'qcow2', '-F', 'raw', files[1]!, state(n)]);

  const jobs = new BackupJobs(virsh, pools);
  let job = 0;
  const backup = async (onPercent: (p: number) => void = () => undefined) =>
    (await jobs.create({ vm: uuid, pool, forceFull: false, jobId: `j${job++}`, keepLast: 0 }, onPercent)).backup;
  const root = async () => vmBackupsDir(await pools.activeRecord(pool), uuid);

  // A filesystem for its agent to freeze (the bare test guest has none: its backups would be crash-consistent).
  await mountFreezableFs(virsh, uuid);

  // Full: the guest writes while the VM runs on its overlays (between snapshot and commit).
  const w1 = randomBytes(128 * 1024);
  let windowSources: (string | undefined)[] = [];
  jobs.afterSnapshot = async () => {
    windowSources = await sources();
    await write(0, 1, 3 * MIB, w1);
    // The VM's disk is its overlay's backing file now: still held, never deleted.
    await assert.rejects(volumes.delete(pool, 'data.qcow2'), /data\.qcow2 is (the backing file of|used by VM)/);
    // Nor do its disks move meanwhile (a block copy would take the overlays, not its disks).
    const move = { vm: uuid, targetPool: 'qxt-elsewhere', bandwidthMibPerS: 0, onProgress: () => undefined };
    await assert.rejects(
      moveVmDisks(virsh, volumes, { ...move, signal: new AbortController().signal }),
      /is being backed up: its disk vd[ab] is on the backup's overlay until the copy ends; move its disks after/,
    );
    // Another agent starting now (tests run several on one libvirt) recovers what killed agents
    // left: it must leave this backup's overlays alone (before, it pivoted them under the backup).
    const recovery = join(dir, 'other-agent-recovery.mts');
    const src = (path: string) => JSON.stringify(fileURLToPath(new URL(`../../${path}`, import.meta.url)));
    await writeFile(
      recovery,
      `const { recoverOverlays } = await import(${src('agent/src/backup/backup-snapshot.ts')});
const { Virsh } = await import(${src('agent/src/libvirt/virsh.ts')});
console.log(JSON.stringify(await recoverOverlays(new Virsh('qemu:///system'))));`,
    );
    const other = await run(process.execPath, ['--import', 'tsx', recovery], { timeoutMs: 120_000 });
    assert.equal(other.stdout.trim().split('\n').at(-1), '[]', other.stdout);
    assert.deepEqual(await sources(), windowSources, 'still on the overlays after the other recovery');
  };
  const full = await backup();
  jobs.afterSnapshot = undefined;
  assert.equal(full.kind, BackupKind.BACKUP_KIND_FULL);
  assert.equal(full.consistency, BackupConsistency.BACKUP_CONSISTENCY_APPLICATION);
  assert.equal(windowSources.length, 2, 'the window came');
  assert.ok(
    windowSources.every((f) => f?.includes('/.qx-backup-') && f.endsWith('.overlay.qcow2')),
    `the VM ran on overlays during the copy: ${windowSources.join(', ')}`,
  );
  await onOwnDisks();
  // The point in time is before the window's write; the VM's disk has it.
  await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', join(await root(), full.id, 'vdb.qcow2'), state(0)]);
  await diskIs(1);

  // The incremental holds the window's write: the checkpoint's bitmap counted it on the overlay.
  const incr = await backup();
  assert.equal(incr.kind, BackupKind.BACKUP_KIND_INCREMENTAL);
  assert.equal(incr.parentId, full.id);
  const incrData = incr.disks.find((d) => d.target === 'vdb')!;
  assert.ok(incrData.storedBytes < 2 * MIB, `only the change: ${incrData.storedBytes} bytes`);
  await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', join(await root(), incr.id, 'vdb.qcow2'), state(1)]);

  // A cancel once qemu-img reports progress: nothing listed, the VM on its files, its checkpoint gone.
  const cancelled = jobs.create({ vm: uuid, pool, forceFull: true, jobId: 'cancel-me', keepLast: 0 }, (p) => {
    if (p >= 0) jobs.cancel('cancel-me');
  });
  await assert.rejects(cancelled, /cancelled/);
  await onOwnDisks();
  assert.deepEqual((await readdir(await root())).sort(), [full.id, incr.id].sort());
  const checkpoints = (await virsh.exec(['checkpoint-list', uuid, '--name'])).split('\n').filter(Boolean);
  assert.deepEqual(checkpoints.sort(), [`qx-backup-${full.id}`, `qx-backup-${incr.id}`].sort());

  // Recovery of a killed agent's overlays, VM running: committed back live, the write kept and counted.
  const plan = readDomainXml(await domainDumpXml(virsh, uuid));
  const ownDisks = plan.disks.filter((d) => d.device === 'disk');
  const otherDevs = plan.disks.filter((d) => d.device !== 'disk').map((d) => d.dev);
  await takeOverlays(virsh, { uuid, name: vmName }, ownDisks, otherDevs, 'crash-live');
  await write(1, 2, 7 * MIB + 4096, randomBytes(64 * 1024));
  assert.match((await sources()).join(), /\.qx-backup-crash-live\/vdb\.overlay\.qcow2/);
  await jobs.recover();
  await onOwnDisks();
  await diskIs(2);
  const incr2 = await backup();
  assert.equal(incr2.parentId, incr.id);
  await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', join(await root(), incr2.id, 'vdb.qcow2'), state(2)]);

  // To another host, the VM's frozen files are read through a read-only qemu-nbd while QEMU runs
  // on the overlays (a target that takes the bytes, as backup-send.ts's does; here into files).
  await takeOverlays(virsh, { uuid, name: vmName }, ownDisks, otherDevs, 'remote');
  await write(2, 99, 13 * MIB, randomBytes(64 * 1024));
  const sent = join(dir, 'sent');
  await run('mkdir', [sent]);
  const handles: FileHandle[] = [];
  const remote: BackupTarget = {
    label: 'a test sink',
    localPool: undefined,
    history: [],
    abandonedIds: [],
    localPath: () => undefined,
    writeSmallFile: async () => undefined,
    async openDisk(file): Promise<DiskOut> {
      const fh = await open(join(sent, file), 'wx');
      handles.push(fh);
      return { label: file, sink: fileSink(fh), finish: () => fh.sync(), close: async () => undefined };
    },
    commit: () => Promise.reject(new Error('not here')),
    discard: async () => undefined,
  };
  const frozen = ownDisks.map((d) => ({ dev: d.dev, file: d.source.file!, format: 'qcow2' as const, frozen: true }));
  const copies = await (
    await copyWholeDisks(frozen, 'remote', remote, () => undefined, AbortSignal.timeout(300_000))
  ).entries;
  for (const fh of handles) await fh.close();
  assert.deepEqual(
    copies.map((c) => c.target),
    ['vda', 'vdb'],
  );
  await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', join(sent, 'vdb.qcow2'), state(2)]);
  await commitOverlays(virsh, { uuid, name: vmName });
  await onOwnDisks();
  await diskIs(99);
  await copyFile(state(99), state(2));
  const incrRemote = await backup();
  await run('qemu-img', [
    'compare',
    '-f',
    'qcow2',
    '-F',
    'raw',
    join(await root(), incrRemote.id, 'vdb.qcow2'),
    state(2),
  ]);

  // An agent killed between freeze and thaw: a process freezes the guest (the agent's code) and
  // dies by SIGKILL; the next agent start's recovery thaws it (a Linux guest agent never does).
  const freezeStatus = async () =>
    (await virsh.exec(['qemu-agent-command', uuid, '{"execute":"guest-fsfreeze-status"}'])).trim();
  const freezer = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--input-type=module',
      '-e',
      `const { Virsh } = await import(${JSON.stringify(new URL('../../agent/src/libvirt/virsh.ts', import.meta.url).href)});
       const { guestFsFreeze } = await import(${JSON.stringify(new URL('../../agent/src/vm/guest-freeze.ts', import.meta.url).href)});
       await guestFsFreeze(new Virsh('qemu:///system'), ${JSON.stringify(uuid)}, 'vm');
       console.log('frozen');
       setInterval(() => undefined, 1000);`,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const frozenSaid = new Promise<void>((resolve, reject) => {
    freezer.stdout.on('data', (b: Buffer) => b.toString().includes('frozen') && resolve());
    freezer.on('exit', (code) => reject(new Error(`the freezing process exited (${code}) before it froze`)));
  });
  await frozenSaid;
  const killed = new Promise((r) => freezer.on('exit', r));
  freezer.kill('SIGKILL');
  await killed;
  assert.equal(await freezeStatus(), '{"return":"frozen"}');
  await jobs.recover();
  assert.equal(await freezeStatus(), '{"return":"thawed"}', 'recovery thawed the guest');

  // …and with the VM shut off on its overlays: committed offline, its bitmaps merged, definition restored.
  await takeOverlays(virsh, { uuid, name: vmName }, ownDisks, otherDevs, 'crash-off');
  await write(2, 3, 9 * MIB, randomBytes(64 * 1024));
  await forceOffVm(virsh, uuid);
  assert.match((await sources(true)).join(), /\.qx-backup-crash-off\/vdb\.overlay\.qcow2/);
  await jobs.recover();
  assert.deepEqual(await sources(true), files);
  assert.deepEqual(
    (await readdir(poolDir)).filter((n) => n.startsWith('.qx-backup-')),
    [],
  );
  await diskIs(3);
  await boot();
  await onOwnDisks();
  const incr3 = await backup();
  assert.equal(incr3.parentId, incrRemote.id, 'the checkpoint survived the offline commit');
  await run('qemu-img', ['compare', '-f', 'qcow2', '-F', 'raw', join(await root(), incr3.id, 'vdb.qcow2'), state(3)]);
});
