// The configuration store every repository and service uses (users, sessions, tokens, hosts,
// clusters, networks, templates, notifications, the vDC identity), with two backends chosen by
// QX_STORE: the embedded lowdb file (db.ts) and an etcd cluster shared by several servers (etcd-store.ts).
import type { ServerConfig } from '../config.js';
import { Db } from './db.js';
import { createEtcdClient } from './etcd-client.js';
import { EtcdStore } from './etcd-store.js';
import type { DbData } from './records.js';

export interface ConfigStore {
  readonly kind: 'embedded' | 'etcd';
  /**
   * The configuration, read from memory (the etcd backend keeps it current through a watch).
   * Callers change it in place, then call write().
   */
  readonly data: DbData;
  /**
   * Persists the current state: resolves once it is durable (the file fsynced, or the etcd
   * transaction committed). Rejects with a 409 when another server changed the same record first,
   * and a 503 while the store cannot commit (etcd quorum lost).
   */
  write(): Promise<void>;
  /** What was wrong with the stored state at start, for the audit log; undefined when fine. */
  readonly problem: string | undefined;
  /** Why writes are refused now and reads may be stale (etcd quorum lost); undefined when healthy. */
  readonly unavailable: string | undefined;
  close(): Promise<void>;
}

/** Opens the store QX_STORE names: this server's lowdb file, or the etcd cluster. */
export async function openConfigStore(config: ServerConfig): Promise<ConfigStore> {
  if (config.store.kind === 'embedded') return Db.open(config.dataDir);
  const client = createEtcdClient(config.store);
  try {
    return await EtcdStore.open(client, config.dataDir);
  } catch (err) {
    client.close();
    throw new Error(`etcd ${config.store.endpoints.join(',')}: ${(err as Error).message}`, { cause: err });
  }
}
