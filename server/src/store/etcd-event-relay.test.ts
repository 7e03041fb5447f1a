// The live-event relay between the servers of a control plane, on a real etcd member: a server's
// events reach another server's SSE subscribers, and keep doing so after that server was cut off
// long enough for etcd to compact what it missed (its watch is cancelled and replaced).
import { after, before, it } from 'node:test';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcdCluster, type EtcdCluster } from '../test-support/etcd-cluster.js';
import { eventually } from '../test-support/guest-pool.js';
import { tcpProxy, type TcpProxy } from '../test-support/tcp-proxy.js';
import { EventHub } from '../services/event-hub.js';
import { createEtcdClient } from './etcd-client.js';
import { EtcdEventRelay } from './etcd-event-relay.js';
import { SecretBox } from './secret-box.js';

let cluster: EtcdCluster;
let dir: string;
let proxy: TcpProxy;
const closers: (() => Promise<void> | void)[] = [];
before(async () => {
  cluster = await startEtcdCluster(1);
  dir = await mkdtemp(join(tmpdir(), 'qxt-etcd-relay-'));
  proxy = await tcpProxy(Number(new URL(cluster.members[0]!.clientUrl).port));
});
after(async () => {
  for (const close of closers.reverse()) await close();
  proxy.close();
  await cluster.close();
  await rm(dir, { recursive: true, force: true });
});

it("relays a server's events to another, also after etcd compacted what the other missed while cut off", async () => {
  const box = await SecretBox.create(dir);
  const relay = (serverId: string, endpoint: string) => {
    const client = createEtcdClient({ kind: 'etcd', endpoints: [endpoint] });
    const hub = new EventHub();
    const r = new EtcdEventRelay(client, box, hub, serverId);
    closers.push(async () => {
      await r.close();
      client.close();
    });
    return { hub, client };
  };
  const one = relay('s1', cluster.members[0]!.clientUrl);
  // Server s2 reaches etcd through the proxy.
  const two = relay('s2', proxy.url);
  const seen: unknown[] = [];
  two.hub.on('remote', (_name, data) => seen.push(data));
  const publishUntilSeen = async (n: number) =>
    eventually(
      `event ${n} on s2`,
      async () => {
        one.hub.publish('cluster', { n });
        await new Promise((r) => setTimeout(r, 100));
        return seen.some((d) => (d as { n: number }).n === n);
      },
      30_000,
    );
  await publishUntilSeen(1);

  proxy.cut();
  for (const n of [2, 3]) one.hub.publish('cluster', { n });
  // Published and compacted while s2 could not hear them: its watch cannot resume from where it was.
  await eventually(
    'the events put',
    async () => {
      const kv = (await one.client.get('/quantix/events/s1').exec()).kvs[0];
      return kv && JSON.parse(box.open(kv.value.toString(), kv.key.toString())).data.n === 3;
    },
    10_000,
  );
  const { header } = await one.client.get('/quantix/events/s1').exec();
  await one.client.kv.compact({ revision: header.revision, physical: true });
  proxy.restore();
  await publishUntilSeen(4);
});
