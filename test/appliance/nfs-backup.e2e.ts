// NFS backup targets in the appliance (#24): the appliance (Debian's kernel, mount.nfs4) boots beside
// a small NFS server guest (test/guest/build-nfs-server.sh: knfsd, NFSv4 only, tmpfs exports),
// linked only by a private QEMU socket network (10.99.0.0/24). A VM is backed up to the export,
// verified, restored as a new VM whose disks equal the original's (qemu-img compare); a target too
// small stops the job with "is full" and holds nothing; the NFS server frozen mid-backup fails the
// job with a sentence saying it stopped answering, and once it is back only complete backups are
// listed and the next backup succeeds. Run by `make test-appliance` (test/appliance/run.sh) after the
// other appliance tests, about 10 minutes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from '../../agent/src/exec/run.js';
import type { BackupDto } from '../../server/src/dto/backups.js';
import type { NfsTargetDto } from '../../server/src/dto/backup-targets.js';
import type { HostDto } from '../../server/src/dto/hosts.js';
import type { PoolDto, VolumeDto } from '../../server/src/dto/storage.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import type { VmDto } from '../../server/src/dto/vms.js';
import { testGuest } from '../guest/fixture.js';
import { applianceIso, blankDisk, extractBootFiles, repoRoot, waitForHttps } from './appliance-boot.js';
import { ApplianceClient } from './appliance-client.js';
import { buildGuestOva } from './guest-ova.js';
import { runOnHost } from './host-shell.js';
import { QemuMachine } from './qemu-machine.js';

const workDir = join(repoRoot, 'test/output/appliance-nfs');
const port = 20443 + (process.pid % 1000);
const linkPort = 21443 + (process.pid % 1000);
const password = `qxt-Nfs-${process.pid}-pw`;
const minutes = (n: number) => n * 60_000;
const LINK_MAC = '52:54:00:99:00:01';
const BIG_MIB = 384;

async function waitTask(api: ApplianceClient, task: TaskDto, timeoutMs: number): Promise<TaskDto> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const t = await api.expect<TaskDto>(200, 'GET', `/api/v1/tasks/${task.id}`);
    if (t.status !== 'running') return t;
    if (Date.now() > deadline) throw new Error(`task ${t.kind} ${t.id} still running after ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

async function succeeded(api: ApplianceClient, task: TaskDto, timeoutMs: number): Promise<TaskDto> {
  const t = await waitTask(api, task, timeoutMs);
  assert.equal(t.status, 'succeeded', `task ${t.kind}: ${t.error}`);
  return t;
}

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 2000));
  }
}

/** Runs `command` in the NFS server guest's console shell; its output up to a marker. */
async function onServer(nfs: QemuMachine, command: string): Promise<string> {
  const mark = `qx-done-${Math.random().toString(36).slice(2, 8)}`;
  const from = nfs.serial.length;
  nfs.typeSerial(`${command}; echo ${mark.slice(0, 4)}""${mark.slice(4)}\n`);
  await nfs.waitForSerial(new RegExp(mark), 60_000, from);
  return nfs.serial.slice(from, nfs.serial.indexOf(mark, from));
}

test('NFS backup target: back up, verify, restore; a full target; the server stopping mid-backup', async (t) => {
  await rm(workDir, { recursive: true, force: true });
  await mkdir(workDir, { recursive: true });
  const started = Date.now();
  const nfsDir = (
    await run('bash', [join(repoRoot, 'test/guest/build-nfs-server.sh')], { timeoutMs: minutes(10) })
  ).stdout.trim();
  const iso = applianceIso();
  const boot = await extractBootFiles(iso, join(workDir, 'boot'));
  const data = { ...(await blankDisk(join(workDir, 'data.img'), 8)), serial: 'qx-data' };
  // The NFS server first: it listens on the link, the appliance connects to it.
  const nfs = new QemuMachine({
    name: 'nfs-server',
    memoryMib: 1536,
    cpus: 1,
    kernel: join(nfsDir, 'vmlinuz'),
    initrd: join(nfsDir, 'initrd.img'),
    append: 'console=ttyS0 quiet panic=-1 qx.ip=10.99.0.2/24 qx.exports=export:1g,tiny:8m',
    disks: [],
    forwards: [],
    serialLog: join(workDir, 'nfs-server.serial.log'),
    qmpSocket: join(workDir, 'nfs-server.qmp'),
    links: [{ listen: linkPort, mac: '52:54:00:99:00:02' }],
  });
  // Set once the NFS server is up (the cleanup and the failure report see it when it is).
  const booted: { appliance?: QemuMachine } = {};
  t.after(async () => {
    await booted.appliance?.stop();
    await nfs.stop();
    await rm(data.file, { force: true });
  });
  const fail = (err: unknown): never => {
    for (const m of [booted.appliance, nfs]) {
      if (m)
        process.stderr.write(
          `\n--- last serial output of ${m.options.name} (${m.options.serialLog}) ---\n${m.serial.slice(-4000)}\n`,
        );
    }
    throw err;
  };
  await nfs.waitForSerial(/qx-nfs: ready/, minutes(3)).catch(fail);
  const vm = new QemuMachine({
    name: 'appliance',
    memoryMib: 2048,
    kernel: boot.kernel,
    initrd: boot.initrd,
    iso,
    append: `boot=live components console=ttyS0,115200n8 quantix.data_disk=/dev/disk/by-id/virtio-qx-data quantix.admin_password=${password}`,
    disks: [data],
    forwards: [{ host: port, guest: 443 }],
    serialLog: join(workDir, 'appliance.serial.log'),
    qmpSocket: join(workDir, 'appliance.qmp'),
    links: [{ connect: linkPort, mac: LINK_MAC }],
  });
  booted.appliance = vm;

  try {
    const api = new ApplianceClient(port, await waitForHttps(vm, port, minutes(10)));
    await api.login('admin', password);
    const host = await until('the local host online', minutes(5), async () =>
      (await api.expect<HostDto[]>(200, 'GET', '/api/v1/hosts')).find((h) => h.local && h.status === 'online'),
    );
    process.stderr.write(`nfs-backup: appliance up after ${Math.round((Date.now() - started) / 1000)} s\n`);
    // The private link: a static address through networkd, as an operator would set one.
    const link = await runOnHost(
      api,
      host.id,
      `mkdir -p /run/systemd/network && printf '[Match]\\nMACAddress=${LINK_MAC}\\n[Network]\\nAddress=10.99.0.1/24\\n' >/run/systemd/network/10-qxt-nfs.network && networkctl reload && sleep 3 && ip -br addr | grep 10.99.0.1`,
      minutes(1),
    );
    assert.match(link, /10\.99\.0\.1\/24/, link);

    // A pool, and a shut-off VM of the test guest plus a data disk big enough to stop the server in.
    // The appliance's default pool, made at first start (5 GiB) once libvirt answers.
    const pool = 'local';
    await until('the default pool active', minutes(8), async () =>
      (await api.expect<PoolDto[]>(200, 'GET', `/api/v1/hosts/${host.id}/pools`)).some(
        (p) => p.name === pool && p.state === 'active',
      ),
    );
    const ova = await buildGuestOva(workDir, 'qxt-nfs-tpl');
    const opened = await api.expect<{ uploadUrl: string }>(202, 'POST', '/api/v1/templates/uploads', {
      hostId: host.id,
      pool,
      name: 'qxt-nfs-tpl',
      sizeBytes: ova.length,
    });
    const imported = await api.expect<TaskDto>(200, 'PUT', opened.uploadUrl, ova, minutes(10));
    const deploy = await api.expect<TaskDto>(
      202,
      'POST',
      `/api/v1/templates/${(imported.result as { templateId: string }).templateId}/deploy`,
      { name: 'qxt-nfs-vm', memoryMib: testGuest.memoryMib, start: false },
    );
    const vmId = ((await succeeded(api, deploy, minutes(5))).result as { vmId: string }).vmId;
    await until(
      'the VM listed',
      minutes(3),
      async () => (await api.call<VmDto>('GET', `/api/v1/vms/${vmId}`)).status === 200,
    );
    await api.call('POST', `/api/v1/hosts/${host.id}/pools/${pool}/volumes`, {
      name: 'qxt-nfs-big',
      format: 'raw',
      capacityBytes: BIG_MIB * 2 ** 20,
    });
    const big = await until('the data volume', minutes(2), async () =>
      (await api.expect<VolumeDto[]>(200, 'GET', `/api/v1/hosts/${host.id}/pools/${pool}/volumes`)).find(
        (v) => v.name === 'qxt-nfs-big',
      ),
    );
    const filled = await runOnHost(
      api,
      host.id,
      `qemu-io -f raw -c 'write -P 0x5a 0 ${BIG_MIB}M' ${big.path} && echo qx-filled`,
      minutes(3),
    );
    assert.match(filled, /qx-filled/, filled);
    await api.expect(200, 'POST', `/api/v1/vms/${vmId}/disks`, { pool, volume: 'qxt-nfs-big' });

    // Targets: bad input named; the export with its capacity; a tiny one.
    const bad = await api.call<{ error: { field: string } }>('POST', '/api/v1/backup-targets/nfs', {
      name: 'x',
      server: '10.99.0.2',
      exportPath: '/export',
      version: '4.2',
      options: ['hard'],
    });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.field, 'options[0]');
    const opts = ['timeo=20', 'retrans=1'];
    const nas = await api.expect<NfsTargetDto>(201, 'POST', '/api/v1/backup-targets/nfs', {
      name: 'nas',
      server: '10.99.0.2',
      exportPath: '/export',
      version: '4.2',
      options: opts,
    });
    assert.equal(nas.state, 'ok', nas.error);
    assert.ok(nas.capacityBytes > 900 * 2 ** 20, `the export's capacity: ${nas.capacityBytes}`);
    await api.expect<NfsTargetDto>(201, 'POST', '/api/v1/backup-targets/nfs', {
      name: 'tiny',
      server: '10.99.0.2',
      exportPath: '/tiny',
      version: '4.2',
      options: opts,
    });
    const refused = await api.expect<NfsTargetDto>(201, 'POST', '/api/v1/backup-targets/nfs', {
      name: 'nope',
      server: '10.99.0.2',
      exportPath: '/nothing',
      version: '4.2',
      options: opts,
    });
    assert.equal(refused.state, 'error', 'added, saying why it cannot be mounted now');
    assert.match(
      refused.error,
      /NFS backup target nope \(10\.99\.0\.2:\/nothing\) cannot be mounted: the server (exports no|refused)/,
    );

    const backUp = (target: string) =>
      api.expect<TaskDto>(202, 'POST', `/api/v1/vms/${vmId}/backups`, { pool: target });
    const points = async (target: string) =>
      (await api.expect<BackupDto[]>(200, 'GET', `/api/v1/vms/${vmId}/backups`)).filter((b) => b.pool === target);

    // A full target stops the job, naming it; nothing is listed there.
    const full = await waitTask(api, await backUp('nfs:tiny'), minutes(5));
    assert.equal(full.status, 'failed');
    assert.match(full.error ?? '', /nfs:tiny is full/);
    assert.deepEqual(await points('nfs:tiny'), []);

    // Back up, verify, restore as a new VM: its disks equal the original's.
    let t0 = Date.now();
    const first = (await succeeded(api, await backUp('nfs:nas'), minutes(15))).result as BackupDto;
    process.stderr.write(
      `nfs-backup: full backup of ${BIG_MIB} MiB + the guest disk to NFS in ${Math.round((Date.now() - t0) / 1000)} s\n`,
    );
    assert.equal(first.pool, 'nfs:nas');
    assert.deepEqual(
      (await points('nfs:nas')).map((b) => b.id),
      [first.id],
    );
    const at = `/api/v1/backups/${first.hostId}/${encodeURIComponent(first.pool)}/${first.vmUuid}/${first.id}`;
    await succeeded(api, await api.expect<TaskDto>(202, 'POST', `${at}/verify`), minutes(10));
    const restored = (
      await succeeded(
        api,
        await api.expect<TaskDto>(202, 'POST', `${at}/restore`, { name: 'qxt-nfs-restored', targetPool: pool }),
        minutes(15),
      )
    ).result as { vmId: string; volumes: string[] };
    const vols = await api.expect<VolumeDto[]>(200, 'GET', `/api/v1/hosts/${host.id}/pools/${pool}/volumes`);
    const original = (await api.expect<VmDto>(200, 'GET', `/api/v1/vms/${vmId}`)).disks.map(
      (d) => vols.find((v) => v.name === d.volume && v.pool === d.pool)!.path,
    );
    const copies = restored.volumes.map((n) => vols.find((v) => `${v.pool}/${v.name}` === n || v.name === n)!.path);
    assert.equal(copies.length, original.length);
    for (const [i, file] of original.entries()) {
      const cmp = await runOnHost(api, host.id, `qemu-img compare -U ${file} ${copies[i]}; echo qx-cmp=$?`, minutes(3));
      assert.match(cmp, /qx-cmp=0/, cmp);
    }
    const targets = await api.expect<NfsTargetDto[]>(200, 'GET', '/api/v1/backup-targets/nfs');
    const held = targets.find((x) => x.name === 'nas')!;
    assert.deepEqual(
      held.vms.map((v) => [v.vmUuid, v.points]),
      [[first.vmUuid, 1]],
    );
    assert.ok(held.availableBytes < nas.availableBytes, 'the backup takes room on the export');

    // The server stops answering mid-backup: a clear error, nothing half-done listed.
    t0 = Date.now();
    const second = await backUp('nfs:nas');
    // Half-way through the data disk (the second half of the progress), polled often: it copies in seconds.
    for (const by = Date.now() + minutes(10); ;) {
      const s = await api.expect<TaskDto>(200, 'GET', `/api/v1/tasks/${second.id}`);
      if (s.status !== 'running')
        throw new Error(`the backup ended before the server was stopped: ${s.status} ${s.error}`);
      if ((s.progress ?? 0) >= 55) break;
      if (Date.now() > by) throw new Error(`the backup did not get half-way: ${JSON.stringify(s)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    await nfs.pause();
    const cut = await waitTask(api, second, minutes(10));
    process.stderr.write(
      `nfs-backup: the backup failed ${Math.round((Date.now() - t0) / 1000)} s after it started (server stopped)\n`,
    );
    assert.equal(cut.status, 'failed');
    assert.match(cut.error ?? '', /NFS backup target nas \(10\.99\.0\.2:\/export\) stopped answering/);
    await nfs.resume();
    assert.deepEqual(
      (await points('nfs:nas')).map((b) => b.id),
      [first.id],
      'only the complete backup is listed',
    );
    const third = (await succeeded(api, await backUp('nfs:nas'), minutes(15))).result as BackupDto;
    assert.deepEqual(
      (await points('nfs:nas')).map((b) => b.id),
      [first.id, third.id],
    );
    const onExport = await onServer(nfs, `ls -a /export/backups/${first.vmUuid}`);
    assert.doesNotMatch(onExport, /\.tmp-/, `no unfinished backup left on the export: ${onExport}`);
    process.stderr.write(`nfs-backup: done in ${Math.round((Date.now() - started) / 1000)} s\n`);
  } catch (err) {
    fail(err);
  }
});
