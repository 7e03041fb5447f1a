// Cluster networks in the server's db file, as the `clusterNetworks` collection (added on first
// use, so older db files need no migration).
import type { Db } from './db.js';
import type { CreateNetworkDto } from '../dto/networks.js';

export interface ClusterNetworkHostRecord {
  hostId: string;
  state: 'applied' | 'failed' | 'pending';
  reason: string;
  updatedAt: string;
}

export interface ClusterNetworkRecord {
  clusterId: string;
  name: string;
  spec: CreateNetworkDto;
  createdAt: string;
  hosts: ClusterNetworkHostRecord[];
}

export class ClusterNetworkRepo {
  constructor(private readonly db: Db) {}

  private get all(): ClusterNetworkRecord[] {
    const data = this.db.data as unknown as { clusterNetworks?: ClusterNetworkRecord[] };
    data.clusterNetworks ??= [];
    return data.clusterNetworks;
  }

  list(clusterId?: string): ClusterNetworkRecord[] {
    return this.all.filter((n) => clusterId === undefined || n.clusterId === clusterId);
  }
  get(clusterId: string, name: string): ClusterNetworkRecord | undefined {
    return this.all.find((n) => n.clusterId === clusterId && n.name === name);
  }
  async add(n: ClusterNetworkRecord): Promise<void> {
    this.all.push(n);
    await this.db.write();
  }
  /** Sets one host's outcome for one network and persists it. */
  async setHost(n: ClusterNetworkRecord, status: ClusterNetworkHostRecord): Promise<void> {
    n.hosts = [...n.hosts.filter((h) => h.hostId !== status.hostId), status];
    await this.db.write();
  }
  async remove(clusterId: string, name: string): Promise<void> {
    const data = this.db.data as unknown as { clusterNetworks: ClusterNetworkRecord[] };
    data.clusterNetworks = this.all.filter((n) => !(n.clusterId === clusterId && n.name === name));
    await this.db.write();
  }
}
