// Proto messages → REST DTOs (pure functions): VMs, pools, volumes, networks, host metrics.
import type { HostMetrics } from '@quantix/proto/v1/host.js';
import type { Network, HostInterface } from '@quantix/proto/v1/network.js';
import type { Pool, Volume } from '@quantix/proto/v1/storage.js';
import type { Snapshot, Vm, VmSpec, VmStats } from '@quantix/proto/v1/vm.js';
import type { HostMetricsDto } from '../dto/hosts.js';
import type { HostInterfaceDto, NetworkDto } from '../dto/networks.js';
import type { PoolDto, VolumeDto } from '../dto/storage.js';
import type { SnapshotDto, VmDto, VmStatsDto } from '../dto/vms.js';
import {
  bootDevice,
  cpuMode,
  diskBus,
  firmware,
  networkKind,
  nicKind,
  nicModel,
  poolKind,
  poolState,
  videoModel,
  vmState,
  volumeFormat,
} from './proto-enums.js';

const iso = (ms: number) => (ms > 0 ? new Date(ms).toISOString() : null);

export function specFields(s: VmSpec) {
  return {
    sockets: s.sockets,
    cores: s.cores,
    memoryMib: s.memoryMib,
    maxVcpus: s.maxVcpus,
    maxMemoryMib: s.maxMemoryMib,
    firmware: firmware.str(s.firmware),
    machine: s.machine,
    disks: s.disks.map((d) => ({ pool: d.pool, volume: d.volume, bus: diskBus.str(d.bus), readonly: d.readonly })),
    cdroms: s.cdroms.map((c) => ({ pool: c.pool, volume: c.volume, bus: diskBus.str(c.bus) })),
    nics: s.nics.map((n) => ({
      kind: nicKind.str(n.kind),
      source: n.source,
      model: nicModel.str(n.model),
      mac: n.mac,
    })),
    bootOrder: s.bootOrder.map((b) => bootDevice.str(b)),
  };
}

export function toVmStatsDto(s: VmStats): VmStatsDto {
  return {
    at: new Date(s.timestampMs || Date.now()).toISOString(),
    cpuPercent: s.cpuPercent,
    memoryBytes: s.memoryBytes,
    memoryUsedBytes: s.memoryUsedBytes,
    diskReadBytes: s.diskReadBytes,
    diskWriteBytes: s.diskWriteBytes,
    netRxBytes: s.netRxBytes,
    netTxBytes: s.netTxBytes,
  };
}

export function toVmDto(
  vm: Vm,
  host: { id: string; name: string; online: boolean },
  stats: VmStats | undefined,
): VmDto {
  const s = vm.spec!;
  return {
    id: s.uuid,
    name: s.name,
    hostId: host.id,
    hostName: host.name,
    state: vmState.str(vm.state),
    hostOnline: host.online,
    ...specFields(s),
    vnc: s.vnc,
    videoModel: videoModel.str(s.videoModel),
    description: s.description,
    tags: s.tags,
    osType: s.osType,
    cpuMode: cpuMode.str(s.cpuMode),
    cpuModel: s.cpuModel,
    secureBoot: s.secureBoot,
    tpm: s.tpm,
    autostart: s.autostart,
    autostartOrder: s.autostartOrder,
    autostartDelaySeconds: s.autostartDelaySeconds,
    guestAgentRunning: vm.guestAgentRunning,
    diskTargets: vm.diskTargets,
    domainType: vm.domainType,
    ipAddresses: vm.ipAddresses,
    macs: vm.macs,
    graphics: vm.graphics,
    stateChangedAt: iso(vm.stateChangedMs),
    snapshotCount: vm.snapshotCount,
    stats: stats ? toVmStatsDto(stats) : null,
  };
}

export function toSnapshotDto(s: Snapshot): SnapshotDto {
  return {
    name: s.name,
    description: s.description,
    createdAt: iso(s.createdMs),
    state: vmState.str(s.state),
    current: s.current,
    parent: s.parent,
    quiesced: s.quiesced,
  };
}

export function toPoolDto(p: Pool, host: { id: string; name: string }): PoolDto {
  return {
    hostId: host.id,
    hostName: host.name,
    name: p.name,
    kind: poolKind.str(p.kind),
    state: poolState.str(p.state),
    path: p.path,
    backingFile: p.backingFile,
    loopDevice: p.loopDevice,
    filesystem: p.filesystem,
    capacityBytes: p.capacityBytes,
    allocationBytes: p.allocationBytes,
    availableBytes: p.availableBytes,
    error: p.error,
    volumeCount: p.volumeCount,
  };
}

export function toVolumeDto(v: Volume, hostId: string): VolumeDto {
  return {
    hostId,
    pool: v.pool,
    name: v.name,
    format: volumeFormat.str(v.format),
    capacityBytes: v.capacityBytes,
    allocationBytes: v.allocationBytes,
    path: v.path,
    backingVolume: v.backingVolume,
    usedBy: v.usedBy,
  };
}

export function toNetworkDto(n: Network, hostId: string): NetworkDto {
  const s = n.spec!;
  return {
    hostId,
    name: s.name,
    kind: networkKind.str(s.kind),
    subnet: s.subnet,
    dhcpStart: s.dhcpStart,
    dhcpEnd: s.dhcpEnd,
    bridge: n.bridge || s.bridge,
    uplink: s.uplink,
    vlanId: s.vlanId,
    active: n.active,
    leases: n.leases.map((l) => ({ mac: l.mac, ip: l.ip, hostname: l.hostname, expiryMs: l.expiryMs })),
    usedBy: n.usedBy,
    error: n.error,
  };
}

export function toHostInterfaceDto(i: HostInterface): HostInterfaceDto {
  return { name: i.name, mac: i.mac, addresses: i.addresses, up: i.up, kind: i.kind, management: i.management };
}

export function toHostMetricsDto(m: HostMetrics): HostMetricsDto {
  return {
    at: new Date(m.timestampMs || Date.now()).toISOString(),
    cpuPercent: m.cpuPercent,
    memoryTotalBytes: m.memoryTotalBytes,
    memoryUsedBytes: m.memoryUsedBytes,
    load1: m.load1,
    netRxBytes: m.netRxBytes,
    netTxBytes: m.netTxBytes,
    diskReadBytes: m.diskReadBytes,
    diskWriteBytes: m.diskWriteBytes,
    diskReadOps: m.diskReadOps,
    diskWriteOps: m.diskWriteOps,
  };
}
