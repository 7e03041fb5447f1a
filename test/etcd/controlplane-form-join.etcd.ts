// Three appliances form a control plane through the real API (appliance-sim.ts: real server
// processes, each with its own data dir, and real etcd members with vDC-CA TLS on loopback
// ports, started by the appliance's own quantix-etcd-member script): A forms it (its lowdb state
// moves into etcd, nothing lost), B and C join with one-time tokens over pinned HTTPS (kept in etcd:
// C joins through B with a token A issued, a token taken through one is refused by another); then A
// dies (kill -9 of its server and member) and B and C keep serving, with a write acknowledged
// before the kill still there and new writes accepted; A's member is removed through B.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { spawn as spawnPty } from 'node-pty';
import type { UserDto } from '../../server/src/dto/auth.js';
import type { ErrorDto, HealthDto } from '../../server/src/dto/common.js';
import type { ClusterDto, HostDto } from '../../server/src/dto/hosts.js';
import type {
  ControlPlaneDto,
  ControlPlaneJoinTokenDto,
  ControlPlaneMemberGrantDto,
  ControlPlaneSwitchDto,
} from '../../server/src/dto/controlplane.js';
import type { ApiClient } from '../../server/src/test-support/api-client.js';
import { freePort, REPO, spawnAgent, type Child } from '../../server/src/test-support/spawn.js';
import { eventually } from '../../server/src/test-support/guest-pool.js';
import { startAppliance, type Appliance } from './appliance-sim.js';

const usernames = async (api: ApiClient) =>
  (await api.request<UserDto[]>('GET', '/api/v1/users')).json.map((u) => u.username).sort();

async function addUser(api: ApiClient, username: string): Promise<void> {
  const r = await api.request('POST', '/api/v1/users', {
    body: { username, password: 'qxt-user-password-1', role: 'viewer' },
  });
  assert.equal(r.status, 201, r.text);
}

/** Holds 127.0.0.1:port so that an etcd member there cannot start; the other members' dials are cut. */
async function squat(port: number): Promise<{ close: () => Promise<void> }> {
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return { close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** The body of a join through `via` (host:port) as member `name` on loopback. */
const joinBody = (via: string, fingerprint: string, token: string, name: string) => ({
  address: via,
  fingerprint,
  token,
  memberName: name,
  memberAddress: '127.0.0.1',
});

async function joinToken(api: ApiClient): Promise<ControlPlaneJoinTokenDto> {
  const r = await api.request<ControlPlaneJoinTokenDto>('POST', '/api/v1/controlplane/join-tokens');
  assert.equal(r.status, 201, r.text);
  return r.json;
}

describe('control plane of three appliances: form, join, lose one', () => {
  let root: string;
  let a: Appliance, b: Appliance, c: Appliance;
  /** B's own agent (a real agent process), reached over its socket as on the appliance. */
  let agentB: { child: Child; address: string } | undefined;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'qxt-cp-form-'));
    const agentDir = join(root, 'agent-b');
    await mkdir(agentDir);
    const port = await freePort();
    agentB = { child: await spawnAgent(agentDir, port), address: `127.0.0.1:${port}` };
    const bEnv = {
      QX_LOCAL_AGENT_ADDRESS: `unix:${join(agentDir, 'local', 'agent.sock')}`,
      QX_LOCAL_AGENT_NETWORK_ADDRESS: agentB.address,
      QX_LOCAL_AGENT_DATA_DIR: agentDir,
    };
    [a, b, c] = await Promise.all(['a', 'b', 'c'].map((n) => startAppliance(root, n, n === 'b' ? bEnv : {})));
  });
  after(async () => {
    await Promise.all([a, b, c].map((x) => x?.close()));
    await agentB?.child.kill();
    await rm(root, { recursive: true, force: true });
  });

  it('a form on a member address this appliance lacks is refused naming memberAddress, before anything starts', async () => {
    const api = a.api();
    // 192.0.2.0/24 is documentation space (no machine has it); etcd binds no name either.
    for (const memberAddress of ['192.0.2.1', 'etcd.example']) {
      const refused = await api.request<ErrorDto>('POST', '/api/v1/controlplane/form', {
        body: { memberName: 'a', memberAddress },
      });
      assert.equal(refused.status, 400, refused.text);
      assert.equal(refused.json.error.field, 'memberAddress');
      const named = memberAddress.replaceAll('.', '\\.');
      assert.match(refused.json.error.message, new RegExp(`^memberAddress: "?${named}"? is not an`));
    }
    const root = join(a.dataDir, '..');
    assert.deepEqual(
      ['etcd', 'etcd-client'].filter((d) => existsSync(join(root, d))),
      [],
    );
    assert.equal((await api.request<HealthDto>('GET', '/api/v1/health')).json.store, 'embedded');
  });

  it('a form whose member cannot start is refused and leaves nothing behind: no member, no files, writes go on', async () => {
    // Something else holds the member's peer port: etcd exits at once, and never answers.
    const squatter = await squat(a.peerPort);
    try {
      const api = a.api();
      const failed = await api.request<ErrorDto>('POST', '/api/v1/controlplane/form', {
        body: { memberName: 'a', memberAddress: '127.0.0.1' },
      });
      assert.equal(failed.status, 502, failed.text);
      assert.match(
        failed.json.error.message,
        /the control plane could not be set up: the etcd member .* did not answer/,
      );
      const root = join(a.dataDir, '..');
      assert.deepEqual(
        ['etcd', 'etcd-client'].filter((d) => existsSync(join(root, d))),
        [],
        'the member directory and the client files are gone',
      );
      assert.equal((await api.request<HealthDto>('GET', '/api/v1/health')).json.store, 'embedded');
      await addUser(api, 'after-failed-form');
    } finally {
      await squatter.close();
    }
  });

  it('A forms it: its configuration moves into etcd with nothing lost, the server restarts on its member', async () => {
    const api = a.api();
    await addUser(api, 'before-form');
    const cluster = await api.request<ClusterDto>('POST', '/api/v1/clusters', { body: { name: 'rack-1' } });
    assert.equal(cluster.status, 201, cluster.text);
    const usersBefore = await usernames(api);
    const tokenless = await api.request<ErrorDto>('POST', '/api/v1/controlplane/join-tokens');
    assert.equal(tokenless.status, 409, 'no join tokens before the control plane exists');

    const formed = await api.request<ControlPlaneSwitchDto>('POST', '/api/v1/controlplane/form', {
      body: { memberName: 'a', memberAddress: '127.0.0.1' },
    });
    assert.equal(formed.status, 200, formed.text);
    await a.restarted();
    const health = (await a.api().request<HealthDto>('GET', '/api/v1/health')).json;
    assert.equal(health.store, 'etcd');
    assert.equal(health.leader, true);
    assert.deepEqual(await usernames(a.api()), usersBefore);
    const clusters = (await a.api().request<ClusterDto[]>('GET', '/api/v1/clusters')).json;
    assert.deepEqual(
      clusters.map((x) => [x.id, x.name]),
      [[cluster.json.id, 'rack-1']],
    );
    const cp = (await a.api().request<ControlPlaneDto>('GET', '/api/v1/controlplane')).json;
    assert.equal(cp.store, 'etcd');
    assert.equal(cp.memberName, 'a');
    assert.deepEqual(
      cp.members.map((m) => [m.name, m.learner, m.leader]),
      [['a', false, true]],
    );
    assert.match(cp.members[0]!.clientUrls[0]!, /^https:\/\/127\.0\.0\.1:\d+$/);
    const again = await a.api().request<ErrorDto>('POST', '/api/v1/controlplane/form', { body: {} });
    assert.equal(again.status, 409, again.text);
  });

  it('the member speaks TLS with vDC-CA certificates only: a client without a certificate is refused', async () => {
    const cp = (await a.api().request<ControlPlaneDto>('GET', '/api/v1/controlplane')).json;
    const ca = await readFile(join(a.dataDir, '..', 'etcd-client', 'ca.pem'));
    const anonymous = new Etcd3({
      hosts: cp.members[0]!.clientUrls[0]!,
      credentials: { rootCertificate: ca },
      dialTimeout: 2000,
      defaultCallOptions: () => ({ deadline: Date.now() + 3000 }),
    });
    try {
      await assert.rejects(anonymous.maintenance.status());
    } finally {
      anonymous.close();
    }
  });

  it('a join that failed after its member was added (never started) is replaced by the next one', async () => {
    const first = await joinToken(a.api());
    const grant = await a.api().request<ControlPlaneMemberGrantDto>('POST', '/api/v1/controlplane/members', {
      body: { token: first.token, memberName: 'b', memberAddress: '127.0.0.1', peerPort: b.peerPort },
    });
    assert.equal(grant.status, 201, grant.text);
    const vdcCa = await readFile(join(a.dataDir, '..', 'etcd-client', 'ca.pem'), 'utf8');
    assert.equal(grant.json.caPem, vdcCa);
    const member = new X509Certificate(grant.json.memberCertPem);
    assert.ok(member.verify(new X509Certificate(vdcCa).publicKey), 'issued by the vDC CA');
    assert.match(member.subjectAltName ?? '', /IP Address:127\.0\.0\.1/);
    const cp = (await a.api().request<ControlPlaneDto>('GET', '/api/v1/controlplane')).json;
    assert.deepEqual(
      cp.members.map((m) => [m.name, m.learner]).sort(),
      [
        ['', true],
        ['a', false],
      ],
      'added as a learner: the cluster keeps its quorum while it is away',
    );
    const write = await a.api().request('POST', '/api/v1/users', {
      body: { username: 'while-learner', password: 'qxt-user-password-1', role: 'viewer' },
    });
    assert.equal(write.status, 201, 'writes go on with a learner that never started');
  });

  it("a join whose member cannot start leaves nothing behind: not in A's cluster, no member or sealing key on B", async () => {
    const token = await joinToken(a.api());
    const squatter = await squat(b.peerPort);
    try {
      const failed = await b.api().request<ErrorDto>('POST', '/api/v1/controlplane/join', {
        body: joinBody(a.address, token.serverFingerprint, token.token, 'b'),
      });
      assert.equal(failed.status, 502, failed.text);
      assert.match(failed.json.error.message, /did not answer/);
    } finally {
      await squatter.close();
    }
    const cp = (await a.api().request<ControlPlaneDto>('GET', '/api/v1/controlplane')).json;
    assert.deepEqual(
      cp.members.map((m) => m.name),
      ['a'],
      "the learner it was added as is out of A's cluster again",
    );
    const root = join(b.dataDir, '..');
    assert.deepEqual(
      [join(root, 'etcd'), join(root, 'etcd-client'), join(b.dataDir, 'etcd-secret.key')].filter((f) => existsSync(f)),
      [],
      "B keeps neither the member nor the control plane's sealing key",
    );
    assert.equal((await b.api().request<HealthDto>('GET', '/api/v1/health')).json.store, 'embedded');
  });

  it('B joins with a one-time token over HTTPS pinned by fingerprint; a wrong fingerprint or a used token is refused', async () => {
    const token = await joinToken(a.api());
    const wrong = await b.api().request<ErrorDto>('POST', '/api/v1/controlplane/join', {
      body: joinBody(a.address, 'AA:'.repeat(31) + 'AA', token.token, 'b'),
    });
    assert.equal(wrong.status, 400, wrong.text);
    assert.equal(wrong.json.error.field, 'fingerprint');
    // B's own agent is a host of B's vDC before it joins.
    await eventually(
      "B's local host online in B's own vDC",
      async () =>
        (await b.api().request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.local && h.status === 'online'),
      60_000,
    );
    const joined = await b.api().request<ControlPlaneSwitchDto>('POST', '/api/v1/controlplane/join', {
      body: joinBody(a.address, token.serverFingerprint, token.token, 'b'),
    });
    assert.equal(joined.status, 200, joined.text);
    await b.restarted();
    assert.equal((await b.api().request<HealthDto>('GET', '/api/v1/health')).json.store, 'etcd');
    assert.ok((await usernames(b.api())).includes('before-form'), "B serves the control plane's configuration");
    // B's agent left B's old vDC and is now a host of the control plane's vDC, recorded under the
    // address A (leading) reaches it on.
    const hostB = await eventually(
      "B's agent a host of the control plane's vDC, online under A",
      async () =>
        (await a.api().request<HostDto[]>('GET', '/api/v1/hosts')).json.find(
          (h) => h.address === agentB!.address && h.status === 'online',
        ),
      60_000,
    );
    assert.equal(hostB.local, true);
    // Taken is taken on every server of the control plane: through B now, which A issued it from.
    const bFingerprint = (await b.api().request<ControlPlaneDto>('GET', '/api/v1/controlplane')).json.serverFingerprint;
    const reused = await c.api().request<ErrorDto>('POST', '/api/v1/controlplane/join', {
      body: joinBody(b.address, bFingerprint, token.token, 'c'),
    });
    assert.equal(reused.status, 403, reused.text);
  });

  it('C joins through B unattended, from quantix.controlplane= (QX_CONTROLPLANE) at its start, with a token A issued', async () => {
    // Tokens live in etcd: one issued by any server is good through any other.
    const token = await joinToken(a.api());
    const bFingerprint = (await b.api().request<ControlPlaneDto>('GET', '/api/v1/controlplane')).json.serverFingerprint;
    await c.restartWith({
      QX_CONTROLPLANE: `join,server=${b.address},fingerprint=${bFingerprint},token=${token.token},name=c,address=127.0.0.1`,
    });
    await eventually(
      'C on the control plane',
      async () =>
        (
          await c
            .api()
            .request<HealthDto>('GET', '/api/v1/health')
            .catch(() => undefined)
        )?.json.store === 'etcd',
      60_000,
    );
    const cp = await eventually(
      'three voting members',
      async () => {
        const r = (await c.api().request<ControlPlaneDto>('GET', '/api/v1/controlplane')).json;
        return r.members.length === 3 && r.members.every((m) => !m.learner && m.name) ? r : undefined;
      },
      30_000,
    );
    assert.deepEqual(cp.members.map((m) => m.name).sort(), ['a', 'b', 'c']);
    assert.equal(cp.memberName, 'c');
  });

  it("C's console status screen shows its member and every member's state", async (t) => {
    const pty = spawnPty('bash', [join(REPO, 'appliance/quantix-status'), '/dev/pts/qxt'], {
      cols: 160,
      rows: 50,
      cwd: REPO,
      env: {
        ...process.env,
        QX_STATUS_AGENT_DIR: join(root, 'no-agent'),
        QX_STATUS_CONTROLPLANE_ROOT: join(c.dataDir, '..'),
      },
    });
    let screen = '';
    pty.onData((d) => (screen += d));
    t.after(() => pty.kill('SIGKILL'));
    await eventually('the control-plane lines on the screen', async () => /QUANTIX-STATUS/.test(screen), 60_000);
    assert.match(screen, /Control plane: etcd member c /);
    for (const name of ['a', 'b', 'c'])
      assert.match(screen, new RegExp(`\\n\\s+${name}\\s+started\\s+https://127\\.0\\.0\\.1:\\d+`));
    assert.match(screen, /is healthy/);
  });

  it('A dies: B and C keep serving, a write acknowledged before is there, new writes are accepted', async () => {
    await addUser(c.api(), 'acked-before-kill');
    await a.kill();
    for (const x of [b, c]) {
      const names = await eventually(
        `${x.name} serving after A died`,
        async () => {
          const r = await x
            .api()
            .request<UserDto[]>('GET', '/api/v1/users')
            .catch(() => undefined);
          return r?.status === 200 ? r.json.map((u) => u.username) : undefined;
        },
        30_000,
      );
      assert.ok(names.includes('acked-before-kill'), `${x.name}: ${names.join(', ')}`);
      assert.ok(names.includes('before-form'));
    }
    await eventually(
      'a write accepted without A',
      async () => {
        const r = await b.api().request('POST', '/api/v1/users', {
          body: { username: 'after-kill', password: 'qxt-user-password-1', role: 'viewer' },
        });
        return r.status === 201 || undefined;
      },
      30_000,
    );
    assert.ok((await usernames(c.api())).includes('after-kill'));
  });

  it('A, gone for good, is removed through B: B and C are the whole control plane; B keeps its own member', async () => {
    const api = b.api();
    const before = (await api.request<ControlPlaneDto>('GET', '/api/v1/controlplane')).json;
    const byName = (n: string) => before.members.find((m) => m.name === n)!;
    const own = await api.request<ErrorDto>('DELETE', `/api/v1/controlplane/members/${byName('b').id}`);
    assert.equal(own.status, 409, own.text);
    assert.match(own.json.error.message, /this appliance's own/);
    const unknown = await api.request<ErrorDto>('DELETE', '/api/v1/controlplane/members/abc123');
    assert.equal(unknown.status, 404, unknown.text);
    const bad = await api.request<ErrorDto>('DELETE', '/api/v1/controlplane/members/not-hex');
    assert.equal(bad.status, 400, bad.text);
    assert.equal(bad.json.error.field, 'id');

    // With A down, removing C would leave B the only running member of two: no quorum.
    const quorum = await api.request<ErrorDto>('DELETE', `/api/v1/controlplane/members/${byName('c').id}`);
    assert.equal(quorum.status, 409, quorum.text);
    assert.match(quorum.json.error.message, /too few running members for a quorum/);

    const removed = await api.request<ControlPlaneDto>('DELETE', `/api/v1/controlplane/members/${byName('a').id}`);
    assert.equal(removed.status, 200, removed.text);
    assert.deepEqual(removed.json.members.map((m) => m.name).sort(), ['b', 'c']);
    const seenByC = (await c.api().request<ControlPlaneDto>('GET', '/api/v1/controlplane')).json;
    assert.deepEqual(seenByC.members.map((m) => m.name).sort(), ['b', 'c']);
    // B, which etcd refused a removal a moment ago, still writes.
    await addUser(api, 'after-removal');
    assert.ok((await usernames(c.api())).includes('after-removal'));
  });
});
