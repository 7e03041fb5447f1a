// Guest OS presets of the create wizard: sensible firmware, buses, NIC, CPU model and sizes per OS
// family (Windows has no virtio drivers on its install media: SATA + e1000e; Windows 11 needs UEFI,
// Secure Boot and a TPM 2.0). Pure: a preset is a set of draft fields the wizard lays over its draft.
import type { CpuMode, DiskBus, Firmware, NicModel, VideoModel } from '@dto/enums.js';

/** The draft fields a preset sets (a subset of the wizard's Draft). */
export interface PresetFields {
  osType: 'linux' | 'windows' | 'other';
  cores: number;
  memoryMib: number;
  diskGib: number;
  diskBus: DiskBus;
  nicModel: NicModel;
  firmware: Firmware;
  /** '' = the host default machine type (pc); 'q35' for Secure Boot and PCIe. */
  machine: '' | 'q35';
  secureBoot: boolean;
  tpm: boolean;
  cpuMode: CpuMode;
  /** For cpuMode named. */
  cpuModel: string;
  /**
   * The video device: virtio-vga where the guest has the virtio-gpu driver (Linux), standard VGA
   * where it may not (Windows without virtio-win, old kernels, unknown OSes).
   */
  videoModel: VideoModel;
}

/** The words for each video model (the wizard's and the settings' choice). */
export const VIDEO_LABELS: Record<VideoModel, string> = {
  virtio: 'virtio-vga (Linux; default)',
  vga: 'Standard VGA (any guest)',
  qxl: 'QXL (older Windows)',
  none: 'None (serial console only)',
};

export interface VmPreset {
  id: string;
  label: string;
  /** One line the wizard shows under the choice. */
  hint: string;
  fields: PresetFields;
}

/** The CPU model of new VMs (the server's default too): runs on any x86-64-v2 host, movable. */
export const DEFAULT_CPU_MODEL = 'x86-64-v2-AES';

const windows = (hint: string): Omit<VmPreset, 'id' | 'label'> => ({
  hint,
  fields: {
    osType: 'windows',
    cores: 2,
    memoryMib: 4096,
    diskGib: 64,
    diskBus: 'sata',
    nicModel: 'e1000e',
    firmware: 'uefi',
    machine: 'q35',
    secureBoot: true,
    tpm: true,
    cpuMode: 'named',
    cpuModel: DEFAULT_CPU_MODEL,
    videoModel: 'vga',
  },
});

export const VM_PRESETS: readonly VmPreset[] = [
  {
    id: 'windows-11',
    label: 'Windows 11',
    ...windows('UEFI with Secure Boot and a TPM 2.0, SATA disk and e1000e NIC (no drivers needed), 4 GiB / 64 GiB.'),
  },
  {
    id: 'windows-server-2022',
    label: 'Windows Server 2022',
    ...windows('UEFI with Secure Boot and a TPM 2.0, SATA disk and e1000e NIC, 4 GiB / 64 GiB.'),
  },
  {
    id: 'linux-modern',
    label: 'Linux (modern)',
    hint: 'virtio disk and NIC, UEFI on q35, x86-64-v2-AES CPU (RHEL 9 class), 2 GiB / 20 GiB.',
    fields: {
      osType: 'linux',
      cores: 2,
      memoryMib: 2048,
      diskGib: 20,
      diskBus: 'virtio',
      nicModel: 'virtio',
      firmware: 'uefi',
      machine: 'q35',
      secureBoot: false,
      tpm: false,
      cpuMode: 'named',
      cpuModel: DEFAULT_CPU_MODEL,
      videoModel: 'virtio',
    },
  },
  {
    id: 'linux-legacy',
    label: 'Linux (legacy)',
    hint: 'BIOS, SATA disk and e1000 NIC, the plain qemu64 CPU, 1 GiB / 10 GiB: for old kernels.',
    fields: {
      osType: 'linux',
      cores: 1,
      memoryMib: 1024,
      diskGib: 10,
      diskBus: 'sata',
      nicModel: 'e1000',
      firmware: 'bios',
      machine: '',
      secureBoot: false,
      tpm: false,
      cpuMode: 'named',
      cpuModel: 'qemu64',
      videoModel: 'vga',
    },
  },
  {
    id: 'other',
    label: 'Other',
    hint: 'BIOS, SATA disk and e1000 NIC: hardware every OS knows, 1 GiB / 16 GiB.',
    fields: {
      osType: 'other',
      cores: 1,
      memoryMib: 1024,
      diskGib: 16,
      diskBus: 'sata',
      nicModel: 'e1000',
      firmware: 'bios',
      machine: '',
      secureBoot: false,
      tpm: false,
      cpuMode: 'named',
      cpuModel: DEFAULT_CPU_MODEL,
      videoModel: 'vga',
    },
  },
];

/** `draft` with preset `id`'s fields laid over it (unchanged for an unknown id). */
export function applyPreset<D extends PresetFields & { preset: string }>(draft: D, id: string): D {
  const p = VM_PRESETS.find((x) => x.id === id);
  return p ? { ...draft, ...p.fields, preset: id } : { ...draft, preset: '' };
}

/**
 * Firmware choices that go together, as the server checks them: Secure Boot needs UEFI (and q35,
 * which it brings), so turning UEFI off turns Secure Boot off and Secure Boot on turns UEFI on.
 */
export function withSecureBoot<D extends PresetFields>(draft: D, secureBoot: boolean): D {
  return secureBoot ? { ...draft, secureBoot, firmware: 'uefi', machine: 'q35' } : { ...draft, secureBoot };
}

export function withFirmware<D extends PresetFields>(draft: D, firmware: Firmware): D {
  return firmware === 'bios' ? { ...draft, firmware, secureBoot: false } : { ...draft, firmware };
}

/** The CPU choices of the wizard and settings: value "mode" or "named:<model>", with labels. */
export function cpuChoices(models: readonly string[], modes: readonly CpuMode[]): { value: string; label: string }[] {
  const named = [DEFAULT_CPU_MODEL, ...[...models].filter((m) => m !== DEFAULT_CPU_MODEL).sort()];
  return [
    ...named.map((m) => ({
      value: `named:${m}`,
      label: m === DEFAULT_CPU_MODEL ? `${m} (default: runs on every host, can migrate)` : m,
    })),
    ...(modes.includes('host-passthrough')
      ? [{ value: 'host-passthrough', label: 'host-passthrough (fastest; only to identical hosts)' }]
      : []),
    ...(modes.includes('host-model') ? [{ value: 'host-model', label: 'host-model (this host’s CPU family)' }] : []),
    { value: 'max', label: 'max (everything the hypervisor has; TCG without KVM)' },
  ];
}

/** "named:<model>" or a mode → the request's cpuMode and cpuModel. */
export function parseCpuChoice(value: string): { cpuMode: CpuMode; cpuModel?: string } {
  if (value.startsWith('named:')) return { cpuMode: 'named', cpuModel: value.slice('named:'.length) };
  return { cpuMode: value as CpuMode };
}
