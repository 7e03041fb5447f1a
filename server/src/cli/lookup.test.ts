// `qx` resolving a VM the operator named, through the server's name filter (GET /vms/page), against
// a real server with two simulated hosts (FakeAgent, the scale fake — not real hosts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSelfSigned } from '@quantix/proto/tls/certificates.js';
import { FakeAgent } from '../bench/fake-agent.js';
import type { CreatedTokenDto } from '../dto/users.js';
import type { VmDto } from '../dto/vms.js';
import { startTestServer } from '../test-support/test-server.js';
import { ApiConnection } from './api-connection.js';
import { findVm } from './lookup.js';

test('qx finds a VM by exact name, by id, narrowed by host; refuses an ambiguous name', async (t) => {
  const identity = await createSelfSigned({
    commonName: 'FakeAgent',
    ipAddresses: ['127.0.0.1'],
    days: 1,
    usages: ['server'],
  });
  const agents = [0, 1].map((i) => new FakeAgent(identity, i, 5));
  const s = await startTestServer();
  t.after(async () => {
    await s.stop();
    for (const a of agents) a.stop();
  });
  await Promise.all(agents.map((a) => a.start()));
  for (const a of agents) {
    const address = `127.0.0.1:${a.port}`;
    const probe = await s.admin.request<{ fingerprint: string }>('POST', '/api/v1/hosts/probe', { body: { address } });
    const added = await s.admin.request('POST', '/api/v1/hosts', {
      body: { address, fingerprint: probe.json.fingerprint, joinToken: 'fake', name: `sim-${a.index}` },
    });
    assert.equal(added.status, 201, added.text);
  }
  const solo = agents[0]!.addVm({ name: 'solo' });
  agents[0]!.addVm({ name: 'solo-two' });
  const dups = agents.map((a) => a.addVm({ name: 'twin' }));
  for (let i = 0; ; i++) {
    if ((await s.admin.request<VmDto[]>('GET', '/api/v1/vms')).json.length === 14) break;
    assert.ok(i < 600, 'the simulated VMs never showed up');
    await new Promise((r) => setTimeout(r, 50));
  }
  const token = await s.admin.request<CreatedTokenDto>('POST', '/api/v1/tokens', { body: { name: 'qx-lookup' } });
  assert.equal(token.status, 201, token.text);
  const api = new ApiConnection({ server: s.base, token: token.json.secret, certificatePem: s.admin.caPem });

  assert.equal((await findVm(api, 'solo')).id, solo.spec!.uuid, 'the exact name, not solo-two');
  assert.equal((await findVm(api, solo.spec!.uuid)).name, 'solo');
  await assert.rejects(findVm(api, 'twin'), /^Error: 2 VMs are named "twin" \(on sim-\d, sim-\d\): add --host$/);
  assert.equal((await findVm(api, 'twin', 'sim-1')).id, dups[1]!.spec!.uuid);
  await assert.rejects(findVm(api, 'sol'), /^Error: no VM "sol" \(qx vm list shows them\)$/);
  await assert.rejects(findVm(api, solo.spec!.uuid, 'sim-1'), /^Error: no VM "[0-9a-f-]+" on sim-1/);
});
