// History attacks (issue #19 "Trust"): a flood of unauthenticated requests with 15 KB paths made
// every request rewrite the whole db file (each 401 was an audit row in it); a long path was stored
// whole; a truncated or empty db file made the server crash-loop; volume downloads and OVA exports
// left no audit row. Real servers over HTTPS, a real agent with a dir pool for the downloads.
import { describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { chmod, mkdir, mkdtemp, readdir, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { attack } from '../attack.js';
import type { AuditEntryDto } from '../../../server/src/dto/system.js';
import type { HostDto } from '../../../server/src/dto/hosts.js';
import type { TaskDto } from '../../../server/src/dto/tasks.js';
import type { VmDto } from '../../../server/src/dto/vms.js';
import { ADMIN_PASSWORD, startTestServer, type TestServer } from '../../../server/src/test-support/test-server.js';
import { freePort, spawnAgent, type Child } from '../../../server/src/test-support/spawn.js';
import { eventually, removeDomain, srvName, virsh } from '../../../server/src/test-support/guest-pool.js';
import { metricSample } from '../../../server/src/test-support/prometheus-text.js';
import type { ApiClient } from '../../../server/src/test-support/api-client.js';

const LONG = 'a'.repeat(15_000);

async function auditOf(api: ApiClient): Promise<AuditEntryDto[]> {
  const r = await api.request<AuditEntryDto[]>('GET', '/api/v1/audit?limit=1000');
  assert.equal(r.status, 200, r.text);
  return r.json;
}

/** An unauthenticated POST over a keep-alive agent; resolves with the status. */
function anonymousPost(s: TestServer, agent: Agent, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, s.base),
      { method: 'POST', agent, ca: s.services.certificate.current.certPem },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function waitTask(api: ApiClient, id: string): Promise<TaskDto> {
  return eventually(`task ${id}`, async () => {
    const t = (await api.request<TaskDto>('GET', `/api/v1/tasks/${id}`)).json;
    return t.status !== 'running' && t;
  });
}

describe('history', () => {
  let s: TestServer;

  before(async () => {
    s = await startTestServer();
  });
  after(async () => {
    await s?.stop();
  });

  attack('600 unauthenticated POSTs with a 15 KB path', async () => {
    const dbFile = join(s.dataDir, 'quantix.db.json');
    const audited = (await auditOf(s.admin)).length;
    const was = await stat(dbFile);
    const agent = new Agent({ keepAlive: true, maxSockets: 4, ca: s.services.certificate.current.certPem });
    try {
      const statuses = await Promise.all(
        Array.from({ length: 600 }, () => anonymousPost(s, agent, `/api/v1/vms/${LONG}/start`)),
      );
      assert.deepEqual([...new Set(statuses)], [401], 'every one refused');
    } finally {
      agent.destroy();
    }
    const now = await stat(dbFile);
    assert.deepEqual(
      [now.ino, now.mtimeMs, now.size],
      [was.ino, was.mtimeMs, was.size],
      'the db file was not rewritten by the refusals',
    );
    const grown = (await auditOf(s.admin)).length - audited;
    assert.ok(grown <= 1, `the audit log grew by ${grown} rows for 600 refused requests`);
    const metrics = await s.admin.request('GET', '/metrics');
    const counted = metricSample(
      metrics.text,
      'quantix_unauthenticated_requests_total{reason="no-credentials",status="401"}',
    );
    assert.ok(counted >= 600, `/metrics counts the refusals (${counted})`);
  });

  attack('an audited request with a 15 KB path', async () => {
    const r = await s.admin.request('POST', `/api/v1/vms/${LONG}/start`);
    assert.equal(r.status, 404, r.text);
    const row = (await auditOf(s.admin)).find((e) => e.action === 'startVm' && e.user === 'admin');
    assert.ok(row, 'the request is audited');
    assert.ok(row.path.length <= 512, `stored path is ${row.path.length} characters`);
    assert.ok(row.target.length <= 512, `stored target is ${row.target.length} characters`);
    assert.ok(row.path.startsWith('/api/v1/vms/aaaa'), 'the start of the path is kept');
  });

  for (const damage of ['truncated', 'emptied'] as const) {
    attack(`the db file is ${damage} while the server is stopped`, async (t) => {
      const dataDir = await mkdtemp(join(tmpdir(), 'qxt-history-db-'));
      t.after(() => rm(dataDir, { recursive: true, force: true }));
      const dbFile = join(dataDir, 'quantix.db.json');
      const username = `qxt-kept-${damage}`;
      const first = await startTestServer({}, { dataDir });
      try {
        const created = await first.admin.request('POST', '/api/v1/users', {
          body: { username, password: ADMIN_PASSWORD, role: 'viewer' },
        });
        assert.equal(created.status, 201, created.text);
      } finally {
        await first.stop();
      }
      if (damage === 'truncated') await truncate(dbFile, Math.floor((await stat(dbFile)).size / 2));
      else await writeFile(dbFile, '');

      const second = await startTestServer({}, { dataDir, setup: false });
      try {
        const c = second.client();
        const login = await c.login(username, ADMIN_PASSWORD);
        assert.equal(login.status, 200, `the user created before signs in: ${login.status} ${login.text}`);
        const admin = second.client();
        assert.equal((await admin.login('admin', ADMIN_PASSWORD)).status, 200);
        const report = (await auditOf(admin)).find((e) => e.action === 'recoverConfiguration');
        assert.ok(report, 'the admin sees the recovery in the audit log');
        assert.match(report.detail, /quantix\.db\.json (is empty|is not valid JSON).*last good copy/);
        const aside = (await readdir(dataDir)).filter((f) => f.startsWith('quantix.db.json.corrupt-'));
        assert.equal(aside.length, 1, 'the damaged file is kept for inspection');
      } finally {
        await second.stop();
      }
    });
  }

  describe('downloads of guest data', () => {
    let work: string;
    let agent: Child | undefined;
    let withAgent: TestServer;

    before(async () => {
      work = await mkdtemp(join(tmpdir(), 'qxt-history-'));
      await chmod(work, 0o755);
      const agentDir = join(work, 'agent');
      await mkdir(agentDir);
      const port = await freePort();
      agent = await spawnAgent(agentDir, port);
      withAgent = await startTestServer({
        QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`,
        QX_LOCAL_AGENT_DATA_DIR: agentDir,
      });
    });
    after(async () => {
      await withAgent?.stop();
      await agent?.kill();
      await rm(work, { recursive: true, force: true });
    });

    attack('a volume downloaded and a VM exported as an OVA leave no trace', async () => {
      const api = withAgent.admin;
      const host = await eventually('the local host online', async () =>
        (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json.find((h) => h.status === 'online'),
      );
      const poolName = srvName('hpool');
      const poolDir = join(work, 'pool');
      await mkdir(poolDir, { mode: 0o755 });
      const pt = await api.request<TaskDto>('POST', `/api/v1/hosts/${host.id}/pools`, {
        body: { name: poolName, kind: 'dir', path: poolDir },
      });
      assert.equal(pt.status, 202, pt.text);
      assert.equal((await waitTask(api, pt.json.id)).status, 'succeeded');
      const vmName = srvName('hvm');
      let vmId: string | undefined;
      try {
        const created = await api.request<TaskDto>('POST', '/api/v1/vms', {
          body: { name: vmName, hostId: host.id, pool: poolName, memoryMib: 64, disks: [{ sizeBytes: 1_048_576 }] },
        });
        assert.equal(created.status, 202, created.text);
        const done = await waitTask(api, created.json.id);
        assert.equal(done.status, 'succeeded', done.error ?? '');
        vmId = (done.result as { vmId: string }).vmId;
        const vm = (await api.request<VmDto>('GET', `/api/v1/vms/${vmId}`)).json;
        const volume = vm.disks[0]!.volume;

        const download = await api.request(
          'GET',
          `/api/v1/hosts/${host.id}/pools/${poolName}/volumes/${volume}/content`,
        );
        assert.equal(download.status, 200, download.text);
        const exported = await api.request('GET', `/api/v1/vms/${vmId}/export.ova`);
        assert.equal(exported.status, 200, exported.text);

        const rows = await auditOf(api);
        const downloaded = rows.find((e) => e.action === 'downloadVolume');
        assert.ok(downloaded, 'the volume download is audited');
        assert.deepEqual(
          [downloaded.user, downloaded.status, downloaded.target],
          ['admin', 200, `${host.id}/${poolName}/${volume}`],
        );
        const ova = rows.find((e) => e.action === 'exportVm');
        assert.ok(ova, 'the OVA export is audited');
        assert.deepEqual([ova.user, ova.status, ova.target], ['admin', 200, vmId]);
      } finally {
        if (vmId) {
          const del = await api.request<TaskDto>('DELETE', `/api/v1/vms/${vmId}?deleteDisks=true`);
          if (del.status === 202) await waitTask(api, del.json.id);
        }
        await removeDomain(vmName);
        const d = await api.request('DELETE', `/api/v1/hosts/${host.id}/pools/${poolName}`).catch(() => undefined);
        if (d?.status !== 204) {
          await virsh(['pool-destroy', poolName]).catch(() => undefined);
          await virsh(['pool-undefine', poolName]).catch(() => undefined);
        }
      }
    });
  });
});
