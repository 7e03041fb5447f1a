// Storage move on this host: a VM's disks copied into another pool through the volume layer
// (Volumes.clone: sandboxed qemu-img, pool locks), the definition switched to the copies, then
// each old volume deleted unless something else holds it. An abort or a failure before the switch
// removes the copies and leaves the VM on its old disks.
import type { MovedDisk } from '@quantix/proto/v1/storage.js';
import { failedPrecondition, invalidArgument } from '../errors.js';
import { DomainState } from '../libvirt/domain.js';
import type { Virsh } from '../libvirt/virsh.js';
import { readVm } from '../vm/vm-read.js';
import { vmTarget } from '../vm/vm-lifecycle.js';
import { updateVm } from '../vm/vm-define.js';
import type { Volumes } from './volumes.js';

export interface DiskMoveOptions {
  vm: string;
  targetPool: string;
  signal: AbortSignal;
  /** Percent over all disks moved, and the phase ("copying <volume>", "switching", "cleaning up"). */
  onProgress: (percent: number, phase: string) => void;
}

/** Moves every disk of a shut-off VM that is not in `targetPool` into it. */
export async function moveVmDisks(virsh: Virsh, volumes: Volumes, opts: DiskMoveOptions): Promise<MovedDisk[]> {
  if (!opts.targetPool) throw invalidArgument('target_pool', 'name the pool to move the disks into');
  const t = await vmTarget(virsh, opts.vm);
  if (t.state !== DomainState.Shutoff) {
    throw failedPrecondition(
      `VM ${t.name} is running: a running VM's disks move by a block copy, not supported here yet`,
    );
  }
  const spec = (await readVm(virsh, t.uuid)).spec!;
  const moving = spec.disks.filter((d) => d.pool !== opts.targetPool);
  if (!moving.length) throw failedPrecondition(`the disks of VM ${t.name} are already in pool ${opts.targetPool}`);
  const copied: string[] = [];
  try {
    for (const [i, d] of moving.entries()) {
      opts.signal.throwIfAborted();
      const phase = `copying ${d.volume}`;
      opts.onProgress((i / moving.length) * 100, phase);
      await volumes.clone(
        { pool: d.pool, name: d.volume, targetName: d.volume, targetPool: opts.targetPool, linked: false },
        { signal: opts.signal, onPercent: (p) => opts.onProgress(((i + p / 100) / moving.length) * 100, phase) },
      );
      copied.push(d.volume);
    }
    opts.signal.throwIfAborted();
    opts.onProgress(100, 'switching');
    const disks = spec.disks.map((d) => (d.pool === opts.targetPool ? d : { ...d, pool: opts.targetPool }));
    await updateVm(virsh, volumes, t.uuid, { ...spec, disks });
  } catch (err) {
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
