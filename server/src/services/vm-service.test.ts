// A host in maintenance takes no new VMs even when the caller names it: creating a VM there
// (explicit hostId) or cloning a VM that lives there is a 409 naming the host, before any
// agent call or task. Updating a VM's NIC list adds and removes NICs without duplicate MACs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NicKind, NicModel, VmSpec, type Vm } from '@quantix/proto/v1/vm.js';
import { VmService, nicMacsForUpdate } from './vm-service.js';
import { EventHub } from './event-hub.js';
import { InventoryService } from './inventory-service.js';
import type { ClusterService } from './cluster-service.js';
import type { TaskService } from './task-service.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { HostConnection } from '../agents/host-connection.js';
import { HttpError } from '../errors.js';

test('a host in maintenance refuses new VMs placed on it by hand', async () => {
  const vm = { spec: { uuid: 'qxt-srv-uuid', name: 'qxt-srv-vm' } } as Vm;
  const host = {
    record: { id: 'qxt-srv-h1', name: 'qxt-srv-maint', clusterId: null, maintenance: true },
    online: true,
    vms: new Map([[vm.spec!.uuid, vm]]),
    requireOnline: () => ({}),
  } as unknown as HostConnection;
  const pool = { get: () => host, hostOfVm: () => host, all: () => [host] } as unknown as AgentPool;
  const tasks = {
    start: () => assert.fail('no task may start for a host in maintenance'),
  } as unknown as TaskService;
  const svc = new VmService(pool, new InventoryService(new EventHub()), {} as ClusterService, tasks);
  const inMaintenance = (e: unknown) =>
    e instanceof HttpError &&
    e.status === 409 &&
    e.message === 'host qxt-srv-maint is in maintenance: no new VMs are placed there';

  await assert.rejects(
    svc.create({ name: 'qxt-srv-new', pool: 'data', memoryMib: 128, hostId: 'qxt-srv-h1' }, 'admin'),
    inMaintenance,
  );
  await assert.rejects(svc.clone('qxt-srv-uuid', { name: 'qxt-srv-copy' }, 'admin'), inMaintenance);
});

/** A VmService over one shut-off VM with `macs` NICs; returns the specs the agent is asked to apply. */
function updateFixture(macs: string[]) {
  const spec = VmSpec.fromPartial({
    uuid: 'qxt-srv-nics',
    name: 'qxt-srv-nics',
    sockets: 1,
    cores: 1,
    memoryMib: 128,
    nics: macs.map((mac) => ({ kind: NicKind.NIC_KIND_NETWORK, source: 'lan', model: NicModel.NIC_MODEL_VIRTIO, mac })),
  });
  const vm = { spec } as Vm;
  const applied: VmSpec[] = [];
  const agent = {
    getVm: () => Promise.resolve(vm),
    updateVm: (_id: string, spec: VmSpec) => {
      applied.push(spec);
      return Promise.resolve({ spec });
    },
  };
  const host = {
    record: { id: 'qxt-srv-h2', name: 'qxt-srv-host', clusterId: null, maintenance: false },
    online: true,
    vms: new Map([[spec.uuid, vm]]),
    vmStats: new Map(),
    requireOnline: () => agent,
  } as unknown as HostConnection;
  const pool = { get: () => host, hostOfVm: () => host, all: () => [host] } as unknown as AgentPool;
  const svc = new VmService(pool, new InventoryService(new EventHub()), {} as ClusterService, {} as TaskService);
  return { svc, applied };
}

test('a NIC can be added to a VM that has none; libvirt picks its MAC', async () => {
  const { svc, applied } = updateFixture([]);
  const dto = await svc.update('qxt-srv-nics', { nics: [{ kind: 'network', source: 'lan', model: 'e1000' }] });
  assert.deepEqual(
    applied[0]!.nics.map((n) => [n.kind, n.source, n.model, n.mac]),
    [[NicKind.NIC_KIND_NETWORK, 'lan', NicModel.NIC_MODEL_E1000, '']],
  );
  assert.deepEqual(dto.nics, [{ kind: 'network', source: 'lan', model: 'e1000', mac: '' }]);
});

test('removing the first NIC and adding one gives the new NIC a fresh MAC, not the kept one', async () => {
  const { svc, applied } = updateFixture(['52:54:00:00:00:0a', '52:54:00:00:00:0b']);
  await svc.update('qxt-srv-nics', {
    nics: [
      { kind: 'network', source: 'lan', mac: '52:54:00:00:00:0b' },
      { kind: 'network', source: 'wan' },
    ],
  });
  const macs = applied[0]!.nics.map((n) => n.mac);
  assert.equal(macs[0], '52:54:00:00:00:0b');
  assert.match(macs[1]!, /^52:54:00(:[0-9a-f]{2}){3}$/);
  assert.notEqual(macs[1], '52:54:00:00:00:0b');
  await svc.update('qxt-srv-nics', { nics: [{ kind: 'network', source: 'wan' }] });
  assert.deepEqual(
    applied[1]!.nics.map((n) => [n.source, n.mac]),
    [['wan', '52:54:00:00:00:0a']],
    'a NIC given without a MAC keeps the one at its position',
  );
  await svc.update('qxt-srv-nics', { nics: [] });
  assert.deepEqual(applied[2]!.nics, [], 'every NIC can be removed');
});

test('nicMacsForUpdate never hands out a MAC twice', () => {
  const fresh = ['52:54:00:00:00:0b', '52:54:00:00:00:0c'];
  const macs = nicMacsForUpdate(
    [{ mac: '52:54:00:00:00:0B' }, {}, {}],
    [{ mac: '52:54:00:00:00:0a' }, { mac: '52:54:00:00:00:0b' }],
    () => fresh.shift()!,
  );
  assert.deepEqual(macs, ['52:54:00:00:00:0B', '52:54:00:00:00:0c', '']);
});
