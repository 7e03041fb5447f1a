// Which host can run a VM's CPU model, Secure Boot and TPM (from HostInfo), and placement that
// skips the hosts that cannot, saying why with the model's name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostInfo } from '@quantix/proto/v1/host.js';
import { PoolState, type Pool } from '@quantix/proto/v1/storage.js';
import { CpuMode } from '@quantix/proto/v1/vm.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { HostConnection } from '../agents/host-connection.js';
import { HttpError } from '../errors.js';
import { Db } from '../store/db.js';
import { ClusterNetworkRepo } from '../store/cluster-network-repo.js';
import { ClusterRepo, HostRepo } from '../store/host-repo.js';
import { ClusterService } from './cluster-service.js';
import { guestHardwareIncompatibility, type GuestHardware } from './cpu-compat.js';
import { EventHub } from './event-hub.js';
import { InventoryService } from './inventory-service.js';

const GiB = 2 ** 30;
const tcg = HostInfo.fromPartial({
  domainType: 'qemu',
  cpuModel: 'AMD EPYC 7B13',
  cpuModels: ['x86-64-v2-AES', 'Westmere', 'qemu64'],
  cpuModes: [CpuMode.CPU_MODE_NAMED, CpuMode.CPU_MODE_MAX],
  secureBoot: true,
  tpm: true,
});
const kvm = HostInfo.fromPartial({
  domainType: 'kvm',
  cpuModel: 'Intel Xeon Gold 6338',
  cpuModels: ['x86-64-v2-AES', 'Westmere', 'Icelake-Server'],
  cpuModes: [
    CpuMode.CPU_MODE_HOST_PASSTHROUGH,
    CpuMode.CPU_MODE_HOST_MODEL,
    CpuMode.CPU_MODE_NAMED,
    CpuMode.CPU_MODE_MAX,
  ],
  secureBoot: false,
  tpm: false,
});
const vm = (over: Partial<GuestHardware>): GuestHardware => ({
  cpuMode: CpuMode.CPU_MODE_NAMED,
  cpuModel: 'x86-64-v2-AES',
  secureBoot: false,
  tpm: false,
  ...over,
});

test('a host runs what it reports, and says what it lacks', () => {
  assert.equal(guestHardwareIncompatibility(vm({}), tcg), '');
  assert.equal(
    guestHardwareIncompatibility(vm({ cpuModel: 'Icelake-Server' }), tcg),
    'cannot run the CPU model Icelake-Server',
  );
  assert.equal(guestHardwareIncompatibility(vm({ cpuModel: 'Icelake-Server' }), kvm), '');
  assert.match(
    guestHardwareIncompatibility(vm({ cpuMode: CpuMode.CPU_MODE_HOST_PASSTHROUGH, cpuModel: '' }), tcg),
    /host-passthrough \(it needs KVM/,
  );
  assert.equal(guestHardwareIncompatibility(vm({ cpuMode: CpuMode.CPU_MODE_MAX, cpuModel: '' }), tcg), '');
  assert.equal(guestHardwareIncompatibility(vm({ cpuMode: CpuMode.CPU_MODE_UNSPECIFIED, cpuModel: '' }), tcg), '');
  assert.match(guestHardwareIncompatibility(vm({ secureBoot: true }), kvm), /Secure Boot/);
  assert.match(guestHardwareIncompatibility(vm({ tpm: true }), kvm), /TPM/);
  assert.match(guestHardwareIncompatibility(vm({}), undefined), /not reported/);
  const unread = HostInfo.fromPartial({ ...tcg, cpuModels: [], cpuModes: [] });
  assert.equal(guestHardwareIncompatibility(vm({ cpuModel: 'EPYC' }), unread), '', 'an unread CPU list is no refusal');
  // Migration: host-passthrough moves only between identical host CPUs.
  const pass = vm({ cpuMode: CpuMode.CPU_MODE_HOST_PASSTHROUGH, cpuModel: '' });
  assert.equal(guestHardwareIncompatibility(pass, kvm, kvm), '');
  assert.match(guestHardwareIncompatibility(pass, kvm, { ...kvm, cpuModel: 'AMD EPYC 7763' }), /different CPU/);
});

test('placement skips a host that cannot run the VM model, naming the model', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-cpu-placement-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = await Db.open(dir);
  const host = (id: string, info: HostInfo, free: number) =>
    ({
      record: { id, name: id, clusterId: null, maintenance: false },
      online: true,
      info,
      pools: new Map([['data', { name: 'data', state: PoolState.POOL_STATE_ACTIVE } as Pool]]),
      metrics: { memoryTotalBytes: 64 * GiB, memoryUsedBytes: 64 * GiB - free },
    }) as unknown as HostConnection;
  const hosts = [host('roomy-tcg', tcg, 60 * GiB), host('small-kvm', kvm, 8 * GiB)];
  const svc = new ClusterService(
    new ClusterRepo(db),
    new HostRepo(db),
    new ClusterNetworkRepo(db),
    { all: () => hosts } as unknown as AgentPool,
    new InventoryService(new EventHub()),
    new EventHub(),
  );
  assert.equal(svc.placement(undefined, 'data', 0, [], vm({})).hostId, 'roomy-tcg');
  const p = svc.placement(undefined, 'data', 0, [], vm({ cpuModel: 'Icelake-Server' }));
  assert.equal(p.hostId, 'small-kvm');
  assert.equal(p.candidates.find((c) => c.hostId === 'roomy-tcg')?.reason, 'cannot run the CPU model Icelake-Server');
  assert.throws(
    () => svc.placement(undefined, 'data', 0, [], vm({ cpuModel: 'SapphireRapids' })),
    (e: unknown) =>
      e instanceof HttpError &&
      e.status === 409 &&
      /roomy-tcg: cannot run the CPU model SapphireRapids/.test(e.message),
  );
});
