// The value lists of the REST contract, each once: the DTO schemas use them (oneOf) and the UI
// shows them (NIC models, disk buses, roles, …). No imports, so the UI bundles only these arrays.

/** Least privilege first: a role may do what the roles before it may. */
export const ROLES = ['viewer', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const VM_STATES = [
  'running',
  'paused',
  'shutoff',
  'shutting-down',
  'crashed',
  'pmsuspended',
  'blocked',
  'unknown',
] as const;
export type VmState = (typeof VM_STATES)[number];
export const FIRMWARES = ['bios', 'uefi'] as const;
export type Firmware = (typeof FIRMWARES)[number];
export const DISK_BUSES = ['virtio', 'sata', 'scsi', 'ide'] as const;
export type DiskBus = (typeof DISK_BUSES)[number];
export const NIC_MODELS = ['virtio', 'e1000', 'e1000e', 'vmxnet3', 'rtl8139'] as const;
export type NicModel = (typeof NIC_MODELS)[number];
/** off; entering = VMs are being moved away or some could not move; in = empty of them. */
export const MAINTENANCE_STATES = ['off', 'entering', 'in'] as const;
export type MaintenanceState = (typeof MAINTENANCE_STATES)[number];
export const NIC_KINDS = ['network', 'bridge', 'user'] as const;
export type NicKind = (typeof NIC_KINDS)[number];
/** A VM's CPU: the host's own, libvirt's nearest model, a named model (cpuModel), or all the hypervisor has. */
export const CPU_MODES = ['host-passthrough', 'host-model', 'named', 'max'] as const;
export type CpuMode = (typeof CPU_MODES)[number];
export const BOOT_DEVICES = ['disk', 'cdrom', 'network'] as const;
export type BootDevice = (typeof BOOT_DEVICES)[number];
/** virtio = virtio-vga (default), vga = QEMU's standard VGA, qxl, none = serial console only. */
export const VIDEO_MODELS = ['virtio', 'vga', 'qxl', 'none'] as const;
export type VideoModel = (typeof VIDEO_MODELS)[number];

export const HOST_STATUSES = ['online', 'offline', 'connecting'] as const;
export type HostStatus = (typeof HOST_STATUSES)[number];
/** An agent's version against the vDC's (services/agent-version.ts). */
export const AGENT_VERSION_STATUSES = ['current', 'older', 'unsupported', 'unknown'] as const;

export const NETWORK_KINDS = ['nat', 'isolated', 'bridged'] as const;
export type NetworkKind = (typeof NETWORK_KINDS)[number];
export const CLUSTER_NETWORK_HOST_STATES = ['applied', 'failed', 'pending'] as const;
export type ClusterNetworkHostState = (typeof CLUSTER_NETWORK_HOST_STATES)[number];

export const POOL_KINDS = ['loop', 'dir'] as const;
export type PoolKind = (typeof POOL_KINDS)[number];
export const POOL_STATES = ['active', 'inactive', 'failed', 'starting', 'unknown'] as const;
export type PoolState = (typeof POOL_STATES)[number];
/** What a volume can be uploaded as; a listed volume may also be 'unknown'. */
export const VOLUME_FORMATS = ['qcow2', 'raw', 'iso'] as const;
export type VolumeFormat = (typeof VOLUME_FORMATS)[number];

export const TASK_STATUSES = ['running', 'succeeded', 'failed'] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
