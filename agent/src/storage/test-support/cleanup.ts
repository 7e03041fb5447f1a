// Last-resort cleanup for storage tests and benchmarks that failed half-way: unmounts what is
// mounted under `dataDir`, detaches loop devices on its files, removes libvirt pools with `prefix`.
import type { Virsh } from '../../libvirt/virsh.js';
import { libvirtPoolNames, libvirtPoolStop, libvirtPoolUndefine } from '../libvirt-pool.js';
import { loopDetach, loopList } from '../loop-device.js';
import { readMounts, unmount } from '../mounts.js';

export async function releaseStorageUnder(dataDir: string, prefix: string, virsh: Virsh): Promise<void> {
  for (const p of (await libvirtPoolNames(virsh)).filter((n) => n.startsWith(prefix))) {
    await libvirtPoolStop(virsh, p).catch(() => undefined);
    await libvirtPoolUndefine(virsh, p).catch(() => undefined);
  }
  for (const m of (await readMounts()).filter((m) => m.mountPoint.startsWith(dataDir)).reverse()) {
    await unmount(m.mountPoint).catch(() => undefined);
  }
  for (const d of (await loopList()).filter((d) => d.backFile.startsWith(dataDir)))
    await loopDetach(d.name).catch(() => undefined);
}
