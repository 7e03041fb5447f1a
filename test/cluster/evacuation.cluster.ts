// Maintenance evacuates (two real hosts): host A with three VMs — one running, one stopped, one
// stopped on a network that exists only on A — enters maintenance with stopped VMs moved: the
// running VM moves live and the stopped one cold to B, and the evacuation reports exactly the VM
// whose network B lacks, naming the network; A stays "entering" maintenance while that VM is there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { HostDto } from '../../server/src/dto/hosts.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { VmDto } from '../../server/src/dto/vms.js';
import type { EvacuationResult } from '../../server/src/services/evacuation.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { copying } from './migration-checks.js';
import { startTwoHosts, type TwoHosts } from './two-hosts.js';

const NET = 'qxc-evac-net';

async function forceOff(cluster: TwoHosts, vm: VmDto): Promise<void> {
  const off = await cluster.api.request<TaskDto>('POST', `/api/v1/vms/${vm.id}/force-off`);
  assert.equal((await cluster.waitTask(off.json.id)).status, 'succeeded');
}

test('evacuation: three VMs on A, the one whose network B lacks is reported, the others move', async (t) => {
  const cluster = await startTwoHosts();
  const { api, a, b } = cluster;
  t.after(async () => {
    await api.request('PATCH', `/api/v1/hosts/${a.id}`, { body: { maintenance: false } });
    for (const vm of ['qxc-evac-run', 'qxc-evac-off', 'qxc-evac-stuck']) {
      await a.virsh(['destroy', vm]).catch(() => undefined);
      await a.virsh(['undefine', vm]).catch(() => undefined);
    }
    await api.request('DELETE', `/api/v1/hosts/${a.id}/networks/${NET}`);
    await cluster.stop();
  });
  const net = await api.request('POST', `/api/v1/hosts/${a.id}/networks`, {
    body: { name: NET, kind: 'isolated', subnet: '10.214.99.0/24' },
  });
  assert.equal(net.status, 201, net.text);

  const running = await cluster.createGuestVm(a, 'qxc-evac-run');
  const stopped = await cluster.createGuestVm(a, 'qxc-evac-off');
  await forceOff(cluster, stopped);
  const stuck = await cluster.createGuestVm(a, 'qxc-evac-stuck');
  await forceOff(cluster, stuck);
  const patched = await api.request('PATCH', `/api/v1/vms/${stuck.id}`, {
    body: { nics: [{ kind: 'network', source: NET, model: 'e1000' }] },
  });
  assert.equal(patched.status, 200, patched.text);

  const entered = await api.request<HostDto>('PATCH', `/api/v1/hosts/${a.id}`, {
    body: { maintenance: true, stoppedVms: 'move' },
  });
  assert.equal(entered.status, 200, entered.text);
  assert.equal(entered.json.maintenanceState, 'entering');
  assert.ok(entered.json.evacuationTaskId, 'the evacuation runs as a task');
  const task = await cluster.waitTask(entered.json.evacuationTaskId!, 900_000);
  assert.equal(task.status, 'succeeded', task.error ?? '');
  // Host A is this machine's system libvirtd: other tests' VMs may be there too; judge only ours.
  const all = task.result as EvacuationResult;
  const ours = <T extends { name: string }>(list: T[]) => list.filter((v) => v.name.startsWith('qxc-evac-'));
  const result = { moved: ours(all.moved), left: ours(all.left), unmovable: ours(all.unmovable) };
  assert.deepEqual(result.moved.map((m) => [m.name, m.hostId]).sort(), [
    ['qxc-evac-off', b.id],
    ['qxc-evac-run', b.id],
  ]);
  assert.deepEqual(result.left, []);
  assert.deepEqual(
    result.unmovable.map((u) => u.name),
    ['qxc-evac-stuck'],
  );
  assert.match(result.unmovable[0]!.reason, new RegExp(`network "${NET}" does not exist on host ${b.name}`));

  const vm = async (id: string) => (await api.request<VmDto>('GET', `/api/v1/vms/${id}`)).json;
  assert.deepEqual(
    [await vm(running.id), await vm(stopped.id), await vm(stuck.id)].map((v) => [v.hostId, v.state]),
    [
      [b.id, 'running'],
      [b.id, 'shutoff'],
      [a.id, 'shutoff'],
    ],
  );
  const hostA = (await api.request<HostDto>('GET', `/api/v1/hosts/${a.id}`)).json;
  assert.equal(hostA.maintenanceState, 'entering', 'not "in" maintenance while a VM that must leave is there');
});

// The operator's choice survives a server restart mid-evacuation (host B, whose libvirtd holds only
// this test's VMs): the server stops while the running VM's live move copies its disk; the
// restarted server follows that move, resumes with stopped VMs still moved, and host B is "in"
// maintenance only once both VMs are on A.
test('evacuation: a server restart mid-evacuation resumes it with the operator choice; B ends empty', async (t) => {
  const cluster = await startTwoHosts();
  const { a, b } = cluster;
  const names = ['qxc-evr-run', 'qxc-evr-off'];
  t.after(async () => {
    await cluster.api.request('PATCH', `/api/v1/hosts/${b.id}`, { body: { maintenance: false } });
    for (const host of [a, b]) {
      for (const vm of names) {
        await host.virsh(['destroy', vm]).catch(() => undefined);
        await host.virsh(['undefine', vm]).catch(() => undefined);
      }
    }
    await cluster.stop();
  });
  const running = await cluster.createGuestVm(b, 'qxc-evr-run');
  const stopped = await cluster.createGuestVm(b, 'qxc-evr-off');
  await forceOff(cluster, stopped);

  const entered = await cluster.api.request<HostDto>('PATCH', `/api/v1/hosts/${b.id}`, {
    body: { maintenance: true, stoppedVms: 'move' },
  });
  assert.equal(entered.status, 200, entered.text);
  const first = entered.json.evacuationTaskId!;
  // Mid-evacuation and mid-copy: the running VM's live move copies its disk when the server stops
  // (the source agent's job goes on without it; the restarted server must follow it).
  const liveMove = await eventually(
    'the evacuation started the live move',
    async () => {
      const task = (await cluster.api.request<TaskDto>('GET', `/api/v1/tasks/${first}`)).json;
      const line = task.log.find((l) => l.message.startsWith('qxc-evr-run → '));
      return line && /\(task ([0-9a-f-]{36})\)/.exec(line.message)?.[1];
    },
    300_000,
  );
  await copying(cluster, liveMove);
  await cluster.restartServer();

  const hostB = async () => (await cluster.api.request<HostDto>('GET', `/api/v1/hosts/${b.id}`)).json;
  const resumed = await eventually(
    'the evacuation resumed after the restart',
    async () => {
      const id = (await hostB()).evacuationTaskId;
      return id && id !== first ? id : undefined;
    },
    120_000,
  );
  const task = await cluster.waitTask(resumed, 900_000);
  t.diagnostic(`resumed evacuation: ${task.log.map((l) => l.message).join(' | ')}`);
  assert.equal(task.status, 'succeeded', task.error ?? '');
  assert.deepEqual((task.result as EvacuationResult).unmovable, []);

  const vm = async (id: string) => (await cluster.api.request<VmDto>('GET', `/api/v1/vms/${id}`)).json;
  assert.deepEqual(
    [await vm(running.id), await vm(stopped.id)].map((v) => [v.name, v.hostId, v.state]),
    [
      ['qxc-evr-run', a.id, 'running'],
      ['qxc-evr-off', a.id, 'shutoff'],
    ],
  );
  const onB = await b.virsh(['list', '--all', '--name']);
  assert.ok(!names.some((n) => onB.includes(n)), `no copy left on B: ${onB}`);
  const volsB = await b.virsh(['vol-list', b.pool]);
  assert.ok(!names.some((n) => volsB.includes(n)), `no disk left on B: ${volsB}`);
  const after = await hostB();
  assert.equal(after.maintenance, true);
  assert.equal(after.maintenanceState, 'in', 'B is in maintenance once empty');
});
