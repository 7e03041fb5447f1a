// Reads the NICs of a domain from `virsh dumpxml`: which libvirt network or bridge each is on,
// and its MAC (from libvirt/xml/domain-parse.ts). Pure; used to refuse deleting a network in use and to map leases to VMs.
import { readDomainXml } from '../libvirt/xml/domain-parse.js';

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

export function parseDomainNics(xml: string): DomainNics {
  const domain = readDomainXml(xml);
  return {
    name: domain.name,
    nics: domain.interfaces.map((i) => ({
      type: i.type,
      network: i.network,
      bridge: i.bridge,
      mac: i.mac.toLowerCase(),
    })),
  };
}
