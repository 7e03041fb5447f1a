// Which networks the create-VM wizard offers: those of the host the VM will run on, the cluster
// networks of its cluster, or — with automatic placement — the networks every usable host has
// (placement does not look at host networks). Pure; unit-tested without a browser.
import type { ClusterNetworkDto } from '@dto/cluster-networks.js';
import type { HostDto } from '@dto/hosts.js';
import type { NetworkDto } from '@dto/networks.js';

/** One network the VM can be put on; `detail` is shown next to the name. */
export interface NetworkChoice {
  name: string;
  detail: string;
}

/** Where the VM will run: a host, a cluster, or (neither) anywhere. */
export interface NetworkTarget {
  hostId?: string;
  clusterId?: string;
}

/** What the choices are made from: host networks (each tagged with its host) and cluster networks. */
export interface NetworkSources {
  hosts: readonly Pick<HostDto, 'id' | 'status' | 'maintenance'>[];
  networks: readonly NetworkDto[];
  clusterNetworks: readonly ClusterNetworkDto[];
}

const detailOf = (n: { kind: string; subnet: string }, extra = '') =>
  `${n.kind}${n.subnet ? `, ${n.subnet}` : ''}${extra}`;

/** The networks a VM placed at `target` can use, by name. */
export function networkChoices(target: NetworkTarget, src: NetworkSources): NetworkChoice[] {
  if (target.hostId) {
    return src.networks
      .filter((n) => n.hostId === target.hostId)
      .map((n) => ({ name: n.name, detail: detailOf(n, n.active ? '' : ', inactive') }));
  }
  if (target.clusterId) {
    // Placement skips hosts where a cluster network is not applied: one applied nowhere cannot be used.
    return src.clusterNetworks
      .filter((n) => n.clusterId === target.clusterId && n.hosts.some((h) => h.state === 'applied'))
      .map((n) => ({ name: n.name, detail: detailOf(n, ', cluster network') }));
  }
  const usable = src.hosts.filter((h) => h.status === 'online' && !h.maintenance).map((h) => h.id);
  if (!usable.length) return [];
  const onHost = (id: string) => new Set(src.networks.filter((n) => n.hostId === id).map((n) => n.name));
  const others = usable.slice(1).map(onHost);
  return src.networks
    .filter((n) => n.hostId === usable[0] && others.every((names) => names.has(n.name)))
    .map((n) => ({ name: n.name, detail: detailOf(n) }));
}
