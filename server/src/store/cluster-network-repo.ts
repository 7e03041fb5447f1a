// Cluster networks in the server's db file (the `clusterNetworks` collection, schema 2).
import type { ConfigStore } from './config-store.js';
import type { ClusterNetworkHostRecord, ClusterNetworkRecord } from './records.js';

export class ClusterNetworkRepo {
  constructor(private readonly db: ConfigStore) {}

  list(clusterId?: string): ClusterNetworkRecord[] {
    return this.db.data.clusterNetworks.filter((n) => clusterId === undefined || n.clusterId === clusterId);
  }
  get(clusterId: string, name: string): ClusterNetworkRecord | undefined {
    return this.db.data.clusterNetworks.find((n) => n.clusterId === clusterId && n.name === name);
  }
  async add(n: ClusterNetworkRecord): Promise<void> {
    this.db.data.clusterNetworks.push(n);
    await this.db.write();
  }
  /** Sets one host's outcome for one network and persists it. */
  async setHost(n: ClusterNetworkRecord, status: ClusterNetworkHostRecord): Promise<void> {
    n.hosts = [...n.hosts.filter((h) => h.hostId !== status.hostId), status];
    await this.db.write();
  }
  async remove(clusterId: string, name: string): Promise<void> {
    const d = this.db.data;
    d.clusterNetworks = d.clusterNetworks.filter((n) => !(n.clusterId === clusterId && n.name === name));
    await this.db.write();
  }
}
