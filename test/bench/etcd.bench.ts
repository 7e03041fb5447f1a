// Control plane on etcd (#23), three etcd members on loopback and vDC servers with QX_STORE=etcd:
// failover time (leader killed with kill -9 → another server leads and a write succeeds), median
// of 5, against the 10 s target; and the p95 of an acknowledged write (POST /api/v1/clusters) on
// etcd ÷ the same write on the embedded lowdb store, both measured in this run.
import { startServerProcess } from '../../server/src/test-support/server-process.js';
import type { ApiClient } from '../../server/src/test-support/api-client.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { startControlPlane, type ServerInstance } from '../etcd/control-plane.js';

const ROUNDS = 5;
const WRITES = 200;
const TARGET_MS = 10_000;

async function writeP95(api: ApiClient, tag: string): Promise<number> {
  const ms: number[] = [];
  for (let i = 0; i < WRITES; i++) {
    const t = performance.now();
    const r = await api.request('POST', '/api/v1/clusters', { body: { name: `${tag}-${i}` } });
    ms.push(performance.now() - t);
    if (r.status !== 201) throw new Error(`write ${tag}-${i}: ${r.status} ${r.text}`);
  }
  ms.sort((a, b) => a - b);
  return ms[Math.ceil(ms.length * 0.95) - 1]!;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

const embedded = await startServerProcess('qxt-etcd-bench-password', { source: true });
let embeddedP95: number;
try {
  await writeP95(embedded.admin, 'warm');
  embeddedP95 = await writeP95(embedded.admin, 'emb');
} finally {
  await embedded.stop();
}

const plane = await startControlPlane();
try {
  let leader: ServerInstance = await plane.startServer('s0');
  await eventually('s0 leading', async () => (await leader.health())?.leader, 30_000);
  let follower = await plane.startServer('s1');
  await writeP95(follower.api, 'warm');
  const etcdP95 = await writeP95(follower.api, 'etcd');

  const failovers: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const killedAt = performance.now();
    await leader.child.kill('SIGKILL');
    const survivor = follower;
    let n = 0;
    await eventually(
      `failover ${round + 1}`,
      async () => {
        if (!(await survivor.health())?.leader) return false;
        const r = await survivor.api.request('POST', '/api/v1/clusters', { body: { name: `fo-${round}-${n++}` } });
        return r.status === 201;
      },
      60_000,
    );
    failovers.push(performance.now() - killedAt);
    leader = survivor;
    follower = await plane.startServer(`s${round + 2}`);
  }
  const fo = median(failovers);
  console.log(
    `  failover (leader kill -9 → another leads, write ok), median of ${ROUNDS}: ${(fo / 1000).toFixed(2)} s`,
  );
  console.log(
    `    rounds: ${failovers.map((x) => (x / 1000).toFixed(2)).join(' ')} s; ÷ 10 s target: ${(fo / TARGET_MS).toFixed(2)}x`,
  );
  console.log(
    `  write p95 (POST /api/v1/clusters, ${WRITES} sequential): etcd ${etcdP95.toFixed(1)} ms, embedded ${embeddedP95.toFixed(1)} ms`,
  );
  console.log(`    etcd ÷ embedded: ${(etcdP95 / embeddedP95).toFixed(2)}x`);
} finally {
  await plane.close();
}
