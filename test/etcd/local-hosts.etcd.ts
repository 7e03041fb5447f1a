// Two appliances on one control plane, each with its own agent as its local host (two real agent
// processes, two servers on three etcd members): when the other appliance's server takes the lead
// and joins its own agent, the first appliance's host stays in the vDC (it was replaced before:
// the vDC knew one local host only).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostDto } from '../../server/src/dto/hosts.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { freePort, spawnAgent, type Child } from '../../server/src/test-support/spawn.js';
import { startControlPlane, type ControlPlane } from './control-plane.js';

describe('control plane of two appliances: each keeps its local host', () => {
  let plane: ControlPlane;
  const agents: { dir: string; child: Child; env: Record<string, string> }[] = [];
  before(async () => {
    for (let i = 0; i < 2; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'qxt-etcd-local-'));
      const port = await freePort();
      const child = await spawnAgent(dir, port);
      agents.push({ dir, child, env: { QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: dir } });
    }
    plane = await startControlPlane();
  });
  after(async () => {
    await plane?.close();
    for (const a of agents) {
      await a.child.kill();
      await rm(a.dir, { recursive: true, force: true });
    }
  });

  it("the second appliance's server, leading, adds its own agent beside the first one's", async () => {
    const a = await plane.startServer('a', agents[0]!.env);
    await eventually('server a leading', async () => (await a.health())?.leader, 30_000);
    const first = await eventually(
      "appliance a's local host online",
      async () =>
        (await a.api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.local && h.status === 'online'),
      60_000,
    );
    const b = await plane.startServer('b', agents[1]!.env);
    await a.child.kill('SIGKILL');
    const hosts = await eventually(
      "appliance b's local host online under b",
      async () => {
        const r = await b.api.request<HostDto[]>('GET', '/api/v1/hosts');
        return r.status === 200 && r.json.some((h) => h.local && h.id !== first.id && h.status === 'online') && r.json;
      },
      60_000,
    );
    assert.ok(
      hosts.some((h) => h.id === first.id),
      `appliance a's host ${first.id} is still in the vDC: ${hosts.map((h) => h.id).join(', ')}`,
    );
    assert.equal(hosts.filter((h) => h.local).length, 2);
  });
});
