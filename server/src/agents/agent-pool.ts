// All joined hosts: one HostConnection each, created from the host records at start and when a
// host joins; lookups for routing a request to the host that owns an object.
import type { KeyAndCert } from '@quantix/proto/tls/certificates.js';
import { sameFingerprint } from '@quantix/proto/tls/pinned-credentials.js';
import { notFound } from '../errors.js';
import type { HostRecord } from '../store/records.js';
import { HostConnection, type ConnectionListener } from './host-connection.js';

export class AgentPool {
  private readonly connections = new Map<string, HostConnection>();
  /**
   * This server's own appliance agent, when its host is recorded under a network address (etcd
   * control plane): that host is dialled over `address` (its private socket) instead.
   */
  localRoute: { fingerprint: string; address: string } | undefined;

  constructor(
    private readonly clientCert: KeyAndCert,
    private readonly listener: ConnectionListener,
  ) {}

  add(record: HostRecord): HostConnection {
    this.connections.get(record.id)?.stop();
    const c = new HostConnection(record, this.clientCert, this.listener, this.dialAddress(record));
    this.connections.set(record.id, c);
    c.start();
    return c;
  }

  /** Where `record`'s agent is dialled from this server. */
  dialAddress(record: HostRecord): string {
    const route = this.localRoute;
    return route && sameFingerprint(route.fingerprint, record.fingerprint) ? route.address : record.address;
  }

  /** Whether `record` is this server's own appliance agent (on a control plane, each appliance's is `local`). */
  isOwnAppliance(record: HostRecord): boolean {
    const route = this.localRoute;
    return record.local && (!route || sameFingerprint(route.fingerprint, record.fingerprint));
  }

  remove(id: string): void {
    this.connections.get(id)?.stop();
    this.connections.delete(id);
  }

  all(): HostConnection[] {
    return [...this.connections.values()];
  }

  find(id: string): HostConnection | undefined {
    return this.connections.get(id);
  }

  get(id: string): HostConnection {
    const c = this.connections.get(id);
    if (!c) throw notFound(`host ${id}`);
    return c;
  }

  /** The host that has VM `uuid` (or a VM of that name, when unique). */
  hostOfVm(idOrName: string): HostConnection {
    for (const c of this.connections.values()) if (c.vms.has(idOrName)) return c;
    const byName = this.all().filter((c) => [...c.vms.values()].some((v) => v.spec?.name === idOrName));
    if (byName.length === 1) return byName[0]!;
    throw notFound(`VM ${idOrName}`);
  }

  stop(): void {
    for (const c of this.connections.values()) c.stop();
    this.connections.clear();
  }
}
