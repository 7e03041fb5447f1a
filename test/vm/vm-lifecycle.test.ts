// VmService, ConsoleService and Watch on the real libvirtd with the test guest: one booted guest
// carries the lifecycle (console and its pty size, shared viewers, scrollback for a late viewer,
// stats, pause, reboot, graceful shutdown, snapshot revert, out-of-band destroy seen as an event,
// update, clone, delete) — nothing left behind.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readlink } from 'node:fs/promises';
import { status, type ServiceError } from '@grpc/grpc-js';
import { NicKind, NicModel, VmState } from '@quantix/proto/v1/vm.js';
import { startTestAgent } from '../../agent/src/test-support/agent-harness.js';
import { promisify } from '../../agent/src/test-support/promisify.js';
import { Virsh } from '../../agent/src/libvirt/virsh.js';
import { consoleLogPath } from '../../agent/src/console/console-log.js';
import { run } from '../../agent/src/exec/run.js';
import { createGuestPool, testName } from './guest-pool.js';
import { ConsoleClient } from './console-client.js';
import { WatchClient } from './watch-client.js';
import { guestSpec } from './vm-spec.js';
import { consoleProcesses, domainsWithPrefix, eventually } from './leftovers.js';
import { testGuest } from '../guest/fixture.js';

const virsh = new Virsh('qemu:///system');
const code = (c: status, text?: RegExp) => (e: ServiceError) => e.code === c && (!text || text.test(e.details));

/** "rows cols" of the pty the VM's one `virsh console` runs on, as `stty size` reads it. */
async function consolePtySize(vm: string): Promise<string> {
  const [pid, ...more] = await consoleProcesses([vm]);
  assert.ok(pid !== undefined && more.length === 0, `one virsh console for ${vm}`);
  const tty = await readlink(`/proc/${pid}/fd/0`);
  assert.match(tty, /^\/dev\/pts\/\d+$/);
  return (await run('stty', ['-F', tty, 'size'])).stdout.trim();
}

test('VM lifecycle through the agent: console, events, shutdown, snapshots, update, clone, delete', async (t) => {
  const agent = await startTestAgent();
  const pool = await createGuestPool();
  const name = testName('life');
  const names = [name, `${name}-full`, `${name}-linked`];
  t.after(async () => {
    for (const n of names) {
      await virsh.exec(['destroy', n]).catch(() => undefined);
      await virsh.exec(['undefine', '--nvram', '--snapshots-metadata', n]).catch(() => undefined);
    }
    await agent.stop();
    await pool.remove();
  });
  const vm = agent.clients.vm;
  const getVm = promisify(vm, vm.getVm);
  const watch = new WatchClient(agent.clients.host.watch({ metricsIntervalMs: 1000 }));
  t.after(() => watch.close());

  // An isolated (no forwarding) transient libvirt network with DHCP, for the guest's address.
  const net = `${name}-net`;
  const octet = 100 + Math.floor(Math.random() * 150);
  const bridge = `qxtvm${name.slice(-6)}`;
  await virsh.execWithXml(
    `<network><name>${net}</name><bridge name='${bridge}'/><ip address='10.213.${octet}.1' netmask='255.255.255.0'>` +
      `<dhcp><range start='10.213.${octet}.10' end='10.213.${octet}.50'/></dhcp></ip></network>`,
    (file) => ['net-create', file],
  );
  t.after(() => virsh.exec(['net-destroy', net]).catch(() => undefined));

  // Define: an e1000 NIC (the guest's driver) on that network, and metadata.
  const volume = await pool.addGuestDisk(`${name}.qcow2`);
  const spec = guestSpec(name, pool.name, volume, {
    description: 'lifecycle <test>',
    tags: ['qxt', 'life'],
    nics: [{ kind: NicKind.NIC_KIND_NETWORK, source: net, model: NicModel.NIC_MODEL_E1000, mac: '' }],
  });
  const defined = await promisify(vm, vm.defineVm)({ spec });
  const uuid = defined.spec!.uuid;
  await watch.vmState(name, 'Defined');
  assert.equal(defined.state, VmState.VM_STATE_SHUTOFF);
  assert.equal(defined.spec!.description, 'lifecycle <test>');
  assert.deepEqual(defined.spec!.tags, ['qxt', 'life']);
  assert.match(defined.macs[0]!, /^52:54:00:/);
  await assert.rejects(promisify(vm, vm.defineVm)({ spec }), code(status.ALREADY_EXISTS, /already exists/));
  assert.ok((await promisify(vm, vm.listVms)({})).vms.some((v) => v.spec!.uuid === uuid));
  await assert.rejects(getVm({ id: 'qxt-vm-nobody' }), code(status.NOT_FOUND, /VM qxt-vm-nobody not found/));
  await assert.rejects(
    promisify(vm, vm.forceOffVm)({ id: name }),
    code(status.FAILED_PRECONDITION, new RegExp(`VM ${name} is not running`)),
  );

  // Start; a second start is refused in plain words; editing a running VM too.
  assert.equal((await promisify(vm, vm.startVm)({ id: name })).state, VmState.VM_STATE_RUNNING);
  await watch.vmState(name, 'Started');
  await assert.rejects(
    promisify(vm, vm.startVm)({ id: name }),
    code(status.FAILED_PRECONDITION, new RegExp(`VM ${name} is already running`)),
  );
  await assert.rejects(
    promisify(vm, vm.updateVm)({ vm: { id: uuid }, spec: { ...spec, memoryMib: 160 } }),
    code(status.FAILED_PRECONDITION, /shut it down before changing its settings/),
  );

  // Console: banner, echo round trip, resize; a second viewer shares the same pty.
  const c1 = new ConsoleClient(agent.clients.console.console()).open(uuid, 100, 30);
  await c1.waitFor(testGuest.banner, 90_000);
  c1.send('one\r');
  await c1.waitFor(`${testGuest.echoPrefix}one`);
  assert.equal(await consolePtySize(uuid), '30 100', 'the pty has the size given at open');
  c1.resize(120, 40);
  assert.ok(await eventually(async () => (await consolePtySize(uuid)) === '40 120'), 'the pty learned the new size');
  // The guest's DHCP address shows up in GetVm (from libvirt's lease).
  await c1.waitFor(testGuest.leaseLine, 60_000);
  const leased = testGuest.leaseLine.exec(c1.output)![1]!;
  assert.ok(
    await eventually(async () => (await getVm({ id: uuid })).ipAddresses.includes(leased), 20_000),
    `GetVm lists ${leased}`,
  );
  const c2 = new ConsoleClient(agent.clients.console.console()).open(name);
  const mark = c1.output.length;
  c2.send('two\r');
  await c2.waitFor(`${testGuest.echoPrefix}two`);
  await c1.waitFor(`${testGuest.echoPrefix}two`, 30_000, mark);
  assert.equal((await consoleProcesses([uuid])).length, 1, 'one shared virsh console for both viewers');
  c1.call.end();
  await c1.ended;
  assert.equal(c1.closedReason, 'closed by client');
  c2.send('three\r');
  await c2.waitFor(`${testGuest.echoPrefix}three`);
  c2.call.cancel(); // a client that goes away without closing
  assert.ok(
    await eventually(async () => (await consoleProcesses([uuid])).length === 0),
    'console process gone after cancel',
  );
  // A viewer that attaches later first sees what the console showed before (the serial log),
  // nothing typed this time.
  const late = new ConsoleClient(agent.clients.console.console()).open(uuid);
  await late.waitFor(`${testGuest.echoPrefix}three`, 15_000);
  assert.ok(late.output.includes(testGuest.banner), 'the boot banner is in the replayed scrollback');
  late.call.end();
  await late.ended;

  // Stats, metrics batch, pause/resume (a paused VM refuses edits, naming its state), reboot.
  const stats = await promisify(vm, vm.getVmStats)({ id: uuid });
  assert.equal(stats.uuid, uuid);
  assert.equal(stats.memoryBytes, testGuest.memoryMib * 1024 * 1024);
  assert.ok(stats.cpuPercent >= 0 && stats.cpuPercent <= 100);
  await watch.waitFor(
    'vm metrics batch',
    (e) => e.event?.$case === 'vmMetrics' && e.event.value.stats.some((s) => s.uuid === uuid),
  );
  assert.equal((await promisify(vm, vm.pauseVm)({ id: uuid })).state, VmState.VM_STATE_PAUSED);
  await assert.rejects(promisify(vm, vm.pauseVm)({ id: uuid }), code(status.FAILED_PRECONDITION, /already paused/));
  await assert.rejects(
    promisify(vm, vm.updateVm)({ vm: { id: uuid }, spec: { ...spec, memoryMib: 160 } }),
    code(
      status.FAILED_PRECONDITION,
      new RegExp(`^VM ${name} is paused: resume and shut it down, or force it off, before changing its settings$`),
    ),
  );
  await assert.rejects(
    promisify(vm, vm.deleteVm)({ vm: { id: uuid }, deleteDisks: false }),
    code(status.FAILED_PRECONDITION, new RegExp(`^VM ${name} is paused: force it off before deleting it$`)),
  );
  await assert.rejects(
    promisify(vm, vm.rebootVm)({ id: uuid }),
    code(status.FAILED_PRECONDITION, /is paused: resume it before rebooting it/),
  );
  assert.equal((await promisify(vm, vm.resumeVm)({ id: uuid })).state, VmState.VM_STATE_RUNNING);
  await watch.vmState(name, 'Resumed');

  // Reboot: the guest powers off on ACPI and libvirt starts it again in the same QEMU process,
  // so the console stays attached and shows the guest booting again.
  const c3 = new ConsoleClient(agent.clients.console.console()).open(uuid);
  c3.send('ready?\r');
  await c3.waitFor(`${testGuest.echoPrefix}ready?`);
  const beforeReboot = c3.output.length;
  assert.equal((await promisify(vm, vm.rebootVm)({ id: uuid })).state, VmState.VM_STATE_RUNNING);
  await c3.waitFor(testGuest.banner, 90_000, beforeReboot);
  assert.equal((await getVm({ id: uuid })).state, VmState.VM_STATE_RUNNING);

  // Graceful shutdown (the guest powers off on ACPI).
  c3.send('ready again?\r');
  await c3.waitFor(`${testGuest.echoPrefix}ready again?`, 30_000, beforeReboot);
  const off = await promisify(vm, vm.shutdownVm)({ vm: { id: uuid }, timeoutSeconds: 60 });
  assert.equal(off.state, VmState.VM_STATE_SHUTOFF);
  await watch.vmState(name, 'Stopped Shutdown');
  await c3.ended;
  assert.equal(c3.closedReason, 'vm stopped');

  // Snapshot while off; start; revert brings back the shut-off state; delete it.
  const snap = await promisify(
    vm,
    vm.createSnapshot,
  )({ vm: { id: uuid }, name: 'clean', description: 'before anything' });
  assert.equal(snap.name, 'clean');
  assert.equal(snap.state, VmState.VM_STATE_SHUTOFF);
  await assert.rejects(
    promisify(vm, vm.createSnapshot)({ vm: { id: uuid }, name: 'clean', description: '' }),
    code(status.ALREADY_EXISTS),
  );
  const listed = await promisify(vm, vm.listSnapshots)({ id: uuid });
  assert.deepEqual(
    listed.snapshots.map((s) => [s.name, s.description, s.current]),
    [['clean', 'before anything', true]],
  );
  await promisify(vm, vm.startVm)({ id: uuid });
  assert.equal((await getVm({ id: uuid })).snapshotCount, 1);
  const reverted = await promisify(vm, vm.revertSnapshot)({ vm: { id: uuid }, name: 'clean' });
  assert.equal(reverted.state, VmState.VM_STATE_SHUTOFF);
  await assert.rejects(
    promisify(vm, vm.revertSnapshot)({ vm: { id: uuid }, name: 'nope' }),
    code(status.NOT_FOUND, /snapshot nope/),
  );
  await promisify(vm, vm.deleteSnapshot)({ vm: { id: uuid }, name: 'clean' });
  assert.deepEqual((await promisify(vm, vm.listSnapshots)({ id: uuid })).snapshots, []);

  // A guest that does not answer ACPI in time (still in its firmware): a clear error, no hang.
  await promisify(vm, vm.startVm)({ id: uuid });
  await assert.rejects(
    promisify(vm, vm.shutdownVm)({ vm: { id: uuid }, timeoutSeconds: 1 }),
    code(status.DEADLINE_EXCEEDED, /did not power off within 1 s .*use force off/),
  );
  // A hardware reset also drops the guest's pending ACPI request from the shutdown above.
  assert.equal((await promisify(vm, vm.resetVm)({ id: uuid })).state, VmState.VM_STATE_RUNNING);

  // Out-of-band destroy with plain virsh: seen as an event; the console ends, no process left.
  const c4 = new ConsoleClient(agent.clients.console.console()).open(uuid);
  await eventually(async () => (await consoleProcesses([uuid])).length === 1);
  if ((await getVm({ id: uuid })).state !== VmState.VM_STATE_RUNNING) await promisify(vm, vm.startVm)({ id: uuid });
  await virsh.exec(['destroy', uuid]);
  await watch.vmState(name, 'Stopped Destroyed');
  await c4.ended;
  assert.ok(
    await eventually(async () => (await consoleProcesses([uuid])).length === 0),
    'console process gone after VM stop',
  );
  await assert.rejects(
    (async () => {
      const c = new ConsoleClient(agent.clients.console.console()).open(uuid);
      await c.ended;
      if (c.error) throw c.error;
    })(),
    code(status.FAILED_PRECONDITION, /is not running, so it has no console/),
  );

  // Update while off (memory, description, NIC model; MAC kept).
  const updated = await promisify(
    vm,
    vm.updateVm,
  )({
    vm: { id: uuid },
    spec: {
      ...spec,
      memoryMib: 160,
      description: 'updated',
      nics: [{ ...spec.nics[0]!, model: NicModel.NIC_MODEL_VMXNET3 }],
    },
  });
  assert.equal(updated.spec!.memoryMib, 160);
  assert.equal(updated.spec!.description, 'updated');
  assert.equal(updated.spec!.nics[0]!.model, NicModel.NIC_MODEL_VMXNET3);
  assert.deepEqual(updated.macs, defined.macs);

  // Clones: full copy and linked overlay; new identity; deleted with their disks.
  const full = await promisify(vm, vm.cloneVm)({ source: { id: uuid }, name: names[1]!, linked: false });
  const linked = await promisify(vm, vm.cloneVm)({ source: { id: uuid }, name: names[2]!, linked: true });
  for (const c of [full, linked]) {
    assert.notEqual(c.spec!.uuid, uuid);
    assert.notEqual(c.macs[0], defined.macs[0]);
    assert.equal(c.spec!.disks[0]!.pool, pool.name);
    assert.ok(existsSync(`${pool.dir}/${c.spec!.disks[0]!.volume}`));
  }
  assert.match(
    await virsh.exec(['vol-dumpxml', '--pool', pool.name, linked.spec!.disks[0]!.volume]),
    new RegExp(`<backingStore>\\s*<path>${pool.dir}/${volume}`),
  );
  for (const c of [full, linked]) {
    await promisify(vm, vm.deleteVm)({ vm: { id: c.spec!.uuid }, deleteDisks: true });
    assert.equal(existsSync(`${pool.dir}/${c.spec!.disks[0]!.volume}`), false);
  }

  // Delete keeping the disk (the console log goes with the VM), then the events say it is gone.
  assert.ok(existsSync(consoleLogPath(virsh.uri, uuid)), 'the VM has a serial log');
  await promisify(vm, vm.deleteVm)({ vm: { id: uuid }, deleteDisks: false });
  assert.equal(existsSync(consoleLogPath(virsh.uri, uuid)), false, 'serial log removed with the VM');
  await watch.vmState(name, 'Undefined');
  const gone = watch.events.find(
    (e) => e.event?.$case === 'vmState' && e.event.value.name === name && e.event.value.removed,
  );
  assert.equal(gone?.event?.$case === 'vmState' && gone.event.value.uuid, uuid);
  assert.ok(existsSync(`${pool.dir}/${volume}`), 'disk kept');
  await assert.rejects(getVm({ id: uuid }), code(status.NOT_FOUND));

  assert.deepEqual((await domainsWithPrefix(name)).sort(), []);
  assert.deepEqual(await consoleProcesses([uuid, name]), []);
});
