// Live migration benchmark (#20): VMs of the same spec and image between the same two hosts
// (test/cluster/two-hosts.ts), each with its disk copied while it runs: one through the vDC (QEMU's
// TLS with vDC certificates, libvirt's control connection over the agents' pipe), one by bare
// `virsh migrate --live --copy-storage-all` over plain qemu+tcp inside the test's namespaces (the
// issue's baseline), one bare with --tls on the same certificates (what encryption costs) and one
// bare --tls with multifd (2 connections). The vDC runs twice: first (both hosts get their
// migration certificate) and again (reused). Prints total time and downtime of each with the load
// beside it, and the ratios against the plain baseline (targets: total ≤ 1.1×, downtime ≤ 1.2×)
// and against bare --tls, all of the same run. Each guest is switched off once moved.
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
const load = () => loadavg()[0]!.toFixed(2);
const cluster = await startTwoHosts({ libvirtTcp: true });
try {
  const { api, a, b } = cluster;
  const names = ['qxc-bench-vdc1', 'qxc-bench-bare', 'qxc-bench-tls', 'qxc-bench-mfd', 'qxc-bench-vdc2'];
  const vms: Record<string, { id: string }> = {};
  for (const name of names) vms[name] = await cluster.createGuestVm(a, name);
  // All guests booted and idle before any moves: a guest still booting dirties memory all the
  // time (more pre-copy rounds, a longer switchover), which would favour whichever goes later.
  for (const name of names) {
    const con = await openConsole(cluster, vms[name]!.id);
    await con.waitFor('QUANTIX-TEST-GUEST READY', 180_000);
    con.close();
  }
  const cpus = availableParallelism();

  // A moved guest is switched off on B: an idle TCG guest still costs CPU, and on 2 cores every
  // guest left running slowed the moves after it (load 3.6-6.7 with all five up).
  const settle = async (name: string) => {
    await b.virsh(['destroy', name]).catch(() => undefined);
  };

  interface Figure {
    total: number;
    downtime: number;
    load: string;
    phases?: string;
  }
  // Through the vDC: the task's own figures (total from the request, downtime as libvirt measured it).
  const viaVdc = async (name: string): Promise<Figure> => {
    const before = load();
    const started = await api.request<TaskDto>('POST', `/api/v1/vms/${vms[name]!.id}/migrate`, {
      body: { hostId: b.id, poolId: b.pool },
    });
    if (started.status !== 202) throw new Error(`migrate: ${started.status} ${started.text}`);
    const task = await cluster.waitTask(started.json.id, 900_000);
    if (task.status !== 'succeeded') throw new Error(`vDC migration failed: ${task.error}`);
    const r = task.result as { totalMs: number; downtimeMs: number };
    const phases = task.log.find((l) => l.message.startsWith('phases'))?.message ?? 'phases: not logged';
    const after = load();
    await settle(name);
    return { total: r.totalMs, downtime: r.downtimeMs, load: `${before}→${after}`, phases };
  };

  // Bare: the destination disk pre-created in B's pool directory, the XML pointed at it.
  const bareMigrate = async (name: string, extra: string[]): Promise<Figure> => {
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
    const before = load();
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
      ...extra,
      name,
      `qemu+tcp://${B_IP}/system`,
      `tcp://${B_IP}`,
    ]);
    const total = performance.now() - t0;
    const stats = parseJobStats(await b.virsh(['domjobinfo', '--completed', '--rawstats', name]));
    const after = load();
    await settle(name);
    return { total, downtime: stats.downtime ?? 0, load: `${before}→${after}` };
  };
  // The certificates the first vDC migration put in place on both hosts.
  const tls = ['--tls', '--tls-destination', migrationTlsName(b.id), '--listen-address', B_IP];
  // Interleaved, so that neither side always runs on the busier destination (more guests there).
  const vdc1 = await viaVdc('qxc-bench-vdc1');
  const plain = await bareMigrate('qxc-bench-bare', []);
  const withTls = await bareMigrate('qxc-bench-tls', tls);
  const multifd = await bareMigrate('qxc-bench-mfd', [...tls, '--parallel', '--parallel-connections', '2']);
  const vdc2 = await viaVdc('qxc-bench-vdc2');

  const f = (n: number) => `${Math.round(n)} ms`;
  const line = (label: string, x: Figure) =>
    console.log(`${label.padEnd(44)} total ${f(x.total)}, downtime ${f(x.downtime)}  (load ${x.load}, ${cpus} cores)`);
  line('vDC, first (issues both hosts a certificate):', vdc1);
  line('vDC, second (certificates already there):', vdc2);
  line('bare virsh qemu+tcp (plain):', plain);
  line('bare virsh --tls:', withTls);
  line('bare virsh --tls --parallel-connections 2:', multifd);
  console.log(`vDC first ${vdc1.phases}`);
  console.log(`vDC second ${vdc2.phases}`);
  for (const l of a.agent.output().split('\n')) if (l.includes('switched over')) console.log(`source agent: ${l}`);
  const ratio = (x: Figure, y: Figure) =>
    `total ${(x.total / y.total).toFixed(2)}x, downtime ${(x.downtime / Math.max(1, y.downtime)).toFixed(2)}x`;
  console.log(`uptime: ${(await exec('uptime')).stdout.trim()}`);
  for (const [label, x] of [
    ['first', vdc1],
    ['second', vdc2],
  ] as const) {
    console.log(`ratio vDC ${label} / bare plain: ${ratio(x, plain)} (targets: total <= 1.1x, downtime <= 1.2x)`);
    console.log(`ratio vDC ${label} / bare --tls: ${ratio(x, withTls)}`);
  }
  console.log(`reference: bare --tls / bare plain: ${ratio(withTls, plain)}`);
  console.log(`reference: bare --tls multifd(2) / bare --tls: ${ratio(multifd, withTls)}`);
} finally {
  await cluster.stop();
}
