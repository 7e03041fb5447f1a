// A libvirt domain (virsh dumpxml) → ExportSource: name, vCPUs and topology, memory, firmware,
// file-backed disks in order with the format the VM uses (<driver type>), NICs. Parsing is pure;
// reading goes through the Virsh wrapper.
import { XMLParser } from 'fast-xml-parser';
import type { Virsh } from '../libvirt/virsh.js';
import { failedPrecondition } from '../errors.js';
import type { ExportDisk, ExportSource } from './ova-export.js';

type Node = Record<string, unknown>;
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  processEntities: false,
  parseTagValue: false,
  isArray: (n) => n === 'disk' || n === 'interface',
});

function text(v: unknown): string {
  if (v && typeof v === 'object') return String((v as Node)['#text'] ?? '');
  return v === undefined ? '' : String(v);
}

const memoryUnit: Record<string, number> = { b: 1, bytes: 1, kib: 1024, k: 1024, mib: 2 ** 20, m: 2 ** 20, gib: 2 ** 30, g: 2 ** 30 };

const nicModels: Record<string, string> = { e1000: 'E1000', e1000e: 'E1000e', vmxnet3: 'VmxNet3', virtio: 'VirtioNet', rtl8139: 'RTL8139' };

/** Parses domain XML; `volumePath` resolves `<source pool volume>` disks. */
export function exportSourceFromDomainXml(xml: string, volumePath: (pool: string, vol: string) => Promise<string>): Promise<ExportSource> {
  const dom = (parser.parse(xml) as Node)['domain'] as Node;
  const devices = (dom['devices'] ?? {}) as Node;
  const cpus = Number(text(dom['vcpu']));
  const topology = ((dom['cpu'] as Node | undefined)?.['topology'] ?? {}) as Node;
  const cores = Number(topology['@cores'] ?? 1) * Number(topology['@threads'] ?? 1);
  const mem = dom['memory'];
  const unit = (mem && typeof mem === 'object' ? String((mem as Node)['@unit'] ?? 'KiB') : 'KiB').toLowerCase();
  const memoryMib = Math.ceil((Number(text(mem)) * (memoryUnit[unit] ?? 1024)) / 2 ** 20);
  const os = (dom['os'] ?? {}) as Node;
  const efi = os['@firmware'] === 'efi' || Boolean(os['loader']);
  const disks = (devices['disk'] as Node[] | undefined ?? []).filter((d) => d['@device'] === 'disk');
  const nics = (devices['interface'] as Node[] | undefined ?? []).map((n) => {
    const model = String(((n['model'] as Node | undefined) ?? {})['@type'] ?? 'e1000');
    const source = (n['source'] ?? {}) as Node;
    return {
      model: nicModels[model] ?? 'E1000',
      network: String(source['@network'] ?? source['@bridge'] ?? 'VM Network'),
      mac: String(((n['mac'] as Node | undefined) ?? {})['@address'] ?? ''),
    };
  });
  const name = text(dom['name']);
  return Promise.all(
    disks.map(async (d): Promise<ExportDisk> => {
      const target = String((d['target'] as Node | undefined)?.['@dev'] ?? '?');
      // libvirt never probes a disk's format: no <driver type> means raw.
      const format = String(((d['driver'] as Node | undefined) ?? {})['@type'] ?? 'raw');
      if (format !== 'qcow2' && format !== 'raw') throw failedPrecondition(`VM ${name}: disk ${target} is ${format}; only qcow2 and raw disks are exported`);
      const s = (d['source'] ?? {}) as Node;
      if (typeof s['@file'] === 'string') return { path: s['@file'], format };
      if (typeof s['@pool'] === 'string' && typeof s['@volume'] === 'string') return { path: await volumePath(s['@pool'], s['@volume']), format };
      if (typeof s['@dev'] === 'string') return { path: s['@dev'], format };
      throw failedPrecondition(`VM ${name}: disk ${target} has no file or volume source`);
    }),
  ).then((paths) => ({
    name,
    annotation: text(dom['description']),
    osType: 'other',
    firmware: efi ? ('efi' as const) : ('bios' as const),
    cpus,
    coresPerSocket: cores > 0 && cpus % cores === 0 ? cores : 1,
    memoryMib,
    disks: paths,
    nics,
  }));
}

/** Reads a defined VM through virsh. */
export async function exportSourceFromVm(virsh: Virsh, vm: string): Promise<ExportSource> {
  const xml = await virsh.exec(['dumpxml', '--inactive', vm]);
  return exportSourceFromDomainXml(xml, async (pool, vol) => (await virsh.exec(['vol-path', '--pool', pool, vol])).trim());
}
