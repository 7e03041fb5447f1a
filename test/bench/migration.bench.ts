// Live migration benchmark (#20): VMs of the same spec and image between the same two hosts
// (test/cluster/two-hosts.ts), each with its disk copied while it runs: through the vDC (QEMU's TLS
// with vDC certificates, libvirt's control connection over the agents' pipe) against bare
// `virsh migrate --live --copy-storage-all` over plain qemu+tcp inside the test's namespaces (the
// issue's baseline), in QX_BENCH_ROUNDS rounds (default 5) of one of each, booted together just
// before their round, the order alternating: a single move takes 3-4 s here and one of each
// measured 1.00x-1.41x of the other in back-to-back runs, so the figure is the median of the
// rounds' ratios (targets: total <= 1.1x, downtime <= 1.2x). Before the rounds, one vDC move that
// issues both hosts their migration certificate (reported apart: once per pair of hosts), one bare
// with --tls on the same certificates (what encryption costs) and one bare --tls with multifd (2
// connections), for reference. Prints total time and downtime of each with the load beside it.
// Each guest is switched off once moved.
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
  const rounds = Number(process.env.QX_BENCH_ROUNDS ?? 5);
  /** Guests created and booted together; all idle before any moves: a guest still booting dirties
   * memory all the time (more pre-copy rounds, a longer switchover). */
  const boot = async (names: string[]): Promise<Record<string, { id: string }>> => {
    const vms: Record<string, { id: string }> = {};
    for (const name of names) vms[name] = await cluster.createGuestVm(a, name);
    for (const name of names) {
      const con = await openConsole(cluster, vms[name]!.id);
      await con.waitFor('QUANTIX-TEST-GUEST READY', 180_000);
      con.close();
    }
    return vms;
  };
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
  const viaVdc = async (name: string, id: string): Promise<Figure> => {
    const before = load();
    const started = await api.request<TaskDto>('POST', `/api/v1/vms/${id}/migrate`, {
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
    const job = `libvirt job ${stats.time_elapsed ?? '?'} ms of the ${Math.round(total)} ms virsh migrate`;
    return { total, downtime: stats.downtime ?? 0, load: `${before}→${after}`, phases: job };
  };
  const f = (n: number) => `${Math.round(n)} ms`;
  const line = (label: string, x: Figure) =>
    console.log(`${label.padEnd(46)} total ${f(x.total)}, downtime ${f(x.downtime)}  (load ${x.load}, ${cpus} cores)`);
  const ratio = (x: Figure, y: Figure) =>
    `total ${(x.total / y.total).toFixed(2)}x, downtime ${(x.downtime / Math.max(1, y.downtime)).toFixed(2)}x`;

  // The references, and the vDC's first move (both hosts get their migration certificate).
  const refs = await boot(['qxc-bench-first', 'qxc-bench-tls', 'qxc-bench-mfd', 'qxc-bench-ref']);
  const first = await viaVdc('qxc-bench-first', refs['qxc-bench-first']!.id);
  // The certificates that first vDC migration put in place on both hosts.
  const tls = ['--tls', '--tls-destination', migrationTlsName(b.id), '--listen-address', B_IP];
  const withTls = await bareMigrate('qxc-bench-tls', tls);
  const multifd = await bareMigrate('qxc-bench-mfd', [...tls, '--parallel', '--parallel-connections', '2']);
  const plainRef = await bareMigrate('qxc-bench-ref', []);
  line('vDC, first (issues both hosts a certificate):', first);
  console.log(`vDC first ${first.phases}`);
  line('bare virsh --tls:', withTls);
  line('bare virsh --tls --parallel-connections 2:', multifd);
  line('bare virsh qemu+tcp (plain):', plainRef);

  const ratios: { total: number; downtime: number }[] = [];
  for (let r = 0; r < rounds; r++) {
    const vms = await boot([`qxc-bench-vdc${r}`, `qxc-bench-bare${r}`]);
    const vdcMove = () => viaVdc(`qxc-bench-vdc${r}`, vms[`qxc-bench-vdc${r}`]!.id);
    const bareMove = () => bareMigrate(`qxc-bench-bare${r}`, []);
    let vdc: Figure;
    let plain: Figure;
    if (r % 2) {
      plain = await bareMove();
      vdc = await vdcMove();
    } else {
      vdc = await vdcMove();
      plain = await bareMove();
    }
    line(`round ${r + 1}: vDC`, vdc);
    line(`round ${r + 1}: bare virsh qemu+tcp (plain)`, plain);
    console.log(`round ${r + 1}: vDC ${vdc.phases}; bare: ${plain.phases}; vDC / bare plain: ${ratio(vdc, plain)}`);
    ratios.push({ total: vdc.total / plain.total, downtime: vdc.downtime / Math.max(1, plain.downtime) });
  }
  for (const l of a.agent.output().split('\n')) if (l.includes('switched over')) console.log(`source agent: ${l}`);
  console.log(`uptime: ${(await exec('uptime')).stdout.trim()}`);
  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[xs.length >> 1]!;
  const each = (key: 'total' | 'downtime') => ratios.map((x) => x[key].toFixed(2)).join(', ');
  console.log(`each round's vDC / bare plain: total ${each('total')}; downtime ${each('downtime')}`);
  console.log(
    `ratio vDC / bare plain, median of ${rounds} rounds: total ${median(ratios.map((x) => x.total)).toFixed(2)}x, ` +
      `downtime ${median(ratios.map((x) => x.downtime)).toFixed(2)}x (targets: total <= 1.1x, downtime <= 1.2x)`,
  );
  console.log(`reference: vDC first / bare plain: ${ratio(first, plainRef)}`);
  console.log(`reference: bare --tls / bare plain: ${ratio(withTls, plainRef)}`);
  console.log(`reference: bare --tls multifd(2) / bare --tls: ${ratio(multifd, withTls)}`);
} finally {
  await cluster.stop();
}
