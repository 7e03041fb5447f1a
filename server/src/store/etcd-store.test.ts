// The etcd backend against a real three-member etcd cluster: two stores (two servers) see each
// other's writes through the watch, compare-and-set refuses the second of two writers of one
// record, values are sealed with the servers' key, and a cluster without quorum refuses writes
// with a 503 while reads go on (flagged), until it recovers; a server cut off while etcd compacted
// what it missed reloads, reports the missed changes and watches again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcdCluster, type EtcdCluster } from '../test-support/etcd-cluster.js';
import { tcpProxy } from '../test-support/tcp-proxy.js';
import { eventually } from '../test-support/guest-pool.js';
import { createEtcdClient } from './etcd-client.js';
import { EtcdStore } from './etcd-store.js';
import { SecretBox } from './secret-box.js';
import type { HttpError } from '../errors.js';
import { SCHEMA_VERSION } from './db.js';

describe('etcd configuration store (3 real etcd members)', () => {
  let cluster: EtcdCluster;
  let dir: string;
  const stores: EtcdStore[] = [];
  const open = async (dataDir: string) => {
    const endpoints = cluster.endpoints.split(',');
    const s = await EtcdStore.open(createEtcdClient({ kind: 'etcd', endpoints }), dataDir);
    stores.push(s);
    return s;
  };
  before(async () => {
    cluster = await startEtcdCluster(3);
    dir = await mkdtemp(join(tmpdir(), 'qxt-etcd-store-'));
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    await cluster.close();
    await rm(dir, { recursive: true, force: true });
  });

  let a: EtcdStore;
  let b: EtcdStore;

  it('starts an empty configuration on a new cluster, and a second server with the same key sees it', async () => {
    a = await open(join(dir, 'a'));
    assert.equal(a.data.schemaVersion, SCHEMA_VERSION);
    assert.deepEqual(a.data.clusters, []);
    // Without the key file a server cannot join: the values are unreadable to it.
    await assert.rejects(open(join(dir, 'nokey')), /copy etcd-secret\.key from one of its servers/);
    await SecretBox.create(join(dir, 'wrongkey'));
    await assert.rejects(open(join(dir, 'wrongkey')), /cannot be decrypted with this server's etcd-secret\.key/);
    await copyFileTo(join(dir, 'a'), join(dir, 'b'));
    b = await open(join(dir, 'b'));
    assert.equal(b.data.schemaVersion, SCHEMA_VERSION);
  });

  it("shows one server's acknowledged writes to the other through the watch", async () => {
    a.data.clusters.push({ id: 'c1', name: 'prod', createdAt: '2026-01-01T00:00:00.000Z' });
    await a.write();
    await eventually('the cluster on server b', async () => b.data.clusters.find((c) => c.id === 'c1'), 10_000);
    b.data.clusters = b.data.clusters.filter((c) => c.id !== 'c1');
    await b.write();
    await eventually('the cluster gone on server a', async () => !a.data.clusters.some((c) => c.id === 'c1'), 10_000);
  });

  it('keeps secrets sealed in etcd', async () => {
    a.data.vdc = { id: 'v', caKeyPem: 'CA-PRIVATE-KEY-PEM', caCertPem: '', clientKeyPem: '', clientCertPem: '' };
    await a.write();
    const raw = await a.client.get('/quantix/config/vdc').string();
    assert.ok(raw && !raw.includes('CA-PRIVATE-KEY-PEM'), 'the CA key is not readable in etcd');
    await eventually('the vDC identity on server b', async () => b.data.vdc?.caKeyPem === 'CA-PRIVATE-KEY-PEM', 10_000);
  });

  it('refuses the second of two servers editing the same record (compare-and-set), keeping the first', async () => {
    a.data.clusters.push({ id: 'c2', name: 'edge', createdAt: '2026-01-01T00:00:00.000Z' });
    await a.write();
    await eventually('c2 on b', async () => b.data.clusters.find((c) => c.id === 'c2'), 10_000);
    // Both change c2 before either sees the other's change.
    const [ra, rb] = await Promise.allSettled([
      (async () => {
        a.data.clusters.find((c) => c.id === 'c2')!.name = 'edge-a';
        await a.write();
      })(),
      (async () => {
        b.data.clusters.find((c) => c.id === 'c2')!.name = 'edge-b';
        await b.write();
      })(),
    ]);
    const outcomes = [ra.status, rb.status].sort();
    assert.deepEqual(outcomes, ['fulfilled', 'rejected'], 'exactly one write wins');
    const loser = (ra.status === 'rejected' ? ra.reason : (rb as PromiseRejectedResult).reason) as HttpError;
    assert.equal(loser.status, 409);
    assert.match(loser.message, /^clusters\/c2 was changed through another vDC server at the same time/);
    const winner = ra.status === 'fulfilled' ? 'edge-a' : 'edge-b';
    for (const s of [a, b])
      await eventually(
        `${winner} on both`,
        async () => s.data.clusters.find((c) => c.id === 'c2')?.name === winner,
        10_000,
      );
  });

  it('merges two servers changing different fields of one record at once (a login here, a rename there)', async () => {
    a.data.users.push({
      id: 'u1',
      username: 'ops',
      passwordHash: 'h',
      role: 'viewer',
      disabled: false,
      createdAt: '2026-01-01T00:00:00.000Z',
      lastLoginAt: null,
    });
    await a.write();
    await eventually('u1 on b', async () => b.data.users.find((u) => u.id === 'u1'), 10_000);
    a.data.users.find((u) => u.id === 'u1')!.lastLoginAt = '2026-02-02T00:00:00.000Z';
    b.data.users.find((u) => u.id === 'u1')!.role = 'operator';
    await Promise.all([a.write(), b.write()]);
    for (const s of [a, b])
      await eventually(
        'both changes on both servers',
        async () => {
          const u = s.data.users.find((x) => x.id === 'u1');
          return u?.role === 'operator' && u.lastLoginAt === '2026-02-02T00:00:00.000Z';
        },
        10_000,
      );
  });

  it('refuses the second of two servers creating the same name at once', async () => {
    a.data.clusters.push({ id: 'c5', name: 'twin', createdAt: '2026-01-01T00:00:00.000Z' });
    b.data.clusters.push({ id: 'c6', name: 'twin', createdAt: '2026-01-01T00:00:00.000Z' });
    const results = await Promise.allSettled([a.write(), b.write()]);
    const refused = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
    assert.equal(refused.length, 1, 'exactly one server creates "twin"');
    assert.match(
      (refused[0]!.reason as HttpError).message,
      /the cluster name "twin" was changed through another vDC server/,
    );
    for (const s of [a, b])
      await eventually(
        'one "twin" on both',
        async () => s.data.clusters.filter((c) => c.name === 'twin').length === 1 && s,
        10_000,
      );
  });

  it('refuses writes with a 503 naming the cause when quorum is lost, serves reads flagged stale, and recovers', async () => {
    await cluster.members[1]!.kill();
    await cluster.members[2]!.kill();
    await eventually('the store to notice the lost quorum', async () => a.unavailable, 30_000);
    assert.match(a.unavailable!, /no quorum/);
    a.data.clusters.push({ id: 'c3', name: 'lost', createdAt: '2026-01-01T00:00:00.000Z' });
    const refused = await a.write().then(
      () => undefined,
      (err: HttpError) => err,
    );
    assert.equal(refused?.status, 503);
    assert.match(refused!.message, /configuration cannot be changed now: the etcd cluster has no quorum/);
    // Reads are still served from memory.
    assert.ok(a.data.clusters.some((c) => c.id === 'c2'));
    await cluster.members[1]!.start();
    await cluster.members[2]!.start();
    await eventually('writes accepted again', async () => !a.unavailable, 60_000);
    // The refused change was not committed: memory holds what etcd holds.
    assert.ok(!a.data.clusters.some((c) => c.id === 'c3'));
    a.data.clusters.push({ id: 'c4', name: 'back', createdAt: '2026-01-01T00:00:00.000Z' });
    await a.write();
    await eventually('c4 on b', async () => b.data.clusters.find((c) => c.id === 'c4'), 20_000);
  });

  it('reports the changes a server missed while cut off, and watches again once etcd compacted what it missed', async (t) => {
    // Server c reaches etcd through a proxy the test cuts; etcd itself stays up, and compacts.
    const proxy = await tcpProxy(Number(new URL(cluster.members[0]!.clientUrl).port));
    t.after(() => proxy.close());
    await copyFileTo(join(dir, 'a'), join(dir, 'c'));
    const c = await EtcdStore.open(createEtcdClient({ kind: 'etcd', endpoints: [proxy.url] }), join(dir, 'c'));
    stores.push(c);
    const reported: string[] = [];
    // The records' keys (their unique-name keys are reported too).
    c.onRemoteChange = (key) => void (key.startsWith('/quantix/config/clusters/') && reported.push(key));
    proxy.cut();
    await eventually('server c to notice it is cut off', async () => c.unavailable, 30_000);
    a.data.clusters.push({ id: 'c7', name: 'while-away', createdAt: '2026-01-01T00:00:00.000Z' });
    await a.write();
    a.data.clusters.find((x) => x.id === 'c7')!.name = 'while-away-renamed';
    await a.write();
    const { header } = await a.client.get('/quantix/keycheck').exec();
    await a.client.kv.compact({ revision: header.revision, physical: true });
    proxy.restore();
    await eventually(
      'server c to reload',
      async () => !c.unavailable && c.data.clusters.find((x) => x.id === 'c7')?.name === 'while-away-renamed',
      60_000,
    );
    assert.deepEqual(reported, ['/quantix/config/clusters/c7'], 'the change c missed is reported');
    // Its watch could not resume (compacted): a new one brings the next change.
    a.data.clusters.push({ id: 'c8', name: 'after', createdAt: '2026-01-01T00:00:00.000Z' });
    await a.write();
    await eventually('c8 on server c', async () => c.data.clusters.some((x) => x.id === 'c8'), 20_000);
    assert.deepEqual(reported, ['/quantix/config/clusters/c7', '/quantix/config/clusters/c8']);
  });
});

async function copyFileTo(fromDataDir: string, toDataDir: string): Promise<void> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(toDataDir, { recursive: true });
  await copyFile(SecretBox.path(fromDataDir), SecretBox.path(toDataDir));
}
