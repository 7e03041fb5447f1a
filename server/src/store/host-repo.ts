// Hosts, clusters and the vDC identity (CA + the server's client certificate) in the db.
import type { ConfigStore } from './config-store.js';
import type { ClusterRecord, HostRecord, VdcRecord } from './records.js';

export class HostRepo {
  constructor(private readonly db: ConfigStore) {}

  list(): HostRecord[] {
    return this.db.data.hosts;
  }
  byId(id: string): HostRecord | undefined {
    return this.db.data.hosts.find((h) => h.id === id);
  }
  async put(host: HostRecord): Promise<void> {
    const d = this.db.data;
    d.hosts = [...d.hosts.filter((h) => h.id !== host.id), host];
    await this.db.write();
  }
  async update(id: string, change: Partial<HostRecord>): Promise<HostRecord | undefined> {
    const h = this.byId(id);
    if (h) Object.assign(h, change);
    await this.db.write();
    return h;
  }
  async remove(id: string): Promise<void> {
    this.db.data.hosts = this.db.data.hosts.filter((h) => h.id !== id);
    await this.db.write();
  }
}

export class ClusterRepo {
  constructor(private readonly db: ConfigStore) {}

  list(): ClusterRecord[] {
    return this.db.data.clusters;
  }
  byId(id: string): ClusterRecord | undefined {
    return this.db.data.clusters.find((c) => c.id === id);
  }
  async add(c: ClusterRecord): Promise<void> {
    this.db.data.clusters.push(c);
    await this.db.write();
  }
  /** Applies `mutate` to the db data and persists it in one write. */
  async change(mutate: () => void): Promise<void> {
    mutate();
    await this.db.write();
  }
  async remove(id: string): Promise<void> {
    const d = this.db.data;
    d.clusters = d.clusters.filter((c) => c.id !== id);
    for (const h of d.hosts) if (h.clusterId === id) h.clusterId = null;
    await this.db.write();
  }
}

export class VdcRepo {
  constructor(private readonly db: ConfigStore) {}

  get(): VdcRecord | null {
    return this.db.data.vdc;
  }
  async set(v: VdcRecord): Promise<void> {
    this.db.data.vdc = v;
    await this.db.write();
  }
}
