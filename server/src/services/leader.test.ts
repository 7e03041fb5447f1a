// Leader election on a real three-member etcd cluster: of two servers exactly one runs the
// leader's work; when the leader resigns (stops) the other takes over at once, and when its
// lease is lost (revoked in etcd, as when it expires) it stops the work and the other takes over.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Etcd3 } from 'etcd3';
import { startEtcdCluster, type EtcdCluster } from '../test-support/etcd-cluster.js';
import { eventually } from '../test-support/guest-pool.js';
import { createEtcdClient } from '../store/etcd-client.js';
import { EtcdLeader } from './leader.js';

describe('leader election on etcd (3 real etcd members)', () => {
  let cluster: EtcdCluster;
  const clients: Etcd3[] = [];
  const leaders: EtcdLeader[] = [];
  const running = new Map<string, boolean>();
  const join = (id: string) => {
    const client = createEtcdClient({ kind: 'etcd', endpoints: cluster.endpoints.split(',') });
    clients.push(client);
    const l = new EtcdLeader(client, id);
    leaders.push(l);
    running.set(id, false);
    l.run({ start: () => running.set(id, true), stop: () => running.set(id, false) });
    return l;
  };
  const workers = () => [...running].filter(([, on]) => on).map(([id]) => id);
  before(async () => {
    cluster = await startEtcdCluster(3);
  });
  after(async () => {
    await Promise.all(leaders.map((l) => l.close()));
    for (const c of clients) c.close();
    await cluster.close();
  });

  it('runs the work on exactly one server, and another takes over when it stops or loses its lease', async () => {
    const a = join('a');
    await eventually('a leading', async () => a.isLeader, 20_000);
    const b = join('b');
    const c = join('c');
    assert.deepEqual(workers(), ['a']);
    assert.equal(await b.leader(), 'a');

    await a.close();
    await eventually(
      'another server leading after a stopped',
      async () => workers().length === 1 && !running.get('a'),
      20_000,
    );
    const next = b.isLeader ? b : c;
    const nextId = next === b ? 'b' : 'c';
    assert.deepEqual(workers(), [nextId]);

    // The lease gone (as when the leader was cut off from etcd for longer than its TTL).
    const leases = await clients[0]!.leaseClient.leaseLeases({});
    for (const l of leases.leases) {
      const ttl = await clients[0]!.leaseClient.leaseTimeToLive({ ID: l.ID, keys: true });
      if (ttl.keys.some((k) => k.toString().includes('quantix-leader'))) {
        const owner = (await clients[0]!.get(ttl.keys[0]!.toString()).string()) ?? '';
        if (owner === nextId) await clients[0]!.leaseClient.leaseRevoke({ ID: l.ID });
      }
    }
    await eventually(`${nextId} stopping its work`, async () => !running.get(nextId), 20_000);
    await eventually('the third server leading', async () => workers().length === 1, 20_000);
    assert.notEqual(workers()[0], nextId, 'the server next in line leads, not the one that lost its lease');
  });
});

describe('leader election when etcd does not answer at first (1 real etcd member)', () => {
  let cluster: EtcdCluster;
  let client: Etcd3;
  let leader: EtcdLeader;
  before(async () => {
    cluster = await startEtcdCluster(1);
    client = createEtcdClient({ kind: 'etcd', endpoints: [cluster.endpoints] });
  });
  after(async () => {
    await leader?.close();
    client.close();
    await cluster.close();
  });

  it('a server whose campaign failed while etcd was away leads once it is back, with one key in the line', async () => {
    await cluster.members[0]!.kill();
    let working = false;
    leader = new EtcdLeader(client, 'solo');
    leader.run({ start: () => (working = true), stop: () => (working = false) });
    // Its campaign fails (no lease can be granted) and it campaigns again, until etcd answers.
    await new Promise((r) => setTimeout(r, 8_000));
    await cluster.members[0]!.start();
    await eventually('the only server leading', async () => leader.isLeader && working, 30_000);
    const line = await client.getAll().prefix('election/quantix-leader/').keys();
    assert.equal(line.length, 1, `one campaign in the line, not ${line.length}`);
  });
});
