// A libvirt domain (virsh dumpxml) → ExportSource: name, vCPUs and topology, memory, firmware,
// file-backed disks in order with the format the VM uses (<driver type>), NICs, from the typed
// domain of libvirt/xml/domain-parse.ts. Pure but for resolving volumes; reading goes through Virsh.
import type { Virsh } from '../libvirt/virsh.js';
import { readDomainXml } from '../libvirt/xml/domain-parse.js';
import { NicModel } from '@quantix/proto/v1/vm.js';
import { nicModelNames, ovfNicModelNames } from '../enum-names.js';
import { failedPrecondition } from '../errors.js';
import type { ExportDisk, ExportSource } from './ova-export.js';

/** Parses domain XML; `volumePath` resolves `<source pool volume>` disks. */
export async function exportSourceFromDomainXml(
  xml: string,
  volumePath: (pool: string, vol: string) => Promise<string>,
): Promise<ExportSource> {
  const dom = readDomainXml(xml);
  // What the VM runs with now, not its hotplug ceilings (an OVF has no such notion).
  const { name, currentVcpus: cpus } = dom;
  const cores = (dom.topology.cores ?? 1) * (dom.topology.threads ?? 1);
  const nics = dom.interfaces.map((n) => ({
    // No <model> is libvirt's default for x86 guests, an e1000; anything unknown is exported as one.
    model: ovfNicModelNames.name(nicModelNames.value(n.model || 'e1000') ?? NicModel.NIC_MODEL_E1000) ?? 'E1000',
    network: n.network || n.bridge || 'VM Network',
    mac: n.mac,
  }));
  const disks = await Promise.all(
    dom.disks
      .filter((d) => d.device === 'disk')
      .map(async ({ dev, format, source }): Promise<ExportDisk> => {
        const target = dev || '?';
        if (format !== 'qcow2' && format !== 'raw')
          throw failedPrecondition(`VM ${name}: disk ${target} is ${format}; only qcow2 and raw disks are exported`);
        if (source.file !== undefined) return { path: source.file, format };
        if (source.pool !== undefined && source.volume !== undefined)
          return { path: await volumePath(source.pool, source.volume), format };
        if (source.dev !== undefined) return { path: source.dev, format };
        throw failedPrecondition(`VM ${name}: disk ${target} has no file or volume source`);
      }),
  );
  return {
    name,
    annotation: dom.description,
    osType: 'other',
    firmware: dom.os.efi ? 'efi' : 'bios',
    cpus,
    coresPerSocket: cores > 0 && cpus % cores === 0 ? cores : 1,
    memoryMib: Math.ceil(dom.currentMemoryBytes / 2 ** 20),
    disks,
    nics,
  };
}

/** Reads a defined VM through virsh. */
export async function exportSourceFromVm(virsh: Virsh, vm: string): Promise<ExportSource> {
  const xml = await virsh.exec(['dumpxml', '--inactive', vm]);
  return exportSourceFromDomainXml(xml, async (pool, vol) =>
    (await virsh.exec(['vol-path', '--pool', pool, vol])).trim(),
  );
}
