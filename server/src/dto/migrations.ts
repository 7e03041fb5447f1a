// Moving VMs (#20): live migration, cold migration and storage move through one operation
// (POST /vms/:id/migrate; the contract is /tmp/s19/contract.md), and cancelling a running task.
// A migrate task reports phase, progress, detail {diskPercent, memoryPercent, expectedDowntimeMs}
// and ends with MigrationResultDto.
import { arr, bool, int, named, obj, oneOf, opt, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import type { Operation } from './operation.js';
import { TaskDto } from './tasks.js';

export const MIGRATION_MODES = ['live', 'cold'] as const;

export const MigrateVmDto = named(
  'MigrateVmDto',
  obj({
    hostId: str({ description: "the destination host; the VM's own host with another poolId = a storage move" }),
    poolId: opt(str({ description: "a pool (name) on the destination host; default: placement's choice there" })),
    mode: opt(oneOf(MIGRATION_MODES, { description: 'default: live when running, cold when shut off' })),
    bandwidthMibPerS: opt(int({ min: 1, max: 1_000_000, description: 'limit for the memory and disk copy' })),
  }),
);
export type MigrateVmDto = Infer<typeof MigrateVmDto>;

export const MigrationResultDto = named(
  'MigrationResultDto',
  obj({
    vmId: str(),
    totalMs: int({ description: 'from the task start until the VM ran on the destination' }),
    downtimeMs: int({ description: 'the guest paused for the switchover, as libvirt measured it' }),
    from: obj({ hostId: str(), pools: arr(str()) }),
    to: obj({ hostId: str(), pool: str() }),
  }),
);
export type MigrationResultDto = Infer<typeof MigrationResultDto>;

export const MigrationTargetDto = named(
  'MigrationTargetDto',
  obj({
    hostId: str(),
    hostName: str(),
    ok: bool({ description: 'the VM can move there (into at least one of its pools)' }),
    reasons: arr(str(), { description: 'why not, each naming what is missing' }),
    pools: arr(
      obj({
        poolId: str({ description: 'the pool name (pass as poolId)' }),
        name: str(),
        freeBytes: int(),
        ok: bool(),
        reason: opt(str()),
      }),
    ),
    recommended: bool({ description: "placement's choice: the eligible host (not its own) with the most free memory" }),
  }),
);
export type MigrationTargetDto = Infer<typeof MigrationTargetDto>;

export const migrationOperations = [
  {
    id: 'migrateVm',
    method: 'POST',
    path: '/api/v1/vms/:id/migrate',
    tag: 'vms',
    role: 'operator',
    body: MigrateVmDto,
    status: 202,
    response: TaskDto,
    summary:
      'Move a VM to another host (live while it runs, cold when off) or its disks to another pool of its host. 400/409 name what is missing; 409 "VM is being migrated" while a move runs. Task result: MigrationResultDto',
  },
  {
    id: 'getMigrationTargets',
    method: 'GET',
    path: '/api/v1/vms/:id/migrate/targets',
    tag: 'vms',
    role: 'viewer',
    status: 200,
    response: arr(MigrationTargetDto),
    summary:
      "Where the VM could move: every host of the vDC with its pools, whether each can take the VM and why not, and placement's recommendation",
  },
  {
    id: 'cancelTask',
    method: 'POST',
    path: '/api/v1/tasks/:id/cancel',
    tag: 'tasks',
    role: 'operator',
    status: 202,
    response: TaskDto,
    summary:
      'Cancel a running task that can be cancelled (a migration: the VM keeps running where it was); 409 when it is done or cannot be cancelled',
  },
] as const satisfies readonly Operation[];
