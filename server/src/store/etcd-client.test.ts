// The store's etcd client against a real etcd member: a server on its own appliance's member (one
// endpoint) takes calls again as soon as the member answers after a stall. With etcd3's default
// circuit breaker, three failed calls refused every call for 5 s more, though there was no other
// member to turn to: on three busy appliances that refused sign-ins and the leader's lease renewals.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcdCluster, type EtcdCluster } from '../test-support/etcd-cluster.js';
import { createEtcdClient } from './etcd-client.js';

describe('etcd client (a real etcd member)', () => {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await startEtcdCluster(1);
  });
  after(async () => {
    cluster.members[0]!.resume();
    await cluster.close();
  });

  it('on one endpoint, answers as soon as the member does again after a stall', async () => {
    const member = cluster.members[0]!;
    const client = createEtcdClient({ kind: 'etcd', endpoints: [member.clientUrl] });
    try {
      await client.put('/qxt/k').value('kept');
      member.pause();
      const stalled = await Promise.allSettled([1, 2, 3].map(() => client.get('/qxt/k').string()));
      for (const r of stalled) {
        assert.equal(r.status, 'rejected');
        assert.match(String((r as PromiseRejectedResult).reason), /deadline/i);
      }
      member.resume();
      assert.equal(await client.get('/qxt/k').string(), 'kept');
    } finally {
      client.close();
    }
  });
});
