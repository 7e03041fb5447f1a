// Moves a single server's configuration (its lowdb file, migrated to the current schema) into an
// etcd cluster that holds none yet, sealed with the servers' key (created in the data dir when
// missing: copy it to every other server). Run with the server stopped:
//   QX_SERVER_DATA_DIR=/var/lib/quantix/server QX_STORE=etcd QX_ETCD_ENDPOINTS=… node server/dist/store/migrate-to-etcd.js
// History (tasks, audit, events) stays in the data dir's append-only logs, which this server keeps using.
import { pathToFileURL } from 'node:url';
import type { Etcd3 } from 'etcd3';
import { loadServerConfig } from '../config.js';
import { Db } from './db.js';
import { createEtcdClient } from './etcd-client.js';
import { EtcdStore } from './etcd-store.js';
import type { DbData } from './records.js';

const COLLECTIONS = [
  'users',
  'sessions',
  'tokens',
  'hosts',
  'clusters',
  'clusterNetworks',
  'templates',
  'backupSchedules',
  'backupTargets',
] as const;

/** Copies the configuration of `dataDir` into etcd; refuses (writing nothing) when etcd already holds one. */
export async function migrateToEtcd(dataDir: string, client: Etcd3): Promise<{ records: number }> {
  const db = await Db.open(dataDir);
  const store = await EtcdStore.open(client, dataDir);
  try {
    const held = inUse(store.data);
    if (held) throw new Error(`etcd already holds a vDC configuration (${held}); nothing was written`);
    Object.assign(store.data, structuredClone(db.data));
    await store.write();
    return { records: COLLECTIONS.reduce((n, c) => n + db.data[c].length, 0) + (db.data.vdc ? 1 : 0) };
  } finally {
    await store.close();
  }
}

function inUse(d: DbData): string | undefined {
  if (d.vdc) return 'a vDC identity';
  const used = COLLECTIONS.filter((c) => d[c].length > 0);
  return used.length ? used.map((c) => `${d[c].length} ${c}`).join(', ') : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const config = loadServerConfig();
  if (config.store.kind !== 'etcd') {
    console.error('set QX_STORE=etcd and QX_ETCD_ENDPOINTS (and QX_ETCD_CA/CERT/KEY for TLS) to the target cluster');
    process.exit(2);
  }
  try {
    const { records } = await migrateToEtcd(config.dataDir, createEtcdClient(config.store));
    console.log(`moved ${records} records from ${config.dataDir} into etcd ${config.store.endpoints.join(',')}`);
    console.log(`copy ${config.dataDir}/etcd-secret.key to the data dir of every server of this control plane`);
  } catch (err) {
    console.error(`migration to etcd failed: ${(err as Error).message}`);
    process.exit(1);
  }
}
