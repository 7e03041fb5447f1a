// kill -9 of the agent in the middle of a full backup of a running VM (#24): the agent process dies
// while qemu-img copies the data disk frozen under the backup's overlay, leaving the VM running on
// its overlays, the checkpoint it took and the half-written temp dir behind. After a restart: the
// agent's recovery has committed the overlays back (the VM on its own files, live and defined,
// no overlay dir); only the previous point is listed and verifies; the next backup succeeds as an
// incremental on that point (the orphan checkpoint's bitmap merged back), the orphan checkpoint is
// gone, no temp dir stays, no copy process outlived the agent.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, open, readdir, readFile, rm, stat } from 'node:fs/promises';
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
/**
 * Big enough that copying it takes a while: qemu-img copies ~1 GiB/s from the page cache here, so
 * the kill (within ~20 ms of the copy's start) lands while it copies; checked below.
 */
const DATA_BYTES = 1024 * MIB;

/** Command lines of the processes still running that mention `text`. */
async function processesWith(text: string): Promise<string[]> {
  const out: string[] = [];
  for (const pid of await readdir('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    const cmd = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmd.includes(text)) out.push(cmd.replaceAll('\0', ' '));
  }
  return out;
}

test('agent killed mid-backup: VM back on its disks, previous chain listed and valid, orphan checkpoint cleaned, next backup incremental', async (t) => {
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
  // as it copies the data disk.
  void startBackup(true).catch(() => undefined);
  // Polled every 10 ms (eventually's 200 ms would let a 1 GiB copy end first).
  let copying: { id: string; file: string } | undefined;
  for (const end = Date.now() + 300_000; !copying; await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() > end) throw new Error('timed out waiting for the backup to copy the data disk');
    for (const n of await readdir(root)) {
      if (!n.startsWith('.tmp-')) continue;
      const file = join(root, n, 'vdb.qcow2');
      if (await stat(file).catch(() => undefined)) copying = { id: n.slice('.tmp-'.length), file };
    }
  }
  orphan = copying.id;
  await agent.kill('SIGKILL');
  // The kill landed mid-copy: the data disk's copy is short of its (random, incompressible) bytes.
  const copied = (await stat(copying.file)).size;
  assert.ok(copied < DATA_BYTES, `the kill landed mid-copy (${copied} bytes of ${DATA_BYTES} copied)`);
  // What the killed agent left: the VM on its overlays, and the checkpoint it took; its copy died with it.
  assert.match(await virsh(['domblklist', vmName]), /\.qx-backup-.*\/vdb\.overlay\.qcow2/);
  assert.deepEqual(await checkpoints(), [`qx-backup-${first.id}`, `qx-backup-${orphan}`].sort());
  await eventually('the copy to end with the agent', async () => (await processesWith(orphan)).length === 0);

  agent = await spawnAgent(agentDir, port);
  await online();
  assert.deepEqual(await listed(), [first.id], 'no partial backup is listed');
  const point = `/api/v1/backups/${hostId}/${bkPool.name}/${first.vmUuid}/${first.id}`;
  const verify = await taskDone((await api.request<TaskDto>('POST', `${point}/verify`)).json);
  assert.equal(verify.status, 'succeeded', verify.error ?? '');

  // Back on its own files, live and defined, the overlay dir gone (the agent's start recovered it).
  const own = [join(vmPool.dir, 'guest.qcow2'), join(vmPool.dir, 'data.qcow2')];
  const sources = (xml: string) => [...xml.matchAll(/<source file='([^']+)'/g)].map((m) => m[1]);
  await eventually('the recovery', async () =>
    sources(await virsh(['dumpxml', vmName])).every((f) => own.includes(f!)),
  );
  assert.deepEqual(sources(await virsh(['dumpxml', vmName])), own);
  assert.deepEqual(sources(await virsh(['dumpxml', '--inactive', vmName])), own);
  assert.deepEqual(
    (await readdir(vmPool.dir)).filter((n) => n.startsWith('.qx-backup-')),
    [],
  );

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
