// Virtual machines across all hosts. Every lifecycle action is long: it replies 202 with a
// TaskDto whose progress arrives over SSE (event "task"); VM state changes arrive as "vm".
import { arr, bool, int, named, num, obj, oneOf, opt, orNull, record, str } from '../schema/schema.js';
import type { Infer } from '../schema/schema.js';
import { leastRole, type Operation } from './operation.js';
import { objectName, timestamp } from './common.js';
import { TaskDto } from './tasks.js';
import { MetricsHistoryQuery, VmMetricsHistoryDto } from './metrics-history.js';
import {
  BOOT_DEVICES,
  CPU_MODES,
  DISK_BUSES,
  FIRMWARES,
  NIC_KINDS,
  NIC_MODELS,
  VIDEO_MODELS,
  VM_STATES,
} from './enums.js';

export const DiskDto = named('DiskDto', obj({ pool: str(), volume: str(), bus: oneOf(DISK_BUSES), readonly: bool() }));
export type DiskDto = Infer<typeof DiskDto>;
export const CdromDto = named(
  'CdromDto',
  obj({ pool: str({ description: 'empty = empty drive' }), volume: str(), bus: oneOf(DISK_BUSES) }),
);
export type CdromDto = Infer<typeof CdromDto>;
export const NicDto = named(
  'NicDto',
  obj({ kind: oneOf(NIC_KINDS), source: str(), model: oneOf(NIC_MODELS), mac: str() }),
);
export type NicDto = Infer<typeof NicDto>;

export const VmStatsDto = named(
  'VmStatsDto',
  obj({
    at: timestamp(),
    cpuPercent: num(),
    memoryBytes: int(),
    memoryUsedBytes: int(),
    diskReadBytes: int(),
    diskWriteBytes: int(),
    netRxBytes: int(),
    netTxBytes: int(),
  }),
);
export type VmStatsDto = Infer<typeof VmStatsDto>;

export const VmDto = named(
  'VmDto',
  obj({
    id: str({ description: 'libvirt UUID (unique across hosts)' }),
    name: str(),
    hostId: str(),
    hostName: str(),
    state: oneOf(VM_STATES),
    hostOnline: bool({ description: 'false: state is the last known one' }),
    sockets: int(),
    cores: int(),
    memoryMib: int(),
    maxVcpus: int({ description: 'vCPUs the running VM may grow to (setVmVcpus); 0 = sockets × cores' }),
    maxMemoryMib: int({ description: 'memory the running VM may grow to (setVmMemory); 0 = memoryMib' }),
    firmware: oneOf(FIRMWARES),
    machine: str(),
    disks: arr(DiskDto),
    cdroms: arr(CdromDto),
    nics: arr(NicDto),
    bootOrder: arr(oneOf(BOOT_DEVICES)),
    vnc: bool({ description: 'graphical console (VNC on a Unix socket on the host, opened through openGraphics)' }),
    videoModel: oneOf(VIDEO_MODELS),
    description: str(),
    tags: arr(str()),
    osType: str(),
    cpuMode: oneOf([...CPU_MODES, 'default'], {
      description: "'default': QEMU's own CPU (a VM from before CPU models)",
    }),
    cpuModel: str({ description: 'for cpuMode named' }),
    secureBoot: bool(),
    tpm: bool(),
    autostart: bool({ description: 'started by the agent when its host boots' }),
    autostartOrder: int({ description: 'lower starts first' }),
    autostartDelaySeconds: int({ description: 'wait after starting this VM before the next' }),
    guestAgentRunning: bool({ description: 'the QEMU guest agent answers (running VMs)' }),
    diskTargets: arr(str(), { description: 'target device of each disk (vda, sdb, …), for detachVmDisk' }),
    domainType: str(),
    ipAddresses: arr(str()),
    macs: arr(str()),
    graphics: bool({ description: 'running with a graphical console that createGraphicsTicket can open' }),
    stateChangedAt: orNull(timestamp()),
    snapshotCount: int(),
    stats: orNull(VmStatsDto),
  }),
);
export type VmDto = Infer<typeof VmDto>;

const memoryMib = () => int({ min: 16, max: 4_194_304 });
/** Autostart bounds (the agent checks the same: vm-spec-validate.ts). */
const autostartOrder = () => int({ min: 0, max: 9999, description: 'lower starts first; equal orders by name' });
const autostartDelay = () => int({ min: 0, max: 3600, description: 'seconds before the next VM starts' });
/** The guest hardware fields of a create or update (the agent checks the host can run them). */
/** Hotplug ceilings: 0 = none; else at least the boot size (and a multiple of cores), checked by the agent. */
const maxVcpus = () =>
  int({ min: 0, max: 256, description: 'vCPUs a running VM may grow to: a multiple of cores; 0 = no growth' });
const maxMemoryMib = () =>
  int({ min: 0, max: 4_194_304, description: 'memory a running VM may grow to (balloon); 0 = no growth' });
const guestHardware = {
  cpuMode: opt(oneOf(CPU_MODES)),
  cpuModel: opt(
    str({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$',
      description: 'a model the host lists in cpuModels (cpuMode named; default x86-64-v2-AES)',
    }),
  ),
  secureBoot: opt(bool({ description: 'UEFI Secure Boot with Microsoft keys (needs firmware uefi, machine q35)' })),
  tpm: opt(bool({ description: 'a TPM 2.0 (swtpm)' })),
  maxVcpus: opt(maxVcpus()),
  maxMemoryMib: opt(maxMemoryMib()),
};
/** A count of sockets or of cores per socket (sockets × cores is at most 256, checked by the agent). */
export const cpuCount = (description?: string) => int({ min: 1, max: 256, ...(description ? { description } : {}) });

export const NewDiskDto = named(
  'NewDiskDto',
  obj({
    pool: opt(objectName('pool on the chosen host; default: the VM pool')),
    volume: opt(objectName('an existing volume; omit to create <vm>-disk<N>.qcow2')),
    sizeBytes: opt(int({ min: 1_048_576, description: 'size of a new volume' })),
    bus: opt(oneOf(DISK_BUSES)),
    readonly: opt(bool()),
  }),
);
export type NewDiskDto = Infer<typeof NewDiskDto>;
export const NewCdromDto = named(
  'NewCdromDto',
  obj({ pool: opt(objectName()), volume: opt(objectName()), bus: opt(oneOf(DISK_BUSES)) }),
);
export type NewCdromDto = Infer<typeof NewCdromDto>;
export const NewNicDto = named(
  'NewNicDto',
  obj({
    kind: oneOf(NIC_KINDS),
    source: opt(str({ maxLength: 63 })),
    model: opt(oneOf(NIC_MODELS)),
    mac: opt(str({ pattern: '^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$', description: 'aa:bb:cc:dd:ee:ff' })),
  }),
);
export type NewNicDto = Infer<typeof NewNicDto>;

export const CreateVmDto = named(
  'CreateVmDto',
  obj({
    name: objectName(),
    hostId: opt(str({ description: 'place on this host; else placement in clusterId (or all hosts)' })),
    clusterId: opt(str()),
    pool: objectName('pool for new disks; placement only considers hosts that have it'),
    sockets: opt(cpuCount()),
    cores: opt(cpuCount()),
    memoryMib: memoryMib(),
    firmware: opt(oneOf(FIRMWARES)),
    machine: opt(str({ maxLength: 32 })),
    disks: opt(arr(NewDiskDto, { maxItems: 16 })),
    cdroms: opt(arr(NewCdromDto, { maxItems: 4 })),
    nics: opt(arr(NewNicDto, { maxItems: 8 })),
    bootOrder: opt(arr(oneOf(BOOT_DEVICES), { maxItems: 3 })),
    vnc: opt(bool({ description: 'graphical console; default true' })),
    videoModel: opt(oneOf(VIDEO_MODELS, { description: "video device; default 'virtio' (virtio-vga)" })),
    description: opt(str({ maxLength: 1024 })),
    tags: opt(arr(str({ maxLength: 64 }), { maxItems: 32 })),
    osType: opt(str({ maxLength: 32 })),
    ...guestHardware,
    autostart: opt(bool({ description: 'start when the host boots' })),
    autostartOrder: opt(autostartOrder()),
    autostartDelaySeconds: opt(autostartDelay()),
    start: opt(bool({ description: 'start after defining' })),
  }),
);
export type CreateVmDto = Infer<typeof CreateVmDto>;

export const UpdateVmDto = named(
  'UpdateVmDto',
  obj({
    sockets: opt(cpuCount()),
    cores: opt(cpuCount()),
    memoryMib: opt(memoryMib()),
    firmware: opt(oneOf(FIRMWARES)),
    disks: opt(
      arr(obj({ pool: objectName(), volume: objectName(), bus: opt(oneOf(DISK_BUSES)), readonly: opt(bool()) }), {
        maxItems: 16,
      }),
    ),
    cdroms: opt(arr(NewCdromDto, { maxItems: 4 })),
    nics: opt(arr(NewNicDto, { maxItems: 8 })),
    bootOrder: opt(arr(oneOf(BOOT_DEVICES), { maxItems: 3 })),
    vnc: opt(bool()),
    videoModel: opt(oneOf(VIDEO_MODELS)),
    description: opt(str({ maxLength: 1024 })),
    tags: opt(arr(str({ maxLength: 64 }), { maxItems: 32 })),
    ...guestHardware,
  }),
);
export type UpdateVmDto = Infer<typeof UpdateVmDto>;

/** Autostart on host boot, settable in any VM state. */
export const VmAutostartDto = named(
  'VmAutostartDto',
  obj({ enabled: bool(), order: autostartOrder(), delaySeconds: autostartDelay() }),
);
export type VmAutostartDto = Infer<typeof VmAutostartDto>;
/** A volume for a CD-ROM drive; both omitted = eject. */
export const CdromMediaDto = named(
  'CdromMediaDto',
  obj({ pool: opt(objectName()), volume: opt(objectName('a volume of pool (an ISO image)')) }),
);
export type CdromMediaDto = Infer<typeof CdromMediaDto>;
/** vCPUs now (hotplug within maxVcpus; a running VM only grows). */
export const VmVcpusDto = named('VmVcpusDto', obj({ vcpus: int({ min: 1, max: 256 }) }));
export type VmVcpusDto = Infer<typeof VmVcpusDto>;
/** Memory now (the balloon, within maxMemoryMib). */
export const VmMemoryDto = named('VmMemoryDto', obj({ memoryMib: memoryMib() }));
export type VmMemoryDto = Infer<typeof VmMemoryDto>;
export const AttachDiskDto = named(
  'AttachDiskDto',
  obj({
    pool: objectName(),
    volume: objectName('an existing volume of pool'),
    bus: opt(oneOf(DISK_BUSES, { description: 'default virtio; a running VM takes only virtio or scsi' })),
    readonly: opt(bool()),
  }),
);
export type AttachDiskDto = Infer<typeof AttachDiskDto>;

export const ShutdownVmDto = named('ShutdownVmDto', obj({ timeoutSeconds: opt(int({ min: 1, max: 3600 })) }));
export const DeleteVmQuery = obj({ deleteDisks: opt(oneOf(['true', 'false'] as const)) });
/** A disk a delete with deleteDisks left in place because something else holds it. */
export const KeptDiskDto = named(
  'KeptDiskDto',
  obj({
    pool: str({ description: 'empty when the disk is in no storage pool' }),
    volume: str(),
    path: str(),
    reason: str({
      description:
        'e.g. "it is used by VM(s) web02" or "it is the backing file of linked clone(s) pool/web01-clone-disk0.qcow2"',
    }),
  }),
);
export type KeptDiskDto = Infer<typeof KeptDiskDto>;
/** The result of a vm.delete task. */
export const DeleteVmResultDto = named('DeleteVmResultDto', obj({ keptDisks: arr(KeptDiskDto) }));
export type DeleteVmResultDto = Infer<typeof DeleteVmResultDto>;
export const CloneVmDto = named('CloneVmDto', obj({ name: objectName(), linked: opt(bool()) }));
export type CloneVmDto = Infer<typeof CloneVmDto>;

export const SnapshotDto = named(
  'SnapshotDto',
  obj({
    name: str(),
    description: str(),
    createdAt: orNull(timestamp()),
    state: oneOf(VM_STATES),
    current: bool(),
    parent: str(),
    quiesced: bool({ description: 'the guest agent froze the filesystems while it was taken' }),
  }),
);
export type SnapshotDto = Infer<typeof SnapshotDto>;
export const CreateSnapshotDto = named(
  'CreateSnapshotDto',
  obj({ name: objectName(), description: opt(str({ maxLength: 1024 })) }),
);
export type CreateSnapshotDto = Infer<typeof CreateSnapshotDto>;

export const ConsoleTicketDto = named(
  'ConsoleTicketDto',
  obj({
    ticket: str(),
    url: str({ description: 'wss path with the ticket; open with the same session cookie within expiresAt' }),
    expiresAt: timestamp(),
  }),
);
export type ConsoleTicketDto = Infer<typeof ConsoleTicketDto>;

export const ListVmsQuery = obj({ hostId: opt(str()), clusterId: opt(str()) });

/** Sort fields of a VM page (each then by name, then by id). */
export const VM_PAGE_SORTS = ['name', 'state', 'host'] as const;
export type VmPageSort = (typeof VM_PAGE_SORTS)[number];
/** A page of the VM list: filters, sort, and keyset paging (listVmPage). */
export const ListVmPageQuery = obj({
  limit: opt(
    str({ pattern: '^[0-9]{1,4}$', description: 'VMs per page: a whole number from 1 to 1000 (default 100)' }),
  ),
  cursor: opt(str({ maxLength: 4096, description: "the previous page's nextCursor, unchanged (opaque)" })),
  sort: opt(oneOf(VM_PAGE_SORTS, { description: 'default name; ties by name, then id' })),
  order: opt(oneOf(['asc', 'desc'])),
  hostId: opt(str({ maxLength: 200 })),
  clusterId: opt(str({ maxLength: 200 })),
  state: opt(
    str({
      pattern: `^(${VM_STATES.join('|')})(,(${VM_STATES.join('|')}))*$`,
      description: `one or more of ${VM_STATES.join(', ')}, comma-separated`,
    }),
  ),
  name: opt(str({ maxLength: 200, description: 'the name contains this (any case)' })),
  tag: opt(str({ maxLength: 200, description: 'has this tag (any case)' })),
  search: opt(str({ maxLength: 200, description: 'the name, host name or an IP address contains this (any case)' })),
});
export type ListVmPageQuery = Infer<typeof ListVmPageQuery>;
export const VmPageDto = named(
  'VmPageDto',
  obj({
    items: arr(VmDto),
    nextCursor: orNull(str({ description: 'cursor of the next page; null on the last one' })),
    total: int({ description: 'VMs matching the filters, over all pages' }),
    stateCounts: record(int(), { description: 'VMs matching the filters by state, e.g. {"running": 812}' }),
  }),
);
export type VmPageDto = Infer<typeof VmPageDto>;

const base = '/api/v1/vms';
const vm = <const O extends Omit<Operation, 'tag' | 'role' | 'status' | 'response'> & Partial<Operation>>(o: O) => ({
  tag: 'vms' as const,
  role: leastRole(o.method),
  status: o.method === 'GET' ? 200 : 202,
  response: o.method === 'GET' ? VmDto : TaskDto,
  ...o,
});

export const vmOperations = [
  vm({
    id: 'listVms',
    method: 'GET',
    path: base,
    summary: 'All VMs on all hosts in one reply (from the live inventory); a big vDC pages with listVmPage',
    response: arr(VmDto),
    query: ListVmsQuery,
  }),
  // Before getVm: the router takes the first match, and /vms/page must not be read as a VM id.
  vm({
    id: 'listVmPage',
    method: 'GET',
    path: `${base}/page`,
    summary: 'One page of the VM list, filtered and sorted on the server; nextCursor fetches the next',
    response: VmPageDto,
    query: ListVmPageQuery,
  }),
  vm({ id: 'getVm', method: 'GET', path: `${base}/:id`, summary: 'One VM' }),
  vm({
    id: 'getVmMetricsHistory',
    method: 'GET',
    path: `${base}/:id/metrics/history`,
    summary: 'CPU, memory, disk and network history: range=1h (5 s steps), 1d (1 min) or 1y (30 min)',
    query: MetricsHistoryQuery,
    response: VmMetricsHistoryDto,
  }),
  vm({
    id: 'createVm',
    method: 'POST',
    path: base,
    summary: 'Create a VM: placement, new disk volumes, define (and start). Task result: {vmId}',
    body: CreateVmDto,
  }),
  vm({
    id: 'updateVm',
    method: 'PATCH',
    path: `${base}/:id`,
    summary:
      'Change the definition of a shut-off VM. nics replaces the NIC list (add or remove NICs): a NIC without mac keeps the MAC of the NIC at its position, or gets a new one',
    body: UpdateVmDto,
    status: 200,
    response: VmDto,
  }),
  vm({ id: 'startVm', method: 'POST', path: `${base}/:id/start`, summary: 'Start' }),
  vm({
    id: 'shutdownVm',
    method: 'POST',
    path: `${base}/:id/shutdown`,
    summary: 'Graceful shutdown (through the QEMU guest agent when it runs, else ACPI), waits for power-off',
    body: ShutdownVmDto,
  }),
  vm({ id: 'forceOffVm', method: 'POST', path: `${base}/:id/force-off`, summary: 'Pull the plug' }),
  vm({ id: 'rebootVm', method: 'POST', path: `${base}/:id/reboot`, summary: 'ACPI reboot' }),
  vm({ id: 'resetVm', method: 'POST', path: `${base}/:id/reset`, summary: 'Hard reset' }),
  vm({ id: 'pauseVm', method: 'POST', path: `${base}/:id/pause`, summary: 'Pause' }),
  vm({ id: 'resumeVm', method: 'POST', path: `${base}/:id/resume`, summary: 'Resume' }),
  vm({
    id: 'deleteVm',
    method: 'DELETE',
    path: `${base}/:id`,
    summary:
      'Undefine (must be off); ?deleteDisks=true also deletes disk volumes, except those another VM uses or that back another volume (a linked clone). Task result: DeleteVmResultDto {keptDisks}',
    query: DeleteVmQuery,
  }),
  vm({
    id: 'cloneVm',
    method: 'POST',
    path: `${base}/:id/clone`,
    summary: 'Clone on the same host. Task result: {vmId}',
    body: CloneVmDto,
  }),
  vm({
    id: 'getVmStats',
    method: 'GET',
    path: `${base}/:id/stats`,
    summary: 'Current statistics',
    response: VmStatsDto,
  }),
  vm({
    id: 'listSnapshots',
    method: 'GET',
    path: `${base}/:id/snapshots`,
    summary: 'Snapshots',
    response: arr(SnapshotDto),
  }),
  vm({
    id: 'createSnapshot',
    method: 'POST',
    path: `${base}/:id/snapshots`,
    summary: 'Take a snapshot',
    body: CreateSnapshotDto,
  }),
  vm({
    id: 'revertSnapshot',
    method: 'POST',
    path: `${base}/:id/snapshots/:name/revert`,
    summary: 'Revert to a snapshot',
  }),
  vm({ id: 'deleteSnapshot', method: 'DELETE', path: `${base}/:id/snapshots/:name`, summary: 'Delete a snapshot' }),
  vm({
    id: 'exportVm',
    method: 'GET',
    path: `${base}/:id/export.ova`,
    summary: 'Download the VM as an OVA (streamed; operator: it carries the guest data)',
    response: 'stream',
    role: 'operator',
  }),
  vm({
    id: 'createConsoleTicket',
    method: 'POST',
    path: `${base}/:id/console-ticket`,
    summary: 'One-time ticket (30 s, bound to you and this VM) for the console websocket',
    status: 201,
    response: ConsoleTicketDto,
  }),
  vm({
    id: 'createGraphicsTicket',
    method: 'POST',
    path: `${base}/:id/graphics-ticket`,
    summary:
      'One-time ticket (30 s, bound to you and this VM) for the graphical console websocket (409 when the VM is not running with graphics)',
    status: 201,
    response: ConsoleTicketDto,
  }),
  // Changes a running VM takes at once (live and in its definition); a shut-off VM changes its
  // definition. Quick: they reply with the VM, not a task.
  vm({
    id: 'setVmAutostart',
    method: 'PUT',
    path: `${base}/:id/autostart`,
    summary: 'Start the VM when its host boots, in order (lower first) with a delay before the next; any state',
    body: VmAutostartDto,
    status: 200,
    response: VmDto,
  }),
  vm({
    id: 'changeVmCdromMedia',
    method: 'POST',
    path: `${base}/:id/cdroms/:index/media`,
    summary: 'Insert a volume into CD-ROM drive :index (0-based), or eject it (no pool/volume); running or not',
    body: CdromMediaDto,
    status: 200,
    response: VmDto,
  }),
  vm({
    id: 'attachVmDisk',
    method: 'POST',
    path: `${base}/:id/disks`,
    summary: 'Attach an existing volume as a disk (hotplug on a running VM: virtio or scsi only)',
    body: AttachDiskDto,
    status: 200,
    response: VmDto,
  }),
  vm({
    id: 'detachVmDisk',
    method: 'DELETE',
    path: `${base}/:id/disks/:target`,
    summary: 'Detach disk :target (vdb, sdc, …); the volume stays in its pool',
    status: 200,
    response: VmDto,
  }),
  vm({
    id: 'attachVmNic',
    method: 'POST',
    path: `${base}/:id/nics`,
    summary: 'Add a network interface (hotplug on a running VM); without mac one is generated',
    body: NewNicDto,
    status: 200,
    response: VmDto,
  }),
  vm({
    id: 'detachVmNic',
    method: 'DELETE',
    path: `${base}/:id/nics/:mac`,
    summary: 'Remove the network interface with MAC :mac (hot-unplug on a running VM)',
    status: 200,
    response: VmDto,
  }),
  vm({
    id: 'setVmVcpus',
    method: 'PUT',
    path: `${base}/:id/vcpus`,
    summary:
      'Set the vCPU count, live on a running VM and in its definition: up to maxVcpus, a multiple of cores; a running VM only grows',
    body: VmVcpusDto,
    status: 200,
    response: VmDto,
  }),
  vm({
    id: 'setVmMemory',
    method: 'PUT',
    path: `${base}/:id/memory`,
    summary:
      'Set the memory through the virtio balloon, live on a running VM and in its definition: up to maxMemoryMib',
    body: VmMemoryDto,
    status: 200,
    response: VmDto,
  }),
] as const satisfies readonly Operation[];
