// Devices changed on a VM without a restart: CD-ROM media insert/eject, disk attach/detach and NIC
// attach/detach. A running VM changes live and in its persistent definition (virsh --live --config),
// a shut-off one only in its definition; the Quantix metadata (pool/volume of each disk) follows.
// What QEMU cannot hotplug (SATA/IDE disks) is refused naming the field and what to do instead.
import { randomBytes } from 'node:crypto';
import { DiskBus, NicKind, type DiskSpec, type NicSpec, type Vm, type VmSpec } from '@quantix/proto/v1/vm.js';
import { diskBusNames, nicKindNames, nicModelNames } from '../enum-names.js';
import { AgentError, ErrorCode, failedPrecondition, invalidArgument, notFound } from '../errors.js';
import { DomainState, domainCall, domainDumpXml } from '../libvirt/domain.js';
import { volumeInfo } from '../libvirt/volume.js';
import { buildXml } from '../libvirt/xml/builder.js';
import { QX_NS, metadataNode } from '../libvirt/xml/domain-build.js';
import { parseDomainXml, type ParsedDomain } from '../libvirt/xml/domain-parse.js';
import { Virsh } from '../libvirt/virsh.js';
import type { Volumes } from '../storage/volumes.js';
import { validateName } from '../validate/name.js';
import { vmTarget } from './vm-lifecycle.js';
import { noteStateChange, readVm } from './vm-read.js';
import { validateVmSpec } from './vm-spec-validate.js';

export type Target = Awaited<ReturnType<typeof vmTarget>>;

export const isLive = (s: DomainState) =>
  s === DomainState.Running || s === DomainState.Blocked || s === DomainState.Paused || s === DomainState.Shutdown;

/** virsh flags: live and persistent for a running VM, persistent only for a shut-off one. */
export const scope = (t: Target) => (isLive(t.state) ? ['--live', '--config'] : ['--config']);

/** The persistent definition (what the VM boots with next time). */
export async function persistent(virsh: Virsh, uuid: string): Promise<ParsedDomain> {
  return parseDomainXml(await domainDumpXml(virsh, uuid, true));
}

/** Target devices of spec.disks then spec.cdroms (the order metadataNode expects). */
function devsOf(p: ParsedDomain): string[] {
  return [...p.files.filter((f) => f.device === 'disk'), ...p.files.filter((f) => f.device === 'cdrom')].map(
    (f) => f.dev,
  );
}

/**
 * Rewrites the <qx:vm> metadata from the persistent definition with `patch` applied to its spec
 * (the pool and volume of a device just changed, which libvirt's own XML cannot say). virsh wants
 * the element without its prefix; it puts it in QX_NS under the key "qx" (as the builder writes it).
 */
export async function setMetadata(virsh: Virsh, t: Target, patch: (spec: VmSpec) => void): Promise<void> {
  const p = await persistent(virsh, t.uuid);
  patch(p.spec);
  const node = Object.fromEntries(
    Object.entries(metadataNode(p.spec, devsOf(p)))
      .filter(([k]) => k !== '@xmlns:qx')
      .map(([k, v]) => [k.replace(/^qx:/, ''), v]),
  );
  const xml = buildXml({ vm: node });
  await domainCall(virsh, t.uuid, ['metadata', t.uuid, QX_NS, '--key', 'qx', '--set', xml, ...scope(t)]);
}

async function after(virsh: Virsh, t: Target): Promise<Vm> {
  noteStateChange(t.uuid);
  return readVm(virsh, t.uuid);
}

/** Runs `virsh <verb> <uuid> <file> --live --config` with a device's XML. */
const deviceCall = (
  virsh: Virsh,
  t: Target,
  verb: 'attach-device' | 'detach-device',
  device: Record<string, unknown>,
) =>
  virsh
    .execWithXml(buildXml(device), (file) => [verb, t.uuid, file, ...scope(t)], { timeoutMs: 120_000 })
    .catch((err: unknown) => {
      throw new AgentError(ErrorCode.FailedPrecondition, `VM ${t.name}: ${Virsh.message(err)}`, undefined, {
        cause: err,
      });
    });

/** Inserts a volume into CD-ROM drive `index` of VM `id`, or ejects its medium (empty pool). */
export async function changeCdromMedia(
  virsh: Virsh,
  volumes: Volumes,
  id: string,
  index: number,
  pool: string,
  volume: string,
): Promise<Vm> {
  const t = await vmTarget(virsh, id);
  const p = await persistent(virsh, t.uuid);
  const drives = p.files.filter((f) => f.device === 'cdrom');
  const drive = drives[index];
  if (!drive) {
    throw invalidArgument('index', `VM ${t.name} has ${drives.length} CD-ROM drive(s); there is no drive ${index}`);
  }
  if (pool || volume) {
    validateName('pool', pool);
    validateName('volume', volume);
  }
  await volumes.withPools(pool ? [pool] : [], async () => {
    if (pool) {
      const vol = await volumeInfo(virsh, pool, volume);
      await domainCall(virsh, t.uuid, ['change-media', t.uuid, drive.dev, vol.path, '--update', ...scope(t)]);
    } else {
      await domainCall(virsh, t.uuid, ['change-media', t.uuid, drive.dev, '--eject', '--force', ...scope(t)]);
    }
    await setMetadata(virsh, t, (spec) => {
      spec.cdroms[index] = { ...spec.cdroms[index]!, pool, volume };
    });
  });
  return after(virsh, t);
}

/** The first free target device name with `prefix` (vd, sd, hd) across the live and persistent XML. */
function freeDev(prefix: string, taken: readonly string[]): string {
  for (let i = 0; i < 26; i++) {
    const dev = prefix + String.fromCharCode(97 + i);
    if (!taken.includes(dev)) return dev;
  }
  throw failedPrecondition(`no free ${prefix}* device name is left`);
}

/**
 * Attaches a volume as a disk. A running VM takes only virtio (and SCSI where it has the
 * controller): QEMU cannot hotplug SATA or IDE disks.
 */
export async function attachDisk(virsh: Virsh, volumes: Volumes, id: string, disk: DiskSpec | undefined): Promise<Vm> {
  if (!disk) throw invalidArgument('disk', 'is required');
  const t = await vmTarget(virsh, id);
  const p = await persistent(virsh, t.uuid);
  const spec = validateVmSpec({ ...p.spec, disks: [...p.spec.disks, disk] });
  const d = spec.disks[spec.disks.length - 1]!;
  if (isLive(t.state) && d.bus !== DiskBus.DISK_BUS_VIRTIO && d.bus !== DiskBus.DISK_BUS_SCSI) {
    throw invalidArgument(
      'disk.bus',
      `a ${diskBusNames.name(d.bus)!.toUpperCase()} disk cannot be added to running VM ${t.name}: choose virtio, or shut it down first`,
    );
  }
  if (p.spec.disks.some((x) => x.pool === d.pool && x.volume === d.volume)) {
    throw invalidArgument('disk.volume', `VM ${t.name} already has ${d.pool}/${d.volume}`);
  }
  const live = isLive(t.state) ? parseDomainXml(await domainDumpXml(virsh, t.uuid)).files : [];
  const bus = diskBusNames.name(d.bus)!;
  const prefix = bus === 'virtio' ? 'vd' : bus === 'ide' ? 'hd' : 'sd';
  const dev = freeDev(
    prefix,
    [...p.files, ...live].map((f) => f.dev),
  );
  await volumes.withPools([d.pool], async () => {
    const vol = await volumeInfo(virsh, d.pool, d.volume);
    await deviceCall(virsh, t, 'attach-device', {
      disk: {
        '@type': 'file',
        '@device': 'disk',
        driver: { '@name': 'qemu', '@type': vol.format },
        source: { '@file': vol.path },
        target: { '@dev': dev, '@bus': bus },
        ...(d.readonly ? { readonly: '' } : {}),
      },
    });
    await setMetadata(virsh, t, (s) => {
      const i = s.disks.findIndex((x) => !x.pool && vol.path.endsWith(`/${x.volume}`));
      if (i >= 0) s.disks[i] = { ...s.disks[i]!, pool: d.pool, volume: d.volume };
    });
  });
  return after(virsh, t);
}

/** Detaches disk `target` (vdb, sdc, …); the volume stays in its pool. */
export async function detachDisk(virsh: Virsh, id: string, target: string): Promise<Vm> {
  if (!/^(vd|sd|hd)[a-z]$/.test(target))
    throw invalidArgument('target', `"${target}" is not a disk device name (vdb, sdc, …)`);
  const t = await vmTarget(virsh, id);
  const p = await persistent(virsh, t.uuid);
  const file = p.files.find((f) => f.dev === target);
  if (!file) throw notFound(`disk ${target} of VM ${t.name}`);
  if (file.device !== 'disk')
    throw invalidArgument('target', `${target} of VM ${t.name} is a CD-ROM drive: eject its medium instead`);
  if (
    isLive(t.state) &&
    /^(sd|hd)/.test(target) &&
    p.spec.disks.find((_, i) => devsOf(p)[i] === target)?.bus !== DiskBus.DISK_BUS_SCSI
  ) {
    throw failedPrecondition(
      `disk ${target} of VM ${t.name} is on SATA/IDE, which QEMU cannot unplug: shut the VM down first`,
    );
  }
  await domainCall(virsh, t.uuid, ['detach-disk', t.uuid, target, ...scope(t)]);
  await setMetadata(virsh, t, () => undefined);
  return after(virsh, t);
}

/** A random MAC in QEMU's locally administered 52:54:00 range, so live and persistent NICs agree. */
const randomMac = () => `52:54:00:${[...randomBytes(3)].map((b) => b.toString(16).padStart(2, '0')).join(':')}`;

/** Attaches a NIC (network, bridge or user); a NIC without a MAC gets one. */
export async function attachNic(virsh: Virsh, id: string, nic: NicSpec | undefined): Promise<Vm> {
  if (!nic) throw invalidArgument('nic', 'is required');
  const t = await vmTarget(virsh, id);
  const p = await persistent(virsh, t.uuid);
  const spec = validateVmSpec({ ...p.spec, nics: [...p.spec.nics, { ...nic, mac: nic.mac || randomMac() }] });
  const n = spec.nics[spec.nics.length - 1]!;
  await deviceCall(virsh, t, 'attach-device', {
    interface: {
      '@type': nicKindNames.name(n.kind),
      mac: { '@address': n.mac },
      ...(n.kind === NicKind.NIC_KIND_NETWORK ? { source: { '@network': n.source } } : {}),
      ...(n.kind === NicKind.NIC_KIND_BRIDGE ? { source: { '@bridge': n.source } } : {}),
      model: { '@type': nicModelNames.name(n.model) },
    },
  });
  return after(virsh, t);
}

/** Detaches the NIC with MAC `mac`. */
export async function detachNic(virsh: Virsh, id: string, mac: string): Promise<Vm> {
  if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(mac)) throw invalidArgument('mac', `"${mac}" is not a MAC address`);
  const t = await vmTarget(virsh, id);
  const p = await persistent(virsh, t.uuid);
  const i = p.macs.findIndex((m) => m.toLowerCase() === mac.toLowerCase());
  if (i < 0) throw notFound(`network interface ${mac} of VM ${t.name}`);
  const kind = nicKindNames.name(p.spec.nics[i]!.kind) ?? 'network';
  await domainCall(virsh, t.uuid, ['detach-interface', t.uuid, kind, '--mac', mac.toLowerCase(), ...scope(t)]);
  return after(virsh, t);
}
