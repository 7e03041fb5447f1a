// Storage move on this host: a VM's disks into another pool through the volume layer. Shut off:
// copies (Volumes.clone: sandboxed qemu-img, pool locks), then the definition switched. Running:
// a block copy per disk into a new volume (each mirror left ready), then every disk pivoted and
// the Quantix metadata rewritten. Then each old volume is deleted unless something else holds it.
// An abort or a failure before the switch removes the copies; the VM keeps its old disks.
import type { VmSpec } from '@quantix/proto/v1/vm.js';
import { VolumeFormat, type MovedDisk } from '@quantix/proto/v1/storage.js';
import { failedPrecondition, invalidArgument } from '../errors.js';
import { DomainState, domainCall, domainDumpXml } from '../libvirt/domain.js';
import type { Virsh } from '../libvirt/virsh.js';
import { buildXml } from '../libvirt/xml/builder.js';
import { QX_NS, metadataNode } from '../libvirt/xml/domain-build.js';
import { parseDomainXml, readDomainXml } from '../libvirt/xml/domain-parse.js';
import { refuseOnOverlays } from '../backup/backup-snapshot.js';
import { noteStateChange, readVm } from '../vm/vm-read.js';
import { vmTarget } from '../vm/vm-lifecycle.js';
import { updateVm } from '../vm/vm-define.js';
import type { Volumes } from './volumes.js';

export interface DiskMoveOptions {
  vm: string;
  targetPool: string;
  /** MiB/s; 0 = none. */
  bandwidthMibPerS: number;
  signal: AbortSignal;
  /** Percent over all disks moved, and the phase ("copying <volume>", "switching", "cleaning up"). */
  onProgress: (percent: number, phase: string) => void;
}

/** A block copy of a large disk under TCG may take hours; the abort is the operator's cancel. */
const BLOCK_COPY_TIMEOUT_MS = 24 * 3_600_000;

type Disk = VmSpec['disks'][number];

/** Moves every disk of a VM that is not in `targetPool` into it. */
export async function moveVmDisks(virsh: Virsh, volumes: Volumes, opts: DiskMoveOptions): Promise<MovedDisk[]> {
  if (!opts.targetPool) throw invalidArgument('target_pool', 'name the pool to move the disks into');
  const t = await vmTarget(virsh, opts.vm);
  const running = t.state === DomainState.Running || t.state === DomainState.Paused;
  if (!running && t.state !== DomainState.Shutoff) {
    throw failedPrecondition(`VM ${t.name} is neither running nor shut off: its disks cannot move now`);
  }
  refuseOnOverlays(t.name, readDomainXml(await domainDumpXml(virsh, t.uuid)).disks, 'move its disks');
  const spec = (await readVm(virsh, t.uuid)).spec!;
  const moving = spec.disks.filter((d) => d.pool !== opts.targetPool);
  if (!moving.length) throw failedPrecondition(`the disks of VM ${t.name} are already in pool ${opts.targetPool}`);
  const copied: string[] = [];
  const mirrors: string[] = [];
  const disks = spec.disks.map((d) => (d.pool === opts.targetPool ? d : { ...d, pool: opts.targetPool }));
  try {
    for (const [i, d] of moving.entries()) {
      opts.signal.throwIfAborted();
      const phase = `copying ${d.volume}`;
      const onPercent = (p: number) => opts.onProgress(((i + p / 100) / moving.length) * 100, phase);
      onPercent(0);
      if (running) {
        await blockCopy(virsh, volumes, t.uuid, d, opts, onPercent, copied, mirrors);
      } else {
        await volumes.clone(
          { pool: d.pool, name: d.volume, targetName: d.volume, targetPool: opts.targetPool, linked: false },
          { signal: opts.signal, onPercent, rateLimit: opts.bandwidthMibPerS * 2 ** 20 },
        );
        copied.push(d.volume);
      }
    }
    opts.signal.throwIfAborted();
    opts.onProgress(100, 'switching');
    if (running) {
      // Every mirror is ready: from here on the VM runs on the copies.
      for (const path of mirrors.splice(0)) await domainCall(virsh, t.uuid, ['blockjob', t.uuid, path, '--pivot']);
      await setVolumesMetadata(virsh, t.uuid, { ...spec, disks });
      noteStateChange(t.uuid);
    } else {
      await updateVm(virsh, volumes, t.uuid, { ...spec, disks });
    }
  } catch (err) {
    for (const path of mirrors) {
      await domainCall(virsh, t.uuid, ['blockjob', t.uuid, path, '--abort']).catch(() => undefined);
    }
    for (const name of copied) await volumes.deleteUnlessHeld(opts.targetPool, name).catch(() => undefined);
    throw err;
  }
  opts.onProgress(100, 'cleaning up');
  const out: MovedDisk[] = [];
  for (const d of moving) {
    const r = await volumes
      .deleteUnlessHeld(d.pool, d.volume)
      .catch((err: unknown) => ({ kept: `deleting it failed: ${(err as Error).message}` }));
    out.push({ fromPool: d.pool, volume: d.volume, toPool: opts.targetPool, keptReason: r.kept });
  }
  return out;
}

/**
 * Mirrors disk `d` of a running VM into a new volume of the target pool and leaves the mirror
 * ready (virsh blockcopy --wait without --pivot). --transient-job: libvirt refuses a copy job on a
 * persistent domain otherwise; the pivot still updates the persistent definition (libvirt 9.0).
 * https://libvirt.org/manpages/virsh.html#blockcopy
 */
async function blockCopy(
  virsh: Virsh,
  volumes: Volumes,
  uuid: string,
  d: Disk,
  opts: DiskMoveOptions,
  onPercent: (p: number) => void,
  copied: string[],
  mirrors: string[],
): Promise<void> {
  const source = await volumes.get(d.pool, d.volume);
  const format = source.format === VolumeFormat.VOLUME_FORMAT_QCOW2 ? 'qcow2' : 'raw';
  const target = await volumes.create({
    pool: opts.targetPool,
    name: d.volume,
    format: source.format === VolumeFormat.VOLUME_FORMAT_QCOW2 ? source.format : VolumeFormat.VOLUME_FORMAT_RAW,
    capacityBytes: source.capacityBytes,
  });
  copied.push(d.volume);
  mirrors.push(source.path);
  const bandwidth = opts.bandwidthMibPerS ? ['--bandwidth', String(opts.bandwidthMibPerS)] : [];
  await virsh.exec(
    [
      'blockcopy',
      uuid,
      source.path,
      '--dest',
      target.path,
      '--format',
      format,
      '--reuse-external',
      '--transient-job',
      '--wait',
      '--verbose',
      ...bandwidth,
    ],
    {
      signal: opts.signal,
      timeoutMs: BLOCK_COPY_TIMEOUT_MS,
      maxOutputBytes: 64 * 1024,
      onOutput: (chunk) => {
        const last = [...chunk.toString('latin1').matchAll(/Block Copy: \[\s*(\d+) %\]/g)].at(-1);
        if (last) onPercent(Number(last[1]));
      },
    },
  );
}

/**
 * Rewrites the <qx:vm> metadata (pool and volume of each disk, which libvirt's own XML cannot
 * say) live and in the definition. virsh wants the element without its prefix, in QX_NS under "qx".
 */
async function setVolumesMetadata(virsh: Virsh, uuid: string, spec: VmSpec): Promise<void> {
  const parsed = parseDomainXml(await domainDumpXml(virsh, uuid, true));
  const devs = [
    ...parsed.files.filter((f) => f.device === 'disk'),
    ...parsed.files.filter((f) => f.device === 'cdrom'),
  ].map((f) => f.dev);
  const node = Object.fromEntries(
    Object.entries(metadataNode({ ...parsed.spec, disks: spec.disks }, devs))
      .filter(([k]) => k !== '@xmlns:qx')
      .map(([k, v]) => [k.replace(/^qx:/, ''), v]),
  );
  const xml = buildXml({ vm: node });
  await domainCall(virsh, uuid, ['metadata', uuid, QX_NS, '--key', 'qx', '--set', xml, '--live', '--config']);
}
