// kill -9 of the agent in the middle of a backup of a running VM (#24): the agent process dies while
// it reads the disks from libvirt's pull-mode export, leaving libvirt's backup job, the checkpoint
// it took and the half-written temp dir behind. After a restart: only the previous point is
// listed and verifies; the next backup succeeds as an incremental on that point (the orphan
// checkpoint's bitmap merged back), the job and the orphan checkpoint are gone, no temp dir stays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BackupDto } from '@dto/backups.js';
import type { HostDto } from '@dto/hosts.js';
import type { TaskDto } from '@dto/tasks.js';
import { run } from '../../agent/src/exec/run.js';
import { BACKUP_SOCKET_ROOT } from '../../agent/src/backup/backup-pull.js';
import { freePort, spawnAgent, type Child } from '../../server/src/test-support/spawn.js';
import { startTestServer } from '../../server/src/test-support/test-server.js';
import {
  GUEST_QCOW2,
  eventually,
  removeLibvirtPool,
  srvName,
  virsh,
} from '../../server/src/test-support/guest-pool.js';

const MIB = 2 ** 20;
/** Big enough that reading it takes a while: the kill lands while the backup reads. */
const DATA_BYTES = 384 * MIB;

test('agent killed mid-backup: previous chain listed and valid, orphan job/checkpoint cleaned, next backup incremental', async (t) => {
  const agentDir = await mkdtemp(join(tmpdir(), 'qxt-srv-agent-'));
  const port = await freePort();
  let agent: Child = await spawnAgent(agentDir, port);
  const s = await startTestServer({ QX_LOCAL_AGENT_ADDRESS: `127.0.0.1:${port}`, QX_LOCAL_AGENT_DATA_DIR: agentDir });
  const api = s.admin;
  const vmName = srvName('bkkill');
  const pools: { name: string; dir: string }[] = [];
  let orphan = '';
  t.after(async () => {
    if (orphan) await rm(join(BACKUP_SOCKET_ROOT, orphan), { recursive: true, force: true });
    await s.stop();
    await agent.kill('SIGKILL');
    // A backup job a test failure left running ends before the VM goes.
    await virsh(['domjobabort', vmName]).catch(() => undefined);
    await virsh(['destroy', vmName]).catch(() => undefined);
    await virsh(['undefine', vmName, '--checkpoints-metadata']).catch(() => undefined);
    for (const p of pools) {
      await removeLibvirtPool(p.name);
      await rm(p.dir, { recursive: true, force: true });
    }
    await rm(agentDir, { recursive: true, force: true });
  });
  const online = () =>
    eventually('the local host online', async () => {
      const hosts = (await api.request<HostDto[]>('GET', '/api/v1/hosts')).json;
      return hosts.find((h) => h.local && h.status === 'online');
    });
  const hostId = (await online()).id;
  const taskDone = (task: TaskDto) =>
    eventually(
      `task ${task.kind}`,
      async () => {
        const r = (await api.request<TaskDto>('GET', `/api/v1/tasks/${task.id}`)).json;
        return r.status !== 'running' && r;
      },
      300_000,
    );
  for (const what of ['vm', 'bk']) {
    const name = srvName(what);
    const dir = await mkdtemp(join(tmpdir(), `${name}-`));
    await chmod(dir, 0o755);
    pools.push({ name, dir });
    const r = await api.request<TaskDto>('POST', `/api/v1/hosts/${hostId}/pools`, {
      body: { name, kind: 'dir', path: dir },
    });
    assert.equal(r.status, 202, r.text);
    assert.equal((await taskDone(r.json)).status, 'succeeded');
  }
  const [vmPool, bkPool] = pools as [{ name: string; dir: string }, { name: string; dir: string }];

  // The test guest plus a data disk of random bytes.
  await run('cp', ['--reflink=auto', GUEST_QCOW2, join(vmPool.dir, 'guest.qcow2')]);
  const raw = join(vmPool.dir, 'data.raw');
  const fh = await open(raw, 'w');
  for (let at = 0; at < DATA_BYTES; at += 16 * MIB) await fh.write(randomBytes(16 * MIB));
  await fh.close();
  await run('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, join(vmPool.dir, 'data.qcow2')]);
  await rm(raw);
  await virsh(['pool-refresh', vmPool.name]);
  await s.services.pool.get(hostId).syncPools();
  const created = await api.request<TaskDto>('POST', '/api/v1/vms', {
    body: {
      name: vmName,
      hostId,
      pool: vmPool.name,
      memoryMib: 128,
      disks: [
        { pool: vmPool.name, volume: 'guest.qcow2' },
        { pool: vmPool.name, volume: 'data.qcow2' },
      ],
      start: true,
    },
  });
  assert.equal(created.status, 202, created.text);
  const made = await taskDone(created.json);
  assert.equal(made.status, 'succeeded', made.error ?? '');
  const vmId = (made.result as { vmId: string }).vmId;

  const startBackup = async (full = false) => {
    const r = await api.request<TaskDto>('POST', `/api/v1/vms/${vmId}/backups`, {
      body: { pool: bkPool.name, full },
    });
    assert.equal(r.status, 202, r.text);
    return r.json;
  };
  const backUp = async () => {
    const done = await taskDone(await startBackup());
    assert.equal(done.status, 'succeeded', done.error ?? '');
    return done.result as BackupDto;
  };
  const listed = async () =>
    (await api.request<BackupDto[]>('GET', `/api/v1/vms/${vmId}/backups`)).json.map((b) => b.id);
  const checkpoints = async () =>
    (await virsh(['checkpoint-list', vmName, '--name'])).split('\n').filter(Boolean).sort();

  const first = await backUp();
  assert.equal(first.kind, 'full');
  const root = join(bkPool.dir, 'backups', first.vmUuid);

  // A second full backup (an incremental would be over in an instant): kill -9 the agent as soon
  // as it writes the data disk's copy.
  void startBackup(true).catch(() => undefined);
  orphan = await eventually(
    'the backup writing the data disk',
    async () => {
      for (const n of await readdir(root)) {
        if (!n.startsWith('.tmp-')) continue;
        const st = await stat(join(root, n, 'vdb.qcow2')).catch(() => undefined);
        if (st && st.size > 0) return n.slice('.tmp-'.length);
      }
      return undefined;
    },
    300_000,
  );
  await agent.kill('SIGKILL');
  // What the killed agent left: libvirt's job still exporting, and the checkpoint it took.
  assert.match(await virsh(['domjobinfo', vmName]), /Operation:\s+Backup/, agent.output().slice(-3000));
  assert.deepEqual(await checkpoints(), [`qx-backup-${first.id}`, `qx-backup-${orphan}`].sort());

  agent = await spawnAgent(agentDir, port);
  await online();
  assert.deepEqual(await listed(), [first.id], 'no partial backup is listed');
  const point = `/api/v1/backups/${hostId}/${bkPool.name}/${first.vmUuid}/${first.id}`;
  const verify = await taskDone((await api.request<TaskDto>('POST', `${point}/verify`)).json);
  assert.equal(verify.status, 'succeeded', verify.error ?? '');

  const next = await backUp();
  assert.equal(next.kind, 'incremental', 'the bitmap since the first point is still trusted');
  assert.equal(next.parentId, first.id);
  assert.deepEqual(await listed(), [first.id, next.id]);
  assert.deepEqual(await checkpoints(), [`qx-backup-${first.id}`, `qx-backup-${next.id}`].sort());
  assert.match(await virsh(['domjobinfo', vmName]), /Job type:\s+None/);
  assert.deepEqual((await readdir(root)).sort(), [first.id, next.id].sort(), 'no temp dir stays');
  assert.equal(await stat(join(BACKUP_SOCKET_ROOT, orphan)).catch(() => 'gone'), 'gone', 'its socket dir is gone');
  const nextPoint = `/api/v1/backups/${hostId}/${bkPool.name}/${first.vmUuid}/${next.id}`;
  const verifyNext = await taskDone((await api.request<TaskDto>('POST', `${nextPoint}/verify`)).json);
  assert.equal(verifyNext.status, 'succeeded', verifyNext.error ?? '');
});
