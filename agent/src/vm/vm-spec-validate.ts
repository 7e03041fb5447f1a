// Validates and normalizes a VmSpec from the wire before anything reaches virsh or XML:
// every problem is INVALID_ARGUMENT naming the field ("spec.nics[1].mac"). Defaults filled here.
import { BootDevice, DiskBus, Firmware, NicKind, NicModel, type VmSpec } from '@quantix/proto/v1/vm.js';
import { OS_TYPES } from '../enum-names.js';
import { invalidArgument } from '../errors.js';
import { isUuid, validateName } from '../validate/name.js';
import { validateXmlText } from '../validate/xml-text.js';
import { validateBootSecurity } from './boot-security.js';
import { validateCpu } from './cpu-model.js';

const MAX_VCPUS = 256;
const MIN_MEMORY_MIB = 16;
const MAX_MEMORY_MIB = 4 * 1024 * 1024;
const MACHINE = /^[a-z0-9][a-z0-9._-]{0,39}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;
/** Autostart bounds (the REST API has the same in dto/vms.ts). */
export const MAX_AUTOSTART_ORDER = 9999;
export const MAX_AUTOSTART_DELAY_S = 3600;

/**
 * The hotplug ceilings: max_vcpus (0 = none) at least the boot vCPUs and a multiple of cores (the
 * topology is max_vcpus / cores sockets, so each added socket is one hotplug step); max_memory_mib
 * (0 = none) at least memory_mib.
 */
function validateMaxima(spec: VmSpec, sockets: number, cores: number): void {
  const max = spec.maxVcpus;
  if (max && (max < sockets * cores || max > MAX_VCPUS || max % cores)) {
    throw invalidArgument(
      'spec.max_vcpus',
      `must be between ${sockets * cores} (the vCPUs at boot) and ${MAX_VCPUS}, and a multiple of ${cores} cores per socket`,
    );
  }
  const mem = spec.maxMemoryMib;
  if (mem && (mem < spec.memoryMib || mem > MAX_MEMORY_MIB)) {
    throw invalidArgument(
      'spec.max_memory_mib',
      `must be between ${spec.memoryMib} MiB (the memory at boot) and ${MAX_MEMORY_MIB} MiB`,
    );
  }
}

/** Returns a copy of `spec` with defaults applied, or throws INVALID_ARGUMENT naming the field. */
export function validateVmSpec(spec: VmSpec | undefined): VmSpec {
  if (!spec) throw invalidArgument('spec', 'is required');
  validateName('spec.name', spec.name);
  if (spec.uuid && !isUuid(spec.uuid)) throw invalidArgument('spec.uuid', `"${spec.uuid}" is not a UUID`);
  const sockets = spec.sockets || 1;
  const cores = spec.cores || 1;
  if (sockets * cores > MAX_VCPUS) {
    throw invalidArgument('spec.cores', `${sockets} sockets × ${cores} cores is more than ${MAX_VCPUS} vCPUs`);
  }
  if (!spec.memoryMib) throw invalidArgument('spec.memory_mib', 'is required');
  if (spec.memoryMib < MIN_MEMORY_MIB || spec.memoryMib > MAX_MEMORY_MIB) {
    throw invalidArgument('spec.memory_mib', `must be between ${MIN_MEMORY_MIB} and ${MAX_MEMORY_MIB} MiB`);
  }
  validateMaxima(spec, sockets, cores);
  const firmware = spec.firmware || Firmware.FIRMWARE_BIOS;
  if (firmware !== Firmware.FIRMWARE_BIOS && firmware !== Firmware.FIRMWARE_UEFI) {
    throw invalidArgument('spec.firmware', 'must be BIOS or UEFI');
  }
  if (spec.machine && !MACHINE.test(spec.machine)) {
    throw invalidArgument('spec.machine', `"${spec.machine}" is not a machine type (e.g. "pc", "q35")`);
  }
  const { machine } = validateBootSecurity({ ...spec, firmware });
  const q35 = machine.startsWith('q35') || machine.includes('-q35');
  const disks = spec.disks.map((d, i) => {
    const field = `spec.disks[${i}]`;
    validateName(`${field}.pool`, d.pool);
    validateName(`${field}.volume`, d.volume);
    const bus = d.bus || DiskBus.DISK_BUS_VIRTIO;
    if (!Object.values(DiskBus).includes(bus) || bus < 0) throw invalidArgument(`${field}.bus`, 'unknown bus');
    if (bus === DiskBus.DISK_BUS_IDE && q35) throw invalidArgument(`${field}.bus`, 'IDE needs the "pc" machine type');
    return { ...d, bus };
  });
  const cdroms = spec.cdroms.map((c, i) => {
    const field = `spec.cdroms[${i}]`;
    if (c.pool || c.volume) {
      validateName(`${field}.pool`, c.pool);
      validateName(`${field}.volume`, c.volume);
    }
    const bus = c.bus || DiskBus.DISK_BUS_SATA;
    if (bus !== DiskBus.DISK_BUS_SATA && bus !== DiskBus.DISK_BUS_IDE) {
      throw invalidArgument(`${field}.bus`, 'a CD-ROM is on SATA or IDE');
    }
    if (bus === DiskBus.DISK_BUS_IDE && q35) throw invalidArgument(`${field}.bus`, 'IDE needs the "pc" machine type');
    return { ...c, bus };
  });
  const ide = [...disks, ...cdroms].filter((d) => d.bus === DiskBus.DISK_BUS_IDE).length;
  if (ide > 4) throw invalidArgument('spec.disks', 'at most 4 IDE devices (disks and CD-ROMs together)');
  if (disks.length + cdroms.length > 26) throw invalidArgument('spec.disks', 'at most 26 disks and CD-ROMs');
  const seenMacs = new Set<string>();
  const nics = spec.nics.map((n, i) => {
    const field = `spec.nics[${i}]`;
    const model = n.model || NicModel.NIC_MODEL_VIRTIO;
    if (!Object.values(NicModel).includes(model) || model < 0) throw invalidArgument(`${field}.model`, 'unknown model');
    if (n.kind === NicKind.NIC_KIND_NETWORK || n.kind === NicKind.NIC_KIND_BRIDGE) {
      validateName(`${field}.source`, n.source);
      if (n.kind === NicKind.NIC_KIND_BRIDGE && n.source.length > 15) {
        throw invalidArgument(`${field}.source`, 'a bridge name has at most 15 characters');
      }
    } else if (n.kind === NicKind.NIC_KIND_USER) {
      if (n.source) throw invalidArgument(`${field}.source`, 'user-mode networking takes no source');
    } else {
      throw invalidArgument(`${field}.kind`, 'must be network, bridge or user');
    }
    const mac = n.mac.toLowerCase();
    if (mac) {
      if (!MAC.test(mac)) throw invalidArgument(`${field}.mac`, `"${n.mac}" is not a MAC address (aa:bb:cc:dd:ee:ff)`);
      if (parseInt(mac.slice(0, 2), 16) & 1) throw invalidArgument(`${field}.mac`, `"${n.mac}" is a multicast address`);
      if (seenMacs.has(mac)) throw invalidArgument(`${field}.mac`, `"${n.mac}" is used twice`);
      seenMacs.add(mac);
    }
    return { ...n, model, mac };
  });
  const boot = spec.bootOrder.length ? spec.bootOrder : [BootDevice.BOOT_DEVICE_DISK];
  boot.forEach((b, i) => {
    if (
      b !== BootDevice.BOOT_DEVICE_DISK &&
      b !== BootDevice.BOOT_DEVICE_CDROM &&
      b !== BootDevice.BOOT_DEVICE_NETWORK
    ) {
      throw invalidArgument(`spec.boot_order[${i}]`, 'must be disk, cdrom or network');
    }
    if (boot.indexOf(b) !== i) throw invalidArgument(`spec.boot_order[${i}]`, 'is listed twice');
  });
  validateXmlText('spec.description', spec.description, 4096);
  spec.tags.forEach((t, i) => {
    if (!t || t.length > 63 || [...t].some((c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127)) {
      throw invalidArgument(`spec.tags[${i}]`, 'must be 1–63 printable characters');
    }
  });
  if (!OS_TYPES.includes(spec.osType)) throw invalidArgument('spec.os_type', 'must be linux, windows or other');
  if (spec.autostartOrder > MAX_AUTOSTART_ORDER)
    throw invalidArgument('spec.autostart_order', `must be between 0 and ${MAX_AUTOSTART_ORDER}`);
  if (spec.autostartDelaySeconds > MAX_AUTOSTART_DELAY_S)
    throw invalidArgument('spec.autostart_delay_seconds', `must be between 0 and ${MAX_AUTOSTART_DELAY_S} seconds`);
  return { ...spec, sockets, cores, firmware, machine, disks, cdroms, nics, bootOrder: boot, ...validateCpu(spec) };
}
