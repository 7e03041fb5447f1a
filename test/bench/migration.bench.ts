// Live migration benchmark (#20): VMs of the same spec and image between the same two hosts
// (test/cluster/two-hosts.ts), each with its disk copied while it runs: one through the vDC (QEMU's
// TLS with vDC certificates, libvirt's control connection over the agents' pipe), one by bare
// `virsh migrate --live --copy-storage-all` over plain qemu+tcp inside the test's namespaces (the
// issue's baseline), and one bare with --tls on the same certificates (what encryption costs).
// Prints total time and downtime of each and the ratios against the plain baseline (targets:
// total ≤ 1.1×, downtime ≤ 1.2×), with the machine's load.
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { migrationTlsName } from '@quantix/proto/tls/migration-tls.js';
import type { TaskDto } from '../../server/src/dto/tasks.js';
import { rewriteDisks } from '../../agent/src/migration/domain-rewrite.js';
import { parseJobStats } from '../../agent/src/migration/job-stats.js';
import { openConsole } from '../cluster/migration-checks.js';
import { B_IP, startTwoHosts } from '../cluster/two-hosts.js';

const exec = promisify(execFile);
const cluster = await startTwoHosts({ libvirtTcp: true });
try {
  const { api, a, b } = cluster;
  const viaVdc = await cluster.createGuestVm(a, 'qxc-bench-vdc');
  const bare = await cluster.createGuestVm(a, 'qxc-bench-bare');
  const bareTls = await cluster.createGuestVm(a, 'qxc-bench-tls');
  // Both guests booted and idle before either moves: a guest still booting dirties memory all the
  // time (more pre-copy rounds, a longer switchover), which would favour whichever goes second.
  for (const vm of [viaVdc, bare, bareTls]) {
    const con = await openConsole(cluster, vm.id);
    await con.waitFor('QUANTIX-TEST-GUEST READY', 180_000);
    con.close();
  }

  const loadBefore = loadavg()[0]!;
  const cpus = availableParallelism();
  // Through the vDC: the task's own figures (total from the request, downtime as libvirt measured it).
  const started = await api.request<TaskDto>('POST', `/api/v1/vms/${viaVdc.id}/migrate`, {
    body: { hostId: b.id, poolId: b.pool },
  });
  if (started.status !== 202) throw new Error(`migrate: ${started.status} ${started.text}`);
  const task = await cluster.waitTask(started.json.id, 900_000);
  if (task.status !== 'succeeded') throw new Error(`vDC migration failed: ${task.error}`);
  const vdc = task.result as { totalMs: number; downtimeMs: number };

  // Bare: the destination disk pre-created in B's pool directory, the XML pointed at it.
  const bareMigrate = async (name: string, tls: boolean) => {
    const src = join(a.poolDir, `${name}.qcow2`);
    const dst = join(b.poolDir, `${name}-bare.qcow2`);
    const size = JSON.parse((await exec('qemu-img', ['info', '-U', '--output=json', src])).stdout) as {
      'virtual-size': number;
    };
    await exec('qemu-img', ['create', '-q', '-f', 'qcow2', dst, String(size['virtual-size'])]);
    const xml = rewriteDisks(await a.virsh(['dumpxml', '--migratable', name]), [
      { dev: 'vda', sourcePath: src, destPath: dst, destPool: b.pool, destVolume: `${name}-bare.qcow2` },
    ]);
    const xmlFile = join(a.poolDir, '..', `${name}-domain.xml`);
    await writeFile(xmlFile, xml, { mode: 0o600 });
    const t0 = performance.now();
    await exec('virsh', [
      '-c',
      'qemu:///system',
      'migrate',
      '--live',
      '--copy-storage-all',
      '--persistent',
      '--undefinesource',
      '--migrate-disks',
      'vda',
      '--xml',
      xmlFile,
      '--persistent-xml',
      xmlFile,
      // The certificates the vDC migration above put in place on both hosts.
      ...(tls ? ['--tls', '--tls-destination', migrationTlsName(b.id), '--listen-address', B_IP] : []),
      name,
      `qemu+tcp://${B_IP}/system`,
      `tcp://${B_IP}`,
    ]);
    const total = performance.now() - t0;
    const stats = parseJobStats(await b.virsh(['domjobinfo', '--completed', '--rawstats', name]));
    return { total, downtime: stats.downtime ?? 0, job: stats.time_elapsed ?? 0 };
  };
  const plain = await bareMigrate('qxc-bench-bare', false);
  const withTls = await bareMigrate('qxc-bench-tls', true);
  const loadAfter = loadavg()[0]!;

  const f = (n: number) => `${Math.round(n)} ms`;
  console.log(`load average (1 min, ${cpus} cores): ${loadBefore.toFixed(2)} before, ${loadAfter.toFixed(2)} after`);
  console.log(`vDC (QEMU TLS, vDC PKI): total ${f(vdc.totalMs)}, downtime ${f(vdc.downtimeMs)}`);
  console.log(`bare virsh qemu+tcp:     total ${f(plain.total)}, downtime ${f(plain.downtime)}, job ${f(plain.job)}`);
  console.log(
    `bare virsh --tls:        total ${f(withTls.total)}, downtime ${f(withTls.downtime)}, job ${f(withTls.job)}`,
  );
  console.log(`vDC ${task.log.find((l) => l.message.startsWith('phases'))?.message ?? 'phases: not logged'}`);
  for (const l of a.agent.output().split('\n')) if (l.includes('switched over')) console.log(`source agent: ${l}`);
  console.log(
    `ratio total ${(vdc.totalMs / plain.total).toFixed(2)}x (target <= 1.1x), downtime ${(vdc.downtimeMs / Math.max(1, plain.downtime)).toFixed(2)}x (target <= 1.2x) against bare plain`,
  );
  console.log(
    `reference: bare --tls / bare plain: total ${(withTls.total / plain.total).toFixed(2)}x, downtime ${(withTls.downtime / Math.max(1, plain.downtime)).toFixed(2)}x`,
  );
} finally {
  await cluster.stop();
}
