// lowdb → etcd: every record of a single server's configuration file arrives in a new etcd
// cluster (more records than one etcd transaction may hold), a server with the copied key reads
// the same configuration back, and a second migration into the cluster in use is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcdCluster, type EtcdCluster } from '../test-support/etcd-cluster.js';
import { createEtcdClient } from './etcd-client.js';
import { EtcdStore } from './etcd-store.js';
import { Db } from './db.js';
import { SecretBox } from './secret-box.js';
import { migrateToEtcd } from './migrate-to-etcd.js';
import type { DbData } from './records.js';

describe('lowdb → etcd migration (3 real etcd members)', () => {
  let cluster: EtcdCluster;
  let dir: string;
  const client = () => createEtcdClient({ kind: 'etcd', endpoints: cluster.endpoints.split(',') });
  before(async () => {
    cluster = await startEtcdCluster(3);
    dir = await mkdtemp(join(tmpdir(), 'qxt-etcd-migrate-'));
  });
  after(async () => {
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('moves every record, and a server with the key reads the same configuration', async () => {
    const source = join(dir, 'single');
    const db = await Db.open(source);
    fill(db.data);
    await db.write();
    const expected = structuredClone(db.data);

    assert.deepEqual(await migrateToEtcd(source, client()), { records: 157 });

    const other = join(dir, 'second-server');
    await mkdir(other);
    await copyFile(SecretBox.path(source), SecretBox.path(other));
    const store = await EtcdStore.open(client(), other);
    try {
      assert.deepEqual(sorted(store.data), sorted(expected));
    } finally {
      await store.close();
    }
    await assert.rejects(
      migrateToEtcd(source, client()),
      /etcd already holds a vDC configuration \(a vDC identity\); nothing was written/,
    );
  });
});

const at = '2026-01-01T00:00:00.000Z';

function fill(d: DbData): void {
  d.vdc = { id: 'vdc-1', caKeyPem: 'ca-key', caCertPem: 'ca-cert', clientKeyPem: 'ck', clientCertPem: 'cc' };
  d.users.push({
    id: 'u1',
    username: 'admin',
    passwordHash: 'scrypt$x',
    role: 'admin',
    disabled: false,
    createdAt: at,
    lastLoginAt: null,
  });
  for (let i = 0; i < 150; i++)
    d.sessions.push({
      idHash: `s${i}`,
      userId: 'u1',
      csrfToken: `t${i}`,
      createdAt: at,
      expiresAt: '2099-01-01T00:00:00.000Z',
    });
  d.tokens.push({
    id: 'k1',
    name: 'ci',
    userId: 'u1',
    role: 'operator',
    secretHash: 'h',
    prefix: 'qx_',
    createdAt: at,
    expiresAt: '2099-01-01T00:00:00.000Z',
    lastUsedAt: null,
  });
  d.hosts.push({
    id: 'h1',
    name: 'esx-1',
    address: '10.0.0.1:7443',
    local: false,
    certificatePem: 'pem',
    fingerprint: 'fp',
    clusterId: 'c1',
    maintenance: false,
    joinedAt: at,
  });
  d.clusters.push({ id: 'c1', name: 'prod', createdAt: at });
  d.clusterNetworks.push({
    clusterId: 'c1',
    name: 'vm net/1',
    spec: { name: 'vm net/1' } as never,
    createdAt: at,
    hosts: [],
  });
  d.templates.push({
    id: 't1',
    name: 'debian',
    description: '',
    hostId: 'h1',
    pool: 'default',
    volumes: ['a.qcow2'],
    spec: {},
    osType: 'linux',
    sourceFile: 'd.ova',
    sizeBytes: 1,
    warnings: [],
    createdAt: at,
  });
  d.notifications = {
    webhooks: [{ url: 'https://hooks.example/x', kinds: [], minSeverity: 'warning', secret: 'shh' }],
  };
}

/** Records in a stable order (etcd returns them by key). */
function sorted(d: DbData): DbData {
  const out = structuredClone(d);
  for (const k of ['users', 'sessions', 'tokens', 'hosts', 'clusters', 'clusterNetworks', 'templates'] as const)
    (out[k] as unknown[]).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  return out;
}
