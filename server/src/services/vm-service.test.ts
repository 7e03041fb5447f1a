// A host in maintenance takes no new VMs even when the caller names it: creating a VM there
// (explicit hostId) or cloning a VM that lives there is a 409 naming the host, before any
// agent call or task.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Vm } from '@quantix/proto/v1/vm.js';
import { VmService } from './vm-service.js';
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
    e instanceof HttpError && e.status === 409 && e.message === 'host qxt-srv-maint is in maintenance: no new VMs are placed there';

  await assert.rejects(svc.create({ name: 'qxt-srv-new', pool: 'data', memoryMib: 128, hostId: 'qxt-srv-h1' }, 'admin'), inMaintenance);
  await assert.rejects(svc.clone('qxt-srv-uuid', { name: 'qxt-srv-copy' }, 'admin'), inMaintenance);
});
