// An appliance of a three-appliance control plane moves to another address (DHCP after a reboot,
// or the operator): appliance-sim.ts's real servers and etcd members on loopback, C's member on
// 127.0.0.2 (QX_CONTROLPLANE_ADDRESS, the address the member is to use), then C's server restarted
// on 127.0.0.3. Its server repairs the member at start (controlplane-address.ts): the cluster has
// the new peer URL, its certificate the new SAN, and writes go through every server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { UserDto } from '../../server/src/dto/auth.js';
import type { HealthDto } from '../../server/src/dto/common.js';
import type {
  ControlPlaneDto,
  ControlPlaneJoinTokenDto,
  ControlPlaneSwitchDto,
} from '../../server/src/dto/controlplane.js';
import type { ApiClient } from '../../server/src/test-support/api-client.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { startAppliance, type Appliance } from './appliance-sim.js';

const usernames = async (api: ApiClient) =>
  (await api.request<UserDto[]>('GET', '/api/v1/users')).json.map((u) => u.username);

async function addUser(api: ApiClient, username: string): Promise<void> {
  const r = await api.request('POST', '/api/v1/users', {
    body: { username, password: 'qxt-user-password-1', role: 'viewer' },
  });
  assert.equal(r.status, 201, r.text);
}

const controlPlane = async (api: ApiClient) => (await api.request<ControlPlaneDto>('GET', '/api/v1/controlplane')).json;

async function joinVia(x: Appliance, via: Appliance, memberAddress: string): Promise<void> {
  const token = await via.api().request<ControlPlaneJoinTokenDto>('POST', '/api/v1/controlplane/join-tokens');
  assert.equal(token.status, 201, token.text);
  const r = await x.api().request<ControlPlaneSwitchDto>('POST', '/api/v1/controlplane/join', {
    body: {
      address: via.address,
      fingerprint: token.json.serverFingerprint,
      token: token.json.token,
      memberName: x.name,
      memberAddress,
    },
  });
  assert.equal(r.status, 200, r.text);
  await x.restarted();
}

describe('control plane: an appliance whose address changed', () => {
  let root: string;
  let a: Appliance, b: Appliance, c: Appliance;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'qxt-cp-address-'));
    [a, b, c] = await Promise.all([
      startAppliance(root, 'a'),
      startAppliance(root, 'b'),
      startAppliance(root, 'c', { QX_CONTROLPLANE_ADDRESS: '127.0.0.2' }),
    ]);
    const formed = await a.api().request('POST', '/api/v1/controlplane/form', {
      body: { memberName: 'a', memberAddress: '127.0.0.1' },
    });
    assert.equal(formed.status, 200, formed.text);
    await a.restarted();
    await joinVia(b, a, '127.0.0.1');
    await joinVia(c, a, '127.0.0.2');
  });
  after(async () => {
    await Promise.all([a, b, c].map((x) => x?.close()));
    await rm(root, { recursive: true, force: true });
  });

  it('C on 127.0.0.2 is a voting member there', async () => {
    const cp = await controlPlane(a.api());
    const member = cp.members.find((m) => m.name === 'c');
    assert.deepEqual(member?.peerUrls, [`https://127.0.0.2:${c.peerPort}`]);
    assert.equal(member?.learner, false);
  });

  it('moved to 127.0.0.3, C repairs its member at start: new peer URL, certificate and member.env', async () => {
    const started = Date.now();
    await c.restartWith({ QX_CONTROLPLANE_ADDRESS: '127.0.0.3' });
    const peerUrl = `https://127.0.0.3:${c.peerPort}`;
    const cp = await eventually(
      'the cluster to list C at its new peer URL, three voting members',
      async () => {
        const s = await controlPlane(a.api()).catch(() => undefined);
        const moved = s?.members.find((m) => m.name === 'c');
        return s?.members.length === 3 && s.members.every((m) => !m.learner) && moved?.peerUrls[0] === peerUrl && s;
      },
      30_000,
    );
    assert.deepEqual(cp.members.find((m) => m.name === 'c')?.peerUrls, [peerUrl]);
    assert.match(cp.members.find((m) => m.name === 'c')!.clientUrls.join(), /https:\/\/127\.0\.0\.3:/);
    const memberDir = join(c.dataDir, '..', 'etcd');
    const cert = new X509Certificate(await readFile(join(memberDir, 'member.pem')));
    assert.equal(cert.checkIP('127.0.0.3'), '127.0.0.3', 'the member certificate names the new address');
    assert.equal(cert.checkIP('127.0.0.2'), undefined, 'and no longer the old one');
    assert.match(
      await readFile(join(memberDir, 'member.env'), 'utf8'),
      /^ETCD_LISTEN_PEER_URLS=https:\/\/127\.0\.0\.3:/m,
    );
    assert.match(c.output(), /control plane: member moved to its current address/);
    console.log(`  repaired in ${Date.now() - started} ms`);
  });

  it('every server writes and sees the others’ writes, C through its moved member', async () => {
    for (const x of [a, b, c]) {
      const health = (await x.api().request<HealthDto>('GET', '/api/v1/health')).json;
      assert.equal(health.store, 'etcd', x.name);
    }
    await eventually('a write through C', async () => {
      const r = await c.api().request('POST', '/api/v1/users', {
        body: { username: 'through-c', password: 'qxt-user-password-1', role: 'viewer' },
      });
      return r.status === 201;
    });
    await addUser(b.api(), 'through-b');
    await eventually('B’s write seen through C', async () => (await usernames(c.api())).includes('through-b'));
    await eventually('C’s write seen through A', async () => (await usernames(a.api())).includes('through-c'));
    const cp = await controlPlane(c.api());
    assert.equal(cp.memberProblem, undefined);
  });

  it('C reboots on 127.0.0.4 with its member down: the server moves it through the other members', async () => {
    const memberDir = join(c.dataDir, '..', 'etcd');
    // On an appliance the member cannot bind an address the machine no longer has: here it is killed.
    process.kill(Number(await readFile(join(memberDir, 'member.pid'), 'utf8')), 'SIGKILL');
    await c.restartWith({ QX_CONTROLPLANE_ADDRESS: '127.0.0.4' });
    const peerUrl = `https://127.0.0.4:${c.peerPort}`;
    await eventually('the cluster to list C at 127.0.0.4', async () => {
      const s = await controlPlane(b.api()).catch(() => undefined);
      return s?.members.find((m) => m.name === 'c')?.peerUrls[0] === peerUrl;
    });
    await addUser(c.api(), 'after-reboot');
    await eventually('C’s write seen through B', async () => (await usernames(b.api())).includes('after-reboot'));
  });

  it('a restart on the same address changes nothing', async () => {
    const memberDir = join(c.dataDir, '..', 'etcd');
    const certBefore = await readFile(join(memberDir, 'member.pem'), 'utf8');
    await c.restartWith({});
    assert.equal(await readFile(join(memberDir, 'member.pem'), 'utf8'), certBefore);
    await addUser(c.api(), 'after-restart');
  });

  it('without a quorum C cannot move: the server says why, on the console status screen too', async () => {
    await Promise.all([a.kill(), b.kill()]);
    // Its store does not open either (as with any start without a quorum): the server exits and is retried.
    await assert.rejects(c.restartWith({ QX_CONTROLPLANE_ADDRESS: '127.0.0.5' }), /control plane: member not repaired/);
    const problem = await readFile(join(c.dataDir, '..', 'etcd', 'problem'), 'utf8');
    assert.match(problem, /could not be moved to its current address or renewed: etcd https:\/\/127\.0\.0\.1:\d+: /);
  });
});
