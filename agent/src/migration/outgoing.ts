// The source side of a live migration: `virsh migrate --live --copy-storage-all --tls`. The memory
// and NBD disk streams go QEMU to QEMU with QEMU's own TLS (vDC certificates both ways, the
// destination's named after its host id: qemu-tls.ts); only libvirt's control connection goes
// through a private UNIX socket and the agents' mutual-TLS pipe (the destination's pinned
// certificate, our vDC agent certificate, the ticket it issued), with the pipe's heartbeat watching
// the link. Progress from the job's figures; cancelling aborts the job (the VM keeps running here).
// After success the old disks are deleted through the pool layer, unless something else holds them.
import { createServer, type Server } from 'node:net';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import {
  MigrationServiceClient,
  type MigrateOutRequest,
  type MigrateProgress,
  type PlanOutgoingResponse,
} from '@quantix/proto/v1/migration.js';
import { migrationTlsName } from '@quantix/proto/tls/migration-tls.js';
import { pinnedCredentials } from '@quantix/proto/tls/pinned-credentials.js';
import type { AgentContext } from '../context.js';
import { AgentError, failedPrecondition, invalidArgument } from '../errors.js';
import { readAgentCertificate } from '../identity/agent-certificate.js';
import { volumeFormatNames } from '../enum-names.js';
import { Virsh } from '../libvirt/virsh.js';
import type { PoolRecord } from '../storage/storage-kind.js';
import { readDomainXml } from '../libvirt/xml/domain-parse.js';
import { refuseOnOverlays } from '../backup/backup-snapshot.js';
import { log } from '../log.js';
import { run } from '../exec/run.js';
import { validateName } from '../validate/name.js';
import { rewriteDisks } from './domain-rewrite.js';
import { parseJobStats, progressOf } from './job-stats.js';
import {
  checkMigrationId,
  CHANNELS,
  listRecords,
  makeSocketDir,
  recordDir,
  removeSocketDir,
  socketDir,
} from './migration-paths.js';
import { writeQemuTlsFiles } from './qemu-tls.js';
import { pipeTunnel, type TunnelCall } from './tunnel-pipe.js';
import { dialHeartbeat, dialPipe } from './tls-pipe.js';

const POLL_MS = 1_000;
const MIGRATE_TIMEOUT_MS = 24 * 3_600_000;
/** How long an agent start waits for the job of a migration it no longer drives to end. */
const JOB_END_WAIT_MS = 60_000;

export class OutgoingMigrations {
  /** recover(): a migration starts only once the jobs of interrupted ones have ended. */
  private recovering: Promise<void> = Promise.resolve();

  constructor(private readonly ctx: AgentContext) {}

  /** The VM's disks (pool, volume, size, format) and networks, as the destination must provide them. */
  async plan(vmName: string): Promise<PlanOutgoingResponse> {
    validateName('vm_name', vmName);
    const xml = readDomainXml(await this.ctx.virsh.exec(['dumpxml', vmName]));
    refuseOnOverlays(vmName, xml.disks, 'migrate it');
    // This agent's pools first; libvirt's other directory pools (more virsh calls) only when needed.
    const ours = await this.ctx.pools.activeRecords();
    let others: PoolRecord[] | undefined;
    const poolOf = async (dir: string) =>
      ours.find((p) => p.path === dir) ?? (others ??= await this.ctx.pools.volumePools()).find((p) => p.path === dir);
    const disks = [];
    for (const d of xml.disks) {
      const file = d.source.file;
      if (d.device === 'cdrom') {
        if (file) throw failedPrecondition(`VM ${vmName} has media in CD-ROM ${d.dev}: eject it first`);
        continue;
      }
      if (!file) throw failedPrecondition(`VM ${vmName}'s disk ${d.dev} is not a file in a pool`);
      const pool = await poolOf(dirname(file));
      if (!pool) throw failedPrecondition(`VM ${vmName}'s disk ${d.dev} (${file}) is in no pool of this host`);
      // Its size and format; which VMs use it does not matter (this one does): no libvirt calls.
      const volume = await this.ctx.volumes.view(pool, basename(file), []);
      disks.push({
        target: d.dev,
        sourcePool: pool.name,
        sourceVolume: volume.name,
        sourcePath: file,
        capacityBytes: volume.capacityBytes,
        format: volumeFormatNames.name(volume.format) ?? 'raw',
        destPool: '',
        destVolume: '',
        destPath: '',
      });
    }
    const networks = [...new Set(xml.interfaces.filter((n) => n.type === 'network').map((n) => n.network))];
    return { disks, networks };
  }

  /** Runs the migration; `onProgress` hears the job's figures; aborting `signal` aborts the job. */
  async migrate(
    req: MigrateOutRequest,
    onProgress: (p: MigrateProgress) => void,
    signal: AbortSignal,
  ): Promise<MigrateProgress> {
    const id = checkMigrationId(req.migrationId);
    const vm = validateName('vm_name', req.vmName);
    await this.recovering.catch(() => undefined);
    if (!req.destAddress) throw invalidArgument('dest_address', 'is required');
    const destHost = req.destMigrationHost || hostOf(req.destAddress);
    if (!req.destHostId) throw invalidArgument('dest_host_id', 'is required');
    const certPem = await readAgentCertificate(this.ctx.config.dataDir);
    if (!certPem) throw failedPrecondition('this host has no agent certificate from its vDC yet');
    const record = join(recordDir(this.ctx.config.dataDir, 'outgoing'), `${id}.json`);
    await mkdir(dirname(record), { recursive: true, mode: 0o700 });
    await writeFile(record, JSON.stringify({ id, vm }), { mode: 0o600 });
    const dir = await makeSocketDir(id);
    // One HTTP/2 connection per tunnelled connection: a paused memory stream must never use up the
    // connection's flow-control window that libvirt's control connection (keepalives) needs.
    const clients = new Set<MigrationServiceClient>();
    const newClient = () => {
      const c = new MigrationServiceClient(
        req.destAddress,
        pinnedCredentials(req.destCertificatePem, { keyPem: this.ctx.identity.keyPem, certPem }),
        {
          'grpc.ssl_target_name_override': 'quantix-agent',
          'grpc.use_local_subchannel_pool': 1,
          'grpc.keepalive_time_ms': 10_000,
          'grpc.keepalive_timeout_ms': 10_000,
          'grpc.max_send_message_length': 8 * 1024 * 1024,
          'grpc.max_receive_message_length': 8 * 1024 * 1024,
        },
      );
      clients.add(c);
      return c;
    };
    const servers: Server[] = [];
    const calls = new Set<TunnelCall>();
    const pipes = new Set<{ destroy(): void }>();
    const started = Date.now();
    let settled = false;
    const abortJob = () => void this.ctx.virsh.exec(['domjobabort', vm]).catch(() => undefined);
    try {
      await writeQemuTlsFiles(this.ctx);
      for (const channel of CHANNELS) {
        const path = join(dir, `${channel}.sock`);
        const server = createServer((sock) => {
          if (req.tunnelPort) {
            // The bulk path: a raw mutual-TLS pipe to the destination's migration port.
            const pipe = dialPipe(
              sock,
              {
                host: destHost,
                port: req.tunnelPort,
                destCertPem: req.destCertificatePem,
                keyPem: this.ctx.identity.keyPem,
                certPem,
                ticket: req.ticket,
                channel,
              },
              () => pipes.delete(pipe),
            );
            pipes.add(pipe);
            return;
          }
          const client = newClient();
          const call = client.tunnel() as unknown as TunnelCall;
          calls.add(call);
          call.write({ msg: { $case: 'open', value: { migrationId: id, ticket: req.ticket, channel } } });
          pipeTunnel(sock, call, () => {
            calls.delete(call);
            clients.delete(client);
            client.close();
          });
        });
        servers.push(server);
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(path, () => resolve());
        });
        await chmod(path, 0o600);
      }
      const xml = rewriteDisks(
        await this.ctx.virsh.exec(['dumpxml', '--migratable', vm]),
        req.disks.map((d) => ({
          dev: d.target,
          sourcePath: d.sourcePath,
          destPath: d.destPath,
          destPool: d.destPool,
          destVolume: d.destVolume,
        })),
      );
      const xmlFile = join(dir, 'domain.xml');
      await writeFile(xmlFile, xml, { mode: 0o600 });
      const args = [
        'migrate',
        '--live',
        '--persistent',
        '--undefinesource',
        ...(req.disks.length
          ? ['--copy-storage-all', '--migrate-disks', req.disks.map((d) => d.target).join(',')]
          : []),
        '--xml',
        xmlFile,
        '--persistent-xml',
        xmlFile,
        // QEMU to QEMU: the destination listens on its agent's address only, TLS with a vDC
        // client certificate required; ours checks the destination's names its host id.
        '--tls',
        '--tls-destination',
        migrationTlsName(req.destHostId),
        '--migrateuri',
        `tcp://${destHost.includes(':') ? `[${destHost}]` : destHost}`,
        '--listen-address',
        destHost,
        ...(req.bandwidthMibs ? ['--bandwidth', String(req.bandwidthMibs)] : []),
        vm,
        `qemu+unix:///system?socket=${join(dir, 'libvirt.sock')}`,
      ];
      if (signal.aborted) throw new AgentError('FAILED_PRECONDITION', 'cancelled');
      signal.addEventListener('abort', abortJob, { once: true });
      if (req.tunnelPort) {
        const { keyPem } = this.ctx.identity;
        const dial = { host: destHost, port: req.tunnelPort, destCertPem: req.destCertificatePem, keyPem, certPem };
        pipes.add(
          dialHeartbeat({ ...dial, ticket: req.ticket }, () => {
            if (settled) return;
            log.warn('migration: the link to the destination died; the job is aborted', { vm });
            for (const p of pipes) p.destroy();
            void dropQemuStreams(destHost).finally(abortJob);
          }),
        );
      }
      const jobStarted = Date.now();
      const job = this.ctx.virsh.exec(args, { timeoutMs: MIGRATE_TIMEOUT_MS }).finally(() => (settled = true));
      void this.report(vm, () => settled, onProgress);
      try {
        await job;
      } catch (err) {
        if (signal.aborted) throw new AgentError('FAILED_PRECONDITION', 'cancelled: the VM keeps running here');
        throw failedPrecondition(`live migration of ${vm} failed: ${Virsh.message(err)}`);
      }
      const totalMs = Date.now() - started;
      // The VM runs on the destination now: the server's total ends here; what follows is cleanup.
      onProgress({
        phase: 'switched',
        diskPercent: 100,
        memoryPercent: 100,
        expectedDowntimeMs: 0,
        totalMs,
        downtimeMs: 0,
      });
      log.info('migration: switched over', { vm, setupMs: jobStarted - started, jobMs: Date.now() - jobStarted });
      for (const d of req.disks) {
        const r = await this.ctx.volumes.deleteUnlessHeld(d.sourcePool, d.sourceVolume).catch((err: unknown) => ({
          kept: err instanceof Error ? err.message : String(err),
        }));
        if (r.kept)
          log.warn('migration: source disk kept', { vm, volume: `${d.sourcePool}/${d.sourceVolume}`, why: r.kept });
      }
      return { phase: 'done', diskPercent: 100, memoryPercent: 100, expectedDowntimeMs: 0, totalMs, downtimeMs: 0 };
    } finally {
      signal.removeEventListener('abort', abortJob);
      for (const s of servers) s.close();
      for (const c of calls) c.destroy();
      for (const p of pipes) p.destroy();
      for (const c of clients) c.close();
      await removeSocketDir(id);
      await rm(record, { force: true });
    }
  }

  /**
   * At agent start, for each migration that was in flight when it stopped: its libvirt job is
   * aborted (the orphaned `virsh migrate` would otherwise keep it alive, and libvirt would refuse
   * the VM's next migration for as long), then its socket directory and record are removed.
   */
  recover(): Promise<void> {
    this.recovering = this.recoverRecords();
    return this.recovering;
  }

  private async recoverRecords(): Promise<void> {
    for (const id of await listRecords(this.ctx.config.dataDir, 'outgoing')) {
      const record = join(recordDir(this.ctx.config.dataDir, 'outgoing'), `${id}.json`);
      const vm = await readFile(record, 'utf8')
        .then((text) => (JSON.parse(text) as { vm?: unknown }).vm)
        .catch(() => undefined);
      if (typeof vm === 'string') await this.endJob(vm);
      await rm(socketDir(id), { recursive: true, force: true }).catch(() => undefined);
      await rm(record, { force: true });
    }
  }

  /** Aborts VM `vm`'s job, if it has one, and waits (bounded) until libvirt says it ended. */
  private async endJob(vm: string): Promise<void> {
    const until = Date.now() + JOB_END_WAIT_MS;
    await this.ctx.virsh.exec(['domjobabort', vm]).catch(() => undefined);
    while (Date.now() < until) {
      const info = await this.ctx.virsh.exec(['domjobinfo', vm], { timeoutMs: 10_000 }).catch(() => '');
      if (!/^Job type:\s+(Unbounded|Bounded)/m.test(info)) return;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    log.warn('migration: the job of an interrupted migration did not end', { vm });
  }

  private async report(vm: string, done: () => boolean, onProgress: (p: MigrateProgress) => void): Promise<void> {
    while (!done()) {
      await new Promise((r) => setTimeout(r, POLL_MS));
      if (done()) return;
      const out = await this.ctx.virsh.exec(['domjobinfo', vm, '--rawstats'], { timeoutMs: 10_000 }).catch(() => '');
      const stats = parseJobStats(out);
      if (stats.memory_total || stats.disk_total) onProgress(progressOf(stats));
    }
  }
}

/** libvirt's default migration_port_min/max (qemu.conf): QEMU's migration and NBD streams. */
const QEMU_MIGRATION_PORTS = [49152, 49215] as const;

/**
 * Closes this host's TCP connections to the destination's QEMU migration ports. Over a cut link
 * QEMU's own streams would retransmit for many minutes and the job's abort waits on them (the NBD
 * mirror's cancel); a destroyed socket fails them at once. ss -K (SOCK_DESTROY).
 */
async function dropQemuStreams(destHost: string): Promise<void> {
  const [min, max] = QEMU_MIGRATION_PORTS;
  const dst = destHost.includes(':') ? `[${destHost}]` : destHost;
  const filter = ['dst', dst, 'and', 'dport', 'ge', `:${min}`, 'and', 'dport', 'le', `:${max}`];
  await run('ss', ['-K', '-t', ...filter], { timeoutMs: 10_000 }).catch((err: unknown) =>
    log.warn('migration: could not close the streams to the destination', { destHost, err: String(err) }),
  );
}

/** The host part of an agent address ("10.0.0.2:7443", "[fd00::2]:7443"). */
function hostOf(address: string): string {
  const m = /^\[([^\]]+)\]:\d+$/.exec(address) ?? /^([^:]+):\d+$/.exec(address);
  if (!m) throw invalidArgument('dest_address', `"${address}" is not host:port`);
  return m[1]!;
}
