// Two vDC servers on one three-member etcd cluster, end to end: one leads (and connects the
// agent); SSE clients of each server see changes made through the other; kill -9 of the leader
// during a stream of writes → the other leads within 10 s, every acknowledged write is there, the
// agent is connected again, and the audit of what the killed leader did is listed by the new one;
// quorum loss → writes refused with a 503 naming the cause, reads served
// flagged stale; quorum back → writes accepted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, spawnAgent, type Child } from '../../server/src/test-support/spawn.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import type { ClusterDto, HostDto } from '../../server/src/dto/hosts.js';
import type { AuditEntryDto } from '../../server/src/dto/system.js';
import { SseClient } from '../../server/src/test-support/sse-client.js';
import { startControlPlane, type ControlPlane, type ServerInstance } from './control-plane.js';

describe('control plane on etcd: two servers, failover, quorum loss', () => {
  let plane: ControlPlane;
  let agent: Child;
  let agentDir: string;
  let a: ServerInstance;
  let b: ServerInstance;

  before(async () => {
    agentDir = await mkdtemp(join(tmpdir(), 'qxt-etcd-agent-'));
    const agentPort = await freePort();
    agent = await spawnAgent(agentDir, agentPort);
    plane = await startControlPlane();
    const env = { QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${agentPort}`, QX_LOCAL_AGENT_DATA_DIR: agentDir };
    a = await plane.startServer('a', env);
    await eventually('server a leading', async () => (await a.health())?.leader, 30_000);
    b = await plane.startServer('b', env);
  });
  after(async () => {
    await plane?.close();
    await agent?.kill();
    await rm(agentDir, { recursive: true, force: true });
  });

  const onlineHost = (s: ServerInstance) => async () => {
    const r = await s.api.request<HostDto[]>('GET', '/api/v1/hosts');
    return r.status === 200 && r.json.find((h) => h.local && h.status === 'online');
  };

  it('runs the host connections on exactly one server', async () => {
    await eventually('the local agent online on the leader', onlineHost(a), 60_000);
    assert.equal((await b.health())?.leader, false);
    assert.equal((await b.health())?.store, 'etcd');
  });

  it('shows SSE clients of each server the changes made through the other', async () => {
    const onB = await SseClient.open(b.api.base, b.api.caPem, b.api.cookie!);
    const onA = await SseClient.open(a.api.base, a.api.caPem, a.api.cookie!);
    try {
      const viaA = await a.api.request<ClusterDto>('POST', '/api/v1/clusters', { body: { name: 'sse-a' } });
      assert.equal(viaA.status, 201, viaA.text);
      const viaB = await b.api.request<ClusterDto>('POST', '/api/v1/clusters', { body: { name: 'sse-b' } });
      assert.equal(viaB.status, 201, viaB.text);
      const seen = (c: SseClient, name: string) => async () =>
        c.events.some((e) => e.event === 'cluster' && (e.data as ClusterDto).name === name);
      await eventually('the cluster made through a, on b', seen(onB, 'sse-a'), 20_000);
      await eventually('the cluster made through b, on a', seen(onA, 'sse-b'), 20_000);
      // Each once: a server's own events are not relayed back to it.
      assert.equal(
        onA.events.filter((e) => e.event === 'cluster' && (e.data as ClusterDto).name === 'sse-a').length,
        1,
      );
    } finally {
      onA.close();
      onB.close();
    }
  });

  it('fails over within 10 s when the leader is killed during writes, losing no acknowledged write', async () => {
    const acknowledged: string[] = [];
    let writing = true;
    let n = 0;
    const writer = (async () => {
      while (writing) {
        const target = n % 2 ? b : a;
        const name = `w-${n++}`;
        const r = await target.api.request('POST', '/api/v1/clusters', { body: { name } }).catch(() => undefined);
        if (r?.status === 201) acknowledged.push(name);
      }
    })();
    await eventually('writes acknowledged by both servers', async () => acknowledged.length >= 10, 30_000);
    const killedAt = Date.now();
    await a.child.kill('SIGKILL');
    await eventually('server b leading', async () => (await b.health())?.leader, 30_000);
    const failoverMs = Date.now() - killedAt;
    const before = acknowledged.length;
    await eventually('writes acknowledged after the failover', async () => acknowledged.length >= before + 5, 30_000);
    writing = false;
    await writer;
    assert.ok(failoverMs < 10_000, `server b took ${failoverMs} ms to lead (at most 10 s)`);
    const list = await b.api.request<ClusterDto[]>('GET', '/api/v1/clusters');
    const stored = new Set(list.json.map((c) => c.name));
    const lost = acknowledged.filter((name) => !stored.has(name));
    assert.deepEqual(lost, [], 'every acknowledged write is stored');
    await eventually('the local agent online on the new leader', onlineHost(b), 60_000);
    // The audit of the writes the killed leader handled is still there through the new one.
    const audit = await b.api.request<AuditEntryDto[]>('GET', '/api/v1/audit?limit=500');
    assert.equal(audit.status, 200, audit.text);
    assert.ok(
      audit.json.some((e) => e.action === 'createCluster' && e.at < new Date(killedAt).toISOString()),
      'cluster creations audited by the killed leader are listed by the new one',
    );
  });

  it('refuses writes with a 503 naming the lost quorum, serves reads flagged stale, and recovers', async () => {
    await plane.etcd.members[0]!.kill();
    await plane.etcd.members[1]!.kill();
    await eventually('server b noticing the lost quorum', async () => (await b.health())?.stale, 30_000);
    const refused = await b.api.request<{ error: { message: string } }>('POST', '/api/v1/clusters', {
      body: { name: 'during-outage' },
    });
    assert.equal(refused.status, 503);
    assert.match(refused.json.error.message, /configuration cannot be changed now: the etcd cluster has no quorum/);
    const read = await b.api.request<ClusterDto[]>('GET', '/api/v1/clusters');
    assert.equal(read.status, 200);
    assert.match(String(read.headers['x-quantix-stale']), /no quorum/);
    assert.ok(read.json.some((c) => c.name === 'w-0'));
    await plane.etcd.members[0]!.start();
    await plane.etcd.members[1]!.start();
    await eventually(
      'writes accepted again',
      async () => (await b.api.request('POST', '/api/v1/clusters', { body: { name: 'after-outage' } })).status === 201,
      60_000,
    );
    const list = await b.api.request<ClusterDto[]>('GET', '/api/v1/clusters');
    assert.ok(!list.json.some((c) => c.name === 'during-outage'), 'the refused write was not applied');
  });
});
