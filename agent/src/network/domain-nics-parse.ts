// Reads the NICs of a domain from `virsh dumpxml`: which libvirt network or bridge each is on,
// and its MAC. Pure; used to refuse deleting a network in use and to map leases to VMs.
import { XMLParser } from 'fast-xml-parser';

export interface DomainNic {
  /** libvirt interface type: "network", "bridge", "user", … */
  type: string;
  network: string;
  bridge: string;
  mac: string;
}

export interface DomainNics {
  name: string;
  nics: DomainNic[];
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@_',
  parseTagValue: false,
  parseAttributeValue: false,
  isArray: (name) => name === 'interface',
});

type Node = Record<string, unknown>;
const str = (v: unknown): string => (v === undefined || v === null ? '' : String(v));

export function parseDomainNics(xml: string): DomainNics {
  const domain = ((parser.parse(xml) as Node).domain ?? {}) as Node;
  const interfaces = (((domain.devices as Node | undefined)?.interface ?? []) as Node[]).map((i) => {
    const source = (i.source ?? {}) as Node;
    return {
      type: str(i['@_type']),
      network: str(source['@_network']),
      bridge: str(source['@_bridge']),
      mac: str((i.mac as Node | undefined)?.['@_address']).toLowerCase(),
    };
  });
  return { name: str(domain.name), nics: interfaces };
}
