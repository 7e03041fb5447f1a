// Two appliances on one control plane, each with its own agent as its local host, set up as the
// appliance does (two real agent processes, two servers on three etcd members): each server reaches
// its own agent over the agent's private Unix socket and records it under its network address
// (QX_LOCAL_AGENT_NETWORK_ADDRESS). The second appliance's host joins while the first leads, and
// when the first appliance's server dies its host stays in the vDC and online under the new leader.
// Each server marks only its own appliance's host `local` (both are `appliance`) and refuses to
// remove that one (another appliance's, which may be gone for good, can be).
// Before: a server joined its agent only once it led, and recorded it as unix:…, which another
// appliance's server dials as its own socket ("a different agent answers").
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
  const agents: { dir: string; child: Child; address: string; env: Record<string, string> }[] = [];
  before(async () => {
    for (let i = 0; i < 2; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'qxt-etcd-local-'));
      const port = await freePort();
      const child = await spawnAgent(dir, port);
      const address = `127.0.0.1:${port}`;
      const env = {
        QX_LOCAL_AGENT_ADDRESS: `unix:${join(dir, 'local', 'agent.sock')}`,
        QX_LOCAL_AGENT_NETWORK_ADDRESS: address,
        QX_LOCAL_AGENT_DATA_DIR: dir,
      };
      agents.push({ dir, child, address, env });
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

  it("joins the second appliance's agent while the first leads, and keeps both hosts after a failover", async () => {
    const a = await plane.startServer('a', agents[0]!.env);
    await eventually('server a leading', async () => (await a.health())?.leader, 30_000);
    const hostsOf = async (api: typeof a.api) => {
      const r = await api.request<HostDto[]>('GET', '/api/v1/hosts');
      return r.status === 200 ? r.json : [];
    };
    const first = await eventually(
      "appliance a's local host online",
      async () => (await hostsOf(a.api)).find((h) => h.local && h.status === 'online'),
      60_000,
    );
    assert.equal(first.address, agents[0]!.address, 'recorded under the address the other servers reach');
    assert.equal(first.appliance, true);

    const b = await plane.startServer('b', agents[1]!.env);
    assert.equal((await b.health())?.leader, false, 'server b does not lead');
    const second = await eventually(
      "appliance b's local host online under a (b joined its agent without leading)",
      async () => (await hostsOf(a.api)).find((h) => h.appliance && h.id !== first.id && h.status === 'online'),
      60_000,
    );
    assert.equal(second.address, agents[1]!.address);
    assert.equal(second.local, false, "to server a, b's host is another appliance, not this one");

    await a.child.kill('SIGKILL');
    const hosts = await eventually(
      'both local hosts online under b',
      async () => {
        const list = await hostsOf(b.api);
        const online = (id: string) => list.some((h) => h.id === id && h.status === 'online');
        return online(first.id) && online(second.id) && list;
      },
      60_000,
    ).catch(async (err: Error) => {
      const seen = (await hostsOf(b.api)).map((h) => `${h.name} ${h.address} ${h.status} ${h.statusMessage}`);
      throw new Error(`${err.message}; hosts under b: ${seen.join('; ')}`);
    });
    assert.equal(hosts.filter((h) => h.appliance).length, 2);
    assert.deepEqual(
      hosts.filter((h) => h.local).map((h) => h.id),
      [second.id],
      'to server b, only its own host is this appliance',
    );
    // A server cannot remove its own appliance's host (it would join it again at its next start).
    const removed = await b.api.request<{ error: { message: string } }>('DELETE', `/api/v1/hosts/${second.id}`);
    assert.equal(removed.status, 409, removed.text);
    assert.match(removed.json.error.message, /this appliance's own agent/);
    assert.ok(
      (await hostsOf(b.api)).some((h) => h.id === second.id),
      'the host stays',
    );
  });
});
