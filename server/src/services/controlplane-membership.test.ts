// Membership changes on a real three-member etcd cluster: a promotion whose answer was lost (the
// member is a voter already, and etcd refuses to promote it again) counts as done, not as a failed
// join that would take the member out again.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startEtcdCluster, type EtcdCluster } from '../test-support/etcd-cluster.js';
import { createEtcdClient } from '../store/etcd-client.js';
import { promote } from './controlplane-membership.js';

describe('control-plane membership (3 real etcd members)', () => {
  let cluster: EtcdCluster;
  before(async () => {
    cluster = await startEtcdCluster(3);
  });
  after(async () => {
    await cluster.close();
  });
  const client = () => createEtcdClient({ kind: 'etcd', endpoints: cluster.endpoints.split(',') }, { breaker: false });

  it('promoting a member that is a voter already (an earlier answer lost) succeeds', async () => {
    const c = client();
    const { members } = await c.cluster.memberList({});
    c.close();
    const voter = members.find((m) => m.name === 'm1' && !m.isLearner);
    assert.ok(voter, 'm1 is a voter');
    await promote(client(), BigInt(voter.ID).toString(16));
    const after = client();
    const again = (await after.cluster.memberList({})).members;
    after.close();
    assert.equal(again.length, 3);
    assert.ok(again.every((m) => !m.isLearner));
  });
});
