// Benchmark: how long a NIC's address is in flux when a bridged network is created over it. The
// agent's one `ip -batch` move against the same steps as separate `ip` commands (baseline), on a
// veth whose peer sits in a netns of the bench's own that pings the address every 5 ms throughout.
import { run } from '../exec/run.js';
import { readHostInterfaces } from './host-interfaces.js';
import { createBridgeArgs, moveToBridgeBatch, restoreUplinkBatch, type UplinkState } from './uplink-batch.js';
import { attachUplinkBridge, detachUplinkBridge } from './uplink-bridge.js';

const NS = 'qxt-net-bn';
const NIC = 'qxt-net-bh';
const BRIDGE = 'qxt-net-bb';
const ROUNDS = 5;
const ip = (...args: string[]) => run('ip', args);

async function cleanUp(): Promise<void> {
  await ip('link', 'del', 'dev', BRIDGE).catch(() => undefined);
  await ip('link', 'del', 'dev', NIC).catch(() => undefined);
  await ip('netns', 'del', NS).catch(() => undefined);
}

/** Runs `move` while the netns pings the NIC's address; returns the move's duration and lost replies. */
async function measure(move: () => Promise<void>): Promise<{ ms: number; lost: number }> {
  const ping = run('ip', ['netns', 'exec', NS, 'ping', '-q', '-i', '0.005', '-w', '2', '10.213.90.1'], {
    timeoutMs: 10_000,
  }).then(
    (r) => r.stdout,
    (e: { stderr?: string; message: string }) => e.message,
  );
  await new Promise((r) => setTimeout(r, 300));
  const t0 = performance.now();
  await move();
  const ms = performance.now() - t0;
  const m = /(\d+) packets transmitted, (\d+) received/.exec(await ping);
  return { ms, lost: m ? Number(m[1]) - Number(m[2]) : -1 };
}

async function naiveMove(): Promise<void> {
  const nic = (await readHostInterfaces()).find((i) => i.name === NIC)!;
  const state: UplinkState = {
    uplink: NIC,
    bridge: BRIDGE,
    addresses: nic.globalAddresses,
    routes: [],
    uplinkUp: nic.up,
  };
  await ip(...createBridgeArgs(BRIDGE, nic.mac));
  for (const line of moveToBridgeBatch(state)) await run('ip', line.split(' '));
}

async function naiveRestore(): Promise<void> {
  const state: UplinkState = {
    uplink: NIC,
    bridge: BRIDGE,
    addresses: ['10.213.90.1/24'],
    routes: [],
    uplinkUp: true,
  };
  await run('ip', ['-force', '-batch', '-'], { input: `${restoreUplinkBatch(state).join('\n')}\n` }).catch(
    () => undefined,
  );
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

await cleanUp();
try {
  await ip('netns', 'add', NS);
  await ip('link', 'add', NIC, 'type', 'veth', 'peer', 'name', 'qxt-net-bp');
  await ip('link', 'set', 'qxt-net-bp', 'netns', NS);
  await ip('addr', 'add', '10.213.90.1/24', 'dev', NIC);
  await ip('link', 'set', NIC, 'up');
  await ip('-n', NS, 'addr', 'add', '10.213.90.2/24', 'dev', 'qxt-net-bp');
  await ip('-n', NS, 'link', 'set', 'qxt-net-bp', 'up');
  await run('ip', ['netns', 'exec', NS, 'ping', '-c', '1', '-W', '2', '10.213.90.1']);

  const batch: { ms: number; lost: number }[] = [];
  const naive: { ms: number; lost: number }[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const nic = (await readHostInterfaces()).find((n) => n.name === NIC)!;
    batch.push(
      await measure(() =>
        attachUplinkBridge({ bridge: BRIDGE, uplink: NIC, vlanId: 0 }, { nic, networkdDir: undefined }),
      ),
    );
    await detachUplinkBridge({ bridge: BRIDGE, uplink: NIC, vlanId: 0 }, undefined);
    naive.push(await measure(naiveMove));
    await naiveRestore();
  }
  const b = median(batch.map((x) => x.ms));
  const n = median(naive.map((x) => x.ms));
  console.log(
    `uplink move, one ip -batch (agent):      median ${b.toFixed(1)} ms, lost ping replies per move ${batch.map((x) => x.lost).join(',')}`,
  );
  console.log(
    `uplink move, separate ip calls (baseline): median ${n.toFixed(1)} ms, lost ping replies per move ${naive.map((x) => x.lost).join(',')}`,
  );
  console.log(
    `ratio baseline/agent (higher is better): ${(n / b).toFixed(2)}x  (${ROUNDS} rounds each, 5 ms ping interval)`,
  );
} finally {
  await cleanUp();
}
