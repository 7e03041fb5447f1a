// Live migration benchmark (#20): two VMs of the same spec and image between the same two hosts
// (test/cluster/two-hosts.ts), each with its disk copied while it runs: one through the vDC (the
// agents' mutual-TLS tunnel), one by bare `virsh migrate --live --copy-storage-all` over plain
// qemu+tcp inside the test's namespaces. Prints total time and downtime of both and the ratios
// (targets: total ≤ 1.1×, downtime ≤ 1.2× the bare migration).
import { execFile } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
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
  // Both guests booted and idle before either moves: a guest still booting dirties memory all the
  // time (more pre-copy rounds, a longer switchover), which would favour whichever goes second.
  for (const vm of [viaVdc, bare]) {
    const con = await openConsole(cluster, vm.id);
    await con.waitFor('QUANTIX-TEST-GUEST READY', 180_000);
    con.close();
  }

  // Through the vDC: the task's own figures (total from the request, downtime as libvirt measured it).
  const started = await api.request<TaskDto>('POST', `/api/v1/vms/${viaVdc.id}/migrate`, {
    body: { hostId: b.id, poolId: b.pool },
  });
  if (started.status !== 202) throw new Error(`migrate: ${started.status} ${started.text}`);
  const task = await cluster.waitTask(started.json.id, 900_000);
  if (task.status !== 'succeeded') throw new Error(`vDC migration failed: ${task.error}`);
  const vdc = task.result as { totalMs: number; downtimeMs: number };

  // Bare: the destination disk pre-created in B's pool directory, the XML pointed at it.
  const name = 'qxc-bench-bare';
  const src = join(a.poolDir, `${name}.qcow2`);
  const dst = join(b.poolDir, `${name}-bare.qcow2`);
  const size = JSON.parse((await exec('qemu-img', ['info', '-U', '--output=json', src])).stdout) as {
    'virtual-size': number;
  };
  await exec('qemu-img', ['create', '-q', '-f', 'qcow2', dst, String(size['virtual-size'])]);
  const xml = rewriteDisks(await a.virsh(['dumpxml', '--migratable', name]), [
    { dev: 'vda', sourcePath: src, destPath: dst, destPool: b.pool, destVolume: `${name}-bare.qcow2` },
  ]);
  const xmlFile = join(a.poolDir, '..', 'bench-domain.xml');
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
    name,
    `qemu+tcp://${B_IP}/system`,
    `tcp://${B_IP}`,
  ]);
  const bareTotal = performance.now() - t0;
  const bareStats = parseJobStats(await b.virsh(['domjobinfo', '--completed', '--rawstats', name]));
  const bareDowntime = bareStats.downtime ?? 0;

  const f = (n: number) => `${Math.round(n)} ms`;
  console.log(`vDC (mTLS tunnel):  total ${f(vdc.totalMs)}, downtime ${f(vdc.downtimeMs)}`);
  console.log(`bare virsh qemu+tcp: total ${f(bareTotal)}, downtime ${f(bareDowntime)}`);
  console.log(`vDC ${task.log.find((l) => l.message.startsWith('phases'))?.message ?? 'phases: not logged'}`);
  console.log(`bare libvirt job ${bareStats.time_elapsed ?? 0} ms`);
  for (const l of a.agent.output().split('\n')) if (l.includes('switched over')) console.log(`source agent: ${l}`);
  console.log(
    `ratio total ${(vdc.totalMs / bareTotal).toFixed(2)}x (target <= 1.1x), downtime ${(vdc.downtimeMs / Math.max(1, bareDowntime)).toFixed(2)}x (target <= 1.2x)`,
  );
} finally {
  await cluster.stop();
}
