// Guest agent and hotplug on one running test guest (#21): qemu-ga answers on the VM's channel
// (the VM says so), a CD-ROM inserted and ejected, a disk attached and detached, a NIC attached
// and detached — each in the live and the persistent XML and, where it can, seen by the guest; a
// SATA disk on a running VM is refused naming disk.bus; a snapshot freezes the filesystems through
// the agent and records it; after a revert to it, shutdown still goes through the guest agent
// (not the ACPI button).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile } from 'node:fs/promises';
import { join } from 'node:path';
import { status } from '@grpc/grpc-js';
import { DiskBus, NicKind, NicModel, VmSpec, VmState } from '@quantix/proto/v1/vm.js';
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';
import { mountFreezableFs } from '../../agent/src/test-support/guest-file.js';
import { promisify } from '../../agent/src/test-support/promisify.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { run } from '../../agent/src/exec/run.js';
import { testGuest } from '../guest/fixture.js';
import { ConsoleClient } from './console-client.js';
import { runInGuest } from './guest-run.js';
import { createGuestPool, testName } from './guest-pool.js';
import { guestSpec } from './vm-spec.js';

const virsh = new Virsh('qemu:///system');

test('guest agent and hotplug on a running VM', async (t) => {
  const agent = await startTestAgent();
  const pool = await createGuestPool();
  const name = testName('guest-ops');
  let serial: ConsoleClient | undefined = undefined;
  t.after(async () => {
    serial?.call.end();
    await virsh.exec(['destroy', name]).catch(() => undefined);
    await virsh.exec(['undefine', '--snapshots-metadata', name]).catch(() => undefined);
    await agent.stop();
    await pool.remove();
  });
  const vm = agent.clients.vm;
  const getVm = () => promisify(vm, vm.getVm)({ id: name });
  const live = () => virsh.exec(['dumpxml', name]);
  const saved = () => virsh.exec(['dumpxml', '--inactive', name]);

  await pool.addGuestDisk('ops.qcow2');
  await copyFile(testGuest.iso, join(pool.dir, 'media.iso'));
  await run('qemu-img', ['create', '-q', '-f', 'qcow2', join(pool.dir, 'extra.qcow2'), '64M']);
  await virsh.exec(['pool-refresh', pool.name]);
  const spec = VmSpec.fromPartial(
    guestSpec(name, pool.name, 'ops.qcow2', { cdroms: [{ pool: '', volume: '', bus: DiskBus.DISK_BUS_SATA }] }),
  );
  await promisify(vm, vm.defineVm)({ spec });
  assert.match(await saved(), /<target type='virtio' name='org.qemu.guest_agent.0'\/>/, 'the guest agent channel');
  await promisify(vm, vm.startVm)({ id: name });
  serial = new ConsoleClient(agent.clients.console.console()).open(name);
  await serial.waitFor(testGuest.banner, 180_000);
  /** Runs `cmd` in the guest and returns what it printed. */
  const guest = (cmd: string) => runInGuest(serial!, cmd);
  /** Waits in the guest (up to 20 s) until `test` holds, then runs `cmd`. */
  const guestWhen = (test: string, cmd: string) =>
    guest(`i=0; while ! ${test} && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done; ${cmd}`);

  // The guest agent: the VM reports it once qemu-ga opened its port.
  const deadline = Date.now() + 120_000;
  while (!(await getVm()).guestAgentRunning) {
    assert.ok(Date.now() < deadline, 'the guest agent connects within 2 minutes');
    await new Promise((r) => setTimeout(r, 500));
  }

  // CD-ROM: insert, seen by the guest (ISO 9660's "CD001" at sector 16), then eject.
  const isoMark = 'dd if=/dev/sr0 bs=2048 skip=16 count=1 2>/dev/null | grep -c CD001';
  assert.equal((await guest(isoMark)).trim(), '0', 'no medium at first');
  const inserted = await promisify(
    vm,
    vm.changeCdromMedia,
  )({
    vm: { id: name },
    index: 0,
    pool: pool.name,
    volume: 'media.iso',
  });
  assert.deepEqual(inserted.spec!.cdroms[0], { pool: pool.name, volume: 'media.iso', bus: DiskBus.DISK_BUS_SATA });
  for (const xml of [await live(), await saved()]) assert.match(xml, /<source file='[^']*\/media\.iso'/);
  // The first read after a media change may only report the change (SCSI unit attention).
  const seen = await guestWhen(`[ "$(${isoMark})" = 1 ]`, `${isoMark}; ls /dev/sr*`);
  assert.equal(seen.trim().split('\n')[0], '1', `the guest reads the inserted ISO: ${seen}`);
  const ejected = await promisify(vm, vm.changeCdromMedia)({ vm: { id: name }, index: 0, pool: '', volume: '' });
  assert.deepEqual(ejected.spec!.cdroms[0], { pool: '', volume: '', bus: DiskBus.DISK_BUS_SATA });
  for (const xml of [await live(), await saved()]) assert.doesNotMatch(xml, /media\.iso/);
  await assert.rejects(
    promisify(vm, vm.changeCdromMedia)({ vm: { id: name }, index: 3, pool: '', volume: '' }),
    (e: Error) => /index: VM .* has 1 CD-ROM drive\(s\); there is no drive 3/.test(e.message),
  );

  // Disk: a SATA disk is refused while running; a virtio one appears in the guest, then goes.
  await assert.rejects(
    promisify(
      vm,
      vm.attachDisk,
    )({
      vm: { id: name },
      disk: { pool: pool.name, volume: 'extra.qcow2', bus: DiskBus.DISK_BUS_SATA, readonly: false },
    }),
    (e: Error & { code?: number }) =>
      e.code === status.INVALID_ARGUMENT && /disk\.bus: a SATA disk cannot/.test(e.message),
  );
  const attached = await promisify(
    vm,
    vm.attachDisk,
  )({
    vm: { id: name },
    disk: { pool: pool.name, volume: 'extra.qcow2', bus: DiskBus.DISK_BUS_VIRTIO, readonly: false },
  });
  assert.deepEqual(attached.spec!.disks[1], {
    pool: pool.name,
    volume: 'extra.qcow2',
    bus: DiskBus.DISK_BUS_VIRTIO,
    readonly: false,
  });
  for (const xml of [await live(), await saved()])
    assert.match(xml, /extra\.qcow2'[^>]*\/>\s*(<backingStore\/>\s*)?<target dev='vdb'/);
  assert.equal((await guestWhen('[ -e /sys/block/vdb ]', 'cat /sys/block/vdb/size')).trim(), '131072');
  const detached = await promisify(vm, vm.detachDisk)({ vm: { id: name }, target: 'vdb' });
  assert.equal(detached.spec!.disks.length, 1);
  for (const xml of [await live(), await saved()]) assert.doesNotMatch(xml, /extra\.qcow2/);
  assert.equal((await guestWhen('[ ! -e /sys/block/vdb ]', 'ls /sys/block | grep -c vdb')).trim(), '0');

  // NIC: attached (the guest gets an interface), detached by MAC.
  const withNic = await promisify(
    vm,
    vm.attachNic,
  )({
    vm: { id: name },
    nic: { kind: NicKind.NIC_KIND_USER, source: '', model: NicModel.NIC_MODEL_E1000, mac: '' },
  });
  const mac = withNic.macs[0]!;
  assert.match(mac, /^52:54:00:/);
  for (const xml of [await live(), await saved()]) assert.ok(xml.includes(`<mac address='${mac}'/>`));
  assert.equal((await guestWhen('[ -e /sys/class/net/eth0 ]', 'cat /sys/class/net/eth0/address')).trim(), mac);
  const noNic = await promisify(vm, vm.detachNic)({ vm: { id: name }, mac });
  assert.deepEqual(noNic.macs, []);
  for (const xml of [await live(), await saved()]) assert.ok(!xml.includes(mac));

  // Snapshot: taken with the filesystems frozen by the guest agent, and recorded so; thawed after.
  // (The bare test guest's are tmpfs and initramfs, which qemu-ga does not freeze: one that it does.)
  await mountFreezableFs(virsh, name);
  const snap = await promisify(
    vm,
    vm.createSnapshot,
  )({
    vm: { id: name },
    name: 's1',
    description: '',
  });
  assert.equal(snap.quiesced, true);
  const listed = await promisify(
    vm,
    vm.listSnapshots,
  )({
    id: name,
  });
  assert.deepEqual(
    listed.snapshots.map((s) => [s.name, s.quiesced]),
    [['s1', true]],
  );
  assert.match(await guest('echo thawed > /tmp/t && cat /tmp/t'), /thawed/, 'the guest writes after the thaw');
  // Reverting to it: the guest's memory comes back frozen, the revert thaws it; the guest runs on
  // and its agent still shuts it down.
  const reverted = await promisify(vm, vm.revertSnapshot)({ vm: { id: name }, name: 's1' });
  assert.equal(reverted.state, VmState.VM_STATE_RUNNING);
  assert.equal(
    (await virsh.exec(['qemu-agent-command', name, '{"execute":"guest-fsfreeze-status"}'])).trim(),
    '{"return":"thawed"}',
    'thawed after the revert',
  );
  // libvirt restarted QEMU for the revert: a new console session.
  serial.call.end();
  serial = new ConsoleClient(agent.clients.console.console()).open(name);
  // A line sent before the new session reaches the guest's serial port is lost: send until echoed.
  for (let i = 0; !serial.output.includes('qx-echo: after-revert'); i++) {
    assert.ok(i < 12, 'the reverted guest echoes on its console');
    serial.send('after-revert\n');
    await serial.waitFor(/qx-echo: after-revert/, 5_000).catch(() => undefined);
  }

  // Shutdown through the guest agent: the guest's shutdown command runs, not the ACPI button.
  const from = serial.output.length;
  const off = await promisify(vm, vm.shutdownVm)({ vm: { id: name }, timeoutSeconds: 120 });
  assert.equal(off.guestAgentRunning, false);
  assert.match(serial.output.slice(from), /qx-guest: shutdown/);
  assert.doesNotMatch(serial.output.slice(from), /ACPI power button/);
});
