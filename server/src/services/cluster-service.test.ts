// Placement policy on inventory snapshots: the host with the most free memory among those in
// the cluster that are online, not in maintenance and have the pool (active) wins; when none
// qualifies the 409 says why for each host. A cluster with cluster networks cannot be deleted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PoolState, type Pool } from '@quantix/proto/v1/storage.js';
import { Db } from '../store/db.js';
import { ClusterRepo, HostRepo } from '../store/host-repo.js';
import { ClusterNetworkRepo } from '../store/cluster-network-repo.js';
import { ClusterService } from './cluster-service.js';
import { EventHub } from './event-hub.js';
import { InventoryService } from './inventory-service.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { HostConnection } from '../agents/host-connection.js';
import { HttpError } from '../errors.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const GiB = 2 ** 30;

function snapshot(
  id: string,
  opts: {
    free: number;
    online?: boolean;
    maintenance?: boolean;
    pools?: [string, PoolState][];
    clusterId?: string;
    agentVersion?: string;
  },
): HostConnection {
  return {
    record: { id, name: id, clusterId: opts.clusterId ?? 'c1', maintenance: opts.maintenance ?? false },
    info: { agentVersion: opts.agentVersion ?? '' },
    online: opts.online ?? true,
    pools: new Map(
      (opts.pools ?? [['data', PoolState.POOL_STATE_ACTIVE]]).map(([n, st]) => [n, { name: n, state: st } as Pool]),
    ),
    metrics: { memoryTotalBytes: 64 * GiB, memoryUsedBytes: 64 * GiB - opts.free },
  } as unknown as HostConnection;
}

test('placement picks the eligible host with the most free memory', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-placement-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = await Db.open(dir);
  db.data.clusters.push({ id: 'c1', name: 'one', createdAt: '' });
  const hosts = [
    snapshot('small', { free: 4 * GiB }),
    snapshot('big-but-maintenance', { free: 60 * GiB, maintenance: true }),
    snapshot('big-but-offline', { free: 50 * GiB, online: false }),
    snapshot('no-pool', { free: 40 * GiB, pools: [['other', PoolState.POOL_STATE_ACTIVE]] }),
    snapshot('pool-inactive', { free: 30 * GiB, pools: [['data', PoolState.POOL_STATE_INACTIVE]] }),
    snapshot('best', { free: 20 * GiB }),
    snapshot('other-cluster', { free: 63 * GiB, clusterId: 'c2' }),
  ];
  const pool = { all: () => hosts } as unknown as AgentPool;
  const svc = new ClusterService(
    new ClusterRepo(db),
    new HostRepo(db),
    new ClusterNetworkRepo(db),
    pool,
    new InventoryService(new EventHub()),
    new EventHub(),
  );

  const p = svc.placement('c1', 'data');
  assert.equal(p.hostId, 'best');
  const reasons = Object.fromEntries(p.candidates.map((c) => [c.hostId, c.reason]));
  assert.deepEqual(reasons, {
    'big-but-maintenance': 'in maintenance',
    'big-but-offline': 'offline',
    'no-pool': 'no pool "data"',
    'pool-inactive': 'pool "data" is not active',
    best: '',
    small: '',
  });
  assert.equal(svc.placement(undefined, 'data').hostId, 'other-cluster', 'without a cluster every host counts');
  assert.equal(svc.placement('c1', 'data', 8 * 1024).hostId, 'best');
  assert.throws(
    () => svc.placement('c1', 'data', 32 * 1024),
    (e: unknown) => e instanceof HttpError && e.status === 409 && /best: not enough free memory/.test(e.message),
  );
  svc.networkCheck = (hostId, names) =>
    hostId === 'best' && names.includes('lan') ? 'network "lan" is not applied here' : '';
  assert.equal(svc.placement('c1', 'data', 0, ['lan']).hostId, 'small', 'hosts without the VM networks are skipped');
  assert.throws(
    () => svc.placement('nope', 'data'),
    (e: unknown) => e instanceof HttpError && e.status === 404,
  );
});

test('a cluster with cluster networks refuses deletion, naming them; without them it goes', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-cluster-delete-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = await Db.open(dir);
  const networks = new ClusterNetworkRepo(db);
  const pool = { all: () => [] } as unknown as AgentPool;
  const svc = new ClusterService(
    new ClusterRepo(db),
    new HostRepo(db),
    networks,
    pool,
    new InventoryService(new EventHub()),
    new EventHub(),
  );
  const cluster = await svc.create('qxt-srv-prod');
  for (const name of ['qxt-srv-lan', 'qxt-srv-dmz']) {
    await networks.add({
      clusterId: cluster.id,
      name,
      spec: { name, kind: 'nat', subnet: '10.9.8.0/24' },
      createdAt: '',
      hosts: [],
    });
  }

  await assert.rejects(
    svc.remove(cluster.id),
    (e: unknown) =>
      e instanceof HttpError &&
      e.status === 409 &&
      e.message === 'cluster qxt-srv-prod still has cluster networks (qxt-srv-lan, qxt-srv-dmz): delete them first',
  );
  assert.equal(svc.get(cluster.id).name, 'qxt-srv-prod', 'the cluster is still there');
  assert.equal(networks.list(cluster.id).length, 2, 'and so are its networks');

  await networks.remove(cluster.id, 'qxt-srv-lan');
  await networks.remove(cluster.id, 'qxt-srv-dmz');
  await svc.remove(cluster.id);
  assert.throws(
    () => svc.get(cluster.id),
    (e: unknown) => e instanceof HttpError && e.status === 404,
  );
});

test('placement never chooses a host whose agent version this vDC does not support; one minor behind still works', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-srv-placement-version-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const db = await Db.open(dir);
  db.data.clusters.push({ id: 'c1', name: 'one', createdAt: '' });
  const hosts = [
    snapshot('too-old', { free: 60 * GiB, agentVersion: '0.1.4' }),
    snapshot('newer-than-vdc', { free: 50 * GiB, agentVersion: '0.4.0' }),
    snapshot('other-major', { free: 45 * GiB, agentVersion: '1.3.0' }),
    snapshot('one-behind', { free: 40 * GiB, agentVersion: '0.2.9' }),
    snapshot('current', { free: 20 * GiB, agentVersion: '0.3.1' }),
  ];
  const inventory = new InventoryService(new EventHub(), undefined, '0.3.1');
  const pool = { all: () => hosts } as unknown as AgentPool;
  const svc = new ClusterService(
    new ClusterRepo(db),
    new HostRepo(db),
    new ClusterNetworkRepo(db),
    pool,
    inventory,
    new EventHub(),
  );
  const p = svc.placement('c1', 'data');
  assert.equal(p.hostId, 'one-behind');
  const reasons = Object.fromEntries(p.candidates.map((c) => [c.hostId, c.reason]));
  assert.deepEqual(reasons, {
    'too-old': 'agent 0.1.4 is outside the versions this vDC supports (0.2.0 to 0.3.1)',
    'newer-than-vdc': 'agent 0.4.0 is newer than this vDC (0.3.1): update the vDC first',
    'other-major': 'agent 1.3.0 is newer than this vDC (0.3.1): update the vDC first',
    'one-behind': '',
    current: '',
  });
  assert.deepEqual(inventory.agentVersionOf('0.2.9'), {
    agentVersionStatus: 'older',
    agentVersionMessage: 'agent 0.2.9 is older than this vDC (0.3.1): update this host',
  });
  assert.equal(inventory.agentVersionOf('0.3.0').agentVersionStatus, 'current');
  assert.equal(inventory.agentVersionOf('fake').agentVersionStatus, 'unsupported');
  assert.equal(inventory.agentVersionOf('').agentVersionStatus, 'unknown');
});
