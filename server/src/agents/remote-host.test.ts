// A second host: a real agent in its own network namespace (veth /30 of this test's own), with
// its own user, data dir, identity and libvirt (a qemu:///session daemon), joined as a remote
// host with its one-time token. Wrong token and wrong fingerprint are refused with clear
// messages; a VM placed on it through a cluster (disk uploaded through the vDC) runs and its
// serial console works through the vDC's websocket; a changed agent certificate is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chmod, chown, mkdir, mkdtemp, readFile, rm, unlink } from 'node:fs/promises';
import { createReadStream, existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { HostDto, HostProbeDto } from '../dto/hosts.js';
import type { TaskDto } from '../dto/tasks.js';
import type { VmDto } from '../dto/vms.js';
import type { ApiClient } from '../test-support/api-client.js';
import { listening, spawnNode, type Child } from '../test-support/spawn.js';
import { startTestServer } from '../test-support/test-server.js';
import { eventually, GUEST_QCOW2, srvName } from '../test-support/guest-pool.js';
import { ConsoleSocket } from '../test-support/console-socket.js';

const exec = promisify(execFile);
const NS = 'qxt-srv-hb';
const USER = 'qxt-srv-h2';
const HOST_SIDE = 'qxt-srv-hr';
const NS_SIDE = 'qxt-srv-hn';
const B_IP = '10.213.90.2';
const B_ADDR = `${B_IP}:9443`;
const ip = (...args: string[]) => exec('ip', args);

async function cleanNetwork(): Promise<void> {
  await ip('link', 'del', 'dev', HOST_SIDE).catch(() => undefined);
  await ip('netns', 'del', NS).catch(() => undefined);
}

async function userPids(): Promise<number[]> {
  const out = await exec('ps', ['-o', 'pid=', '-u', USER]).then(
    (r) => r.stdout,
    () => '',
  );
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => n > 0);
}

async function waitTask(api: ApiClient, id: string, timeoutMs = 120_000): Promise<TaskDto> {
  return eventually(
    `task ${id}`,
    async () => {
      const t = (await api.request<TaskDto>('GET', `/api/v1/tasks/${id}`)).json;
      return t.status !== 'running' && t;
    },
    timeoutMs,
  );
}

test(
  'qxt-srv second host in its own netns with its own libvirt: join, placement, console, refusals',
  { timeout: 600_000 },
  async (t) => {
    await cleanNetwork();
    if ((await exec('id', ['-u', USER]).catch(() => undefined)) === undefined) {
      await exec('useradd', ['--create-home', '--shell', '/bin/sh', USER]);
    }
    const uid = Number((await exec('id', ['-u', USER])).stdout.trim());
    const gid = Number((await exec('id', ['-g', USER])).stdout.trim());
    const home = (await exec('getent', ['passwd', USER])).stdout.split(':')[5]!;
    const base = await mkdtemp('/tmp/qxt-srv-hostb-');
    await chmod(base, 0o755);
    const dataDir = join(base, 'agent');
    const xdg = join(base, 'xdg');
    const poolDir = join(base, 'pool');
    for (const d of [dataDir, xdg, poolDir]) {
      await mkdir(d, { mode: 0o700 });
      await chown(d, uid, gid);
    }
    await chmod(poolDir, 0o755);
    let agent: Child | undefined;
    const server = await startTestServer();
    t.after(async () => {
      await server.stop();
      await agent?.kill();
      for (const pid of await userPids()) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
      await cleanNetwork();
      await rm(base, { recursive: true, force: true });
      await exec('userdel', ['--remove', USER]).catch(() => undefined);
    });

    await ip('netns', 'add', NS);
    await ip('link', 'add', HOST_SIDE, 'type', 'veth', 'peer', 'name', NS_SIDE);
    await ip('link', 'set', NS_SIDE, 'netns', NS);
    await ip('addr', 'add', '10.213.90.1/30', 'dev', HOST_SIDE);
    await ip('link', 'set', HOST_SIDE, 'up');
    await ip('-n', NS, 'addr', 'add', `${B_IP}/30`, 'dev', NS_SIDE);
    await ip('-n', NS, 'link', 'set', NS_SIDE, 'up');
    await ip('-n', NS, 'link', 'set', 'lo', 'up');

    const startAgent = () =>
      spawnNode(
        'agent/src/main.ts',
        {
          QX_AGENT_DATA_DIR: dataDir,
          QX_AGENT_LISTEN: B_ADDR,
          QX_LIBVIRT_URI: 'qemu:///session',
          XDG_RUNTIME_DIR: xdg,
          HOME: home,
        },
        // A joined agent has no join token, only the vDC CA.
        async () =>
          (existsSync(join(dataDir, 'join-token')) || existsSync(join(dataDir, 'identity', 'vdc-ca.crt'))) &&
          (await listening(9443, B_IP)),
        { command: ['ip', 'netns', 'exec', NS, 'runuser', '-u', USER, '--'] },
      );
    agent = await startAgent();
    const api = server.admin;
    const token = (await readFile(join(dataDir, 'join-token'), 'utf8')).trim();

    const probe = await api.request<HostProbeDto>('POST', '/api/v1/hosts/probe', { body: { address: B_IP } });
    assert.equal(probe.status, 200, probe.text);
    assert.equal(probe.json.address, B_ADDR);
    const wrongToken = await api.request('POST', '/api/v1/hosts', {
      body: { address: B_ADDR, fingerprint: probe.json.fingerprint, joinToken: 'qx-wrong-token' },
    });
    assert.equal(wrongToken.status, 400);
    assert.deepEqual((wrongToken.json as { error: { field: string } }).error.field, 'joinToken');
    assert.match(wrongToken.text, /join token is wrong or was already used/);
    const otherFingerprint = probe.json.fingerprint.replace(
      /^../,
      probe.json.fingerprint.startsWith('00') ? '11' : '00',
    );
    const wrongCert = await api.request('POST', '/api/v1/hosts', {
      body: { address: B_ADDR, fingerprint: otherFingerprint, joinToken: token },
    });
    assert.equal(wrongCert.status, 409);
    assert.match(wrongCert.text, /not the one you confirmed/);

    const added = await api.request<HostDto>('POST', '/api/v1/hosts', {
      body: { address: B_ADDR, fingerprint: probe.json.fingerprint, joinToken: token, name: 'qxt-srv-host-b' },
    });
    assert.equal(added.status, 201, added.text);
    const hostB = added.json.id;
    await eventually(
      'host B online',
      async () => (await api.request<HostDto>('GET', `/api/v1/hosts/${hostB}`)).json.status === 'online',
      30_000,
    );
    const reused = await api.request('POST', '/api/v1/hosts', {
      body: { address: B_ADDR, fingerprint: probe.json.fingerprint, joinToken: token },
    });
    assert.equal(reused.status, 409, 'a joined agent refuses Join');
    assert.match(reused.text, /already joined to this vDC/);

    const cluster = await api.request<{ id: string }>('POST', '/api/v1/clusters', {
      body: { name: 'qxt-srv-cluster-b', hostIds: [hostB] },
    });
    assert.equal(cluster.status, 201, cluster.text);
    const poolName = srvName('bpool');
    const poolTask = await api.request<TaskDto>('POST', `/api/v1/hosts/${hostB}/pools`, {
      body: { name: poolName, kind: 'dir', path: poolDir },
    });
    assert.equal(poolTask.status, 202, poolTask.text);
    const pt = await waitTask(api, poolTask.json.id);
    assert.equal(pt.status, 'succeeded', pt.error ?? '');

    const { reply: upload } = await api.upload(
      `/api/v1/hosts/${hostB}/pools/${poolName}/uploads`,
      { name: 'guest.qcow2', format: 'qcow2', sizeBytes: statSync(GUEST_QCOW2).size },
      createReadStream(GUEST_QCOW2),
    );
    assert.equal(upload.status, 200, upload.text);
    assert.equal((upload.json.result as { format: string }).format, 'qcow2');

    const name = srvName('remote');
    const created = await api.request<TaskDto>('POST', '/api/v1/vms', {
      body: {
        name,
        clusterId: cluster.json.id,
        pool: poolName,
        memoryMib: 128,
        disks: [{ volume: 'guest.qcow2' }],
        start: true,
      },
    });
    assert.equal(created.status, 202, created.text);
    const ct = await waitTask(api, created.json.id, 180_000);
    assert.equal(ct.status, 'succeeded', ct.error ?? '');
    const vmId = (ct.result as { vmId: string }).vmId;
    const vm = (await api.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json;
    assert.equal(vm.hostId, hostB, 'placed on host B');
    assert.equal(vm.state, 'running');

    const ticket = await api.request<{ url: string }>('POST', `/api/v1/vms/${vmId}/console-ticket`);
    assert.equal(ticket.status, 201, ticket.text);
    const consoleWs = await ConsoleSocket.open(`wss://127.0.0.1:${server.running.port}${ticket.json.url}`, {
      ca: server.services.certificate.current.certPem,
      cookie: api.cookie!,
      origin: server.base,
    });
    await consoleWs.waitFor('QUANTIX-TEST-GUEST READY', 120_000);
    consoleWs.send('hello from the vdc\r');
    await consoleWs.waitFor('qx-echo: hello from the vdc', 30_000);
    consoleWs.close();
    const reuse = await ConsoleSocket.open(`wss://127.0.0.1:${server.running.port}${ticket.json.url}`, {
      ca: server.services.certificate.current.certPem,
      cookie: api.cookie!,
      origin: server.base,
    }).then(
      () => 'opened',
      (e: Error) => e.message,
    );
    assert.match(reuse, /HTTP 401/, 'a console ticket works once');

    const off = await api.request<TaskDto>('POST', `/api/v1/vms/${vmId}/force-off`);
    assert.equal((await waitTask(api, off.json.id)).status, 'succeeded');
    const del = await api.request<TaskDto>('DELETE', `/api/v1/vms/${vmId}?deleteDisks=true`);
    assert.equal((await waitTask(api, del.json.id)).status, 'succeeded');

    // The agent comes back with a new certificate: the pinned fingerprint refuses it.
    await agent.kill();
    await unlink(join(dataDir, 'identity', 'agent.crt'));
    await unlink(join(dataDir, 'identity', 'agent.key'));
    agent = await startAgent();
    const refused = await eventually(
      'host B refused for its changed certificate',
      async () => {
        const h = (await api.request<HostDto>('GET', `/api/v1/hosts/${hostB}`)).json;
        return h.status === 'offline' && /certificate changed/.test(h.statusMessage) && h;
      },
      40_000,
    );
    assert.match(refused.statusMessage, /pinned .* presented/);
    const blocked = await api.request('GET', `/api/v1/hosts/${hostB}/pools`);
    assert.equal(blocked.status, 503);
    assert.match(blocked.text, /host qxt-srv-host-b is offline/);
    const audit = (await api.request<{ action: string; target: string }[]>('GET', '/api/v1/audit?limit=1000')).json;
    assert.ok(
      audit.some((e) => e.action === 'openConsole' && e.target === vmId),
      'console sessions are audited',
    );

    // The agent behind the changed certificate cannot be told to leave: removed all the same, and said so.
    const removed = await api.request<{ agentReleased: boolean; message: string }>('DELETE', `/api/v1/hosts/${hostB}`);
    assert.equal(removed.status, 200, removed.text);
    assert.equal(removed.json.agentReleased, false);
    assert.match(removed.json.message, /could not be told .* it still trusts this vDC until it is/);
    assert.equal((await api.request('GET', `/api/v1/hosts/${hostB}`)).status, 404);
    assert.equal(
      (await api.request<{ hostIds: string[] }>('GET', `/api/v1/clusters/${cluster.json.id}`)).json.hostIds.length,
      0,
    );
  },
);
