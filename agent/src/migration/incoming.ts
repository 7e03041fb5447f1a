// The destination side of a live migration: PrepareIncoming creates the target volumes through the
// pool layer, QEMU's TLS files (qemu-tls.ts: the incoming QEMU's ports demand a vDC certificate) and
// a one-time ticket (bound to the VM, the source host and an expiry); a pipe or Tunnel connection
// with that ticket, from that source's agent certificate, reaches only this host's libvirtd.
// AbortIncoming (or the agent's next start) removes what a migration that did not complete left:
// its domain, volumes and record.
import { randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { connect, isIP } from 'node:net';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { status, type ServerDuplexStream } from '@grpc/grpc-js';
import { writeFileAtomic } from '@quantix/proto/fs/atomic-file.js';
import type {
  AbortIncomingResponse,
  MigrationDisk,
  PrepareIncomingRequest,
  PrepareIncomingResponse,
  TunnelChunk,
} from '@quantix/proto/v1/migration.js';
import type { AgentContext } from '../context.js';
import { AgentError, failedPrecondition, invalidArgument } from '../errors.js';
import { agentHostIdOf } from '../identity/agent-certificate.js';
import { volumeFormatNames } from '../enum-names.js';
import { log } from '../log.js';
import { run } from '../exec/run.js';
import { validateName } from '../validate/name.js';
import {
  checkMigrationId,
  CHANNELS,
  libvirtSocket,
  listRecords,
  recordDir,
  removeSocketDir,
  type Channel,
} from './migration-paths.js';
import { writeQemuTlsFiles } from './qemu-tls.js';
import { pipeTunnel, type TunnelCall } from './tunnel-pipe.js';
import { parseJobStats } from './job-stats.js';
import { openPipeServer } from './tls-pipe.js';

/** A prepared migration must start tunnelling within this long. */
const TICKET_LIFETIME_MS = 10 * 60_000;

interface IncomingRecord {
  id: string;
  vmName: string;
  sourceHostId: string;
  ticket: string;
  expiresAt: number;
  /** Volumes this migration created ("pool/volume"), removed unless it completes. */
  created: { pool: string; volume: string }[];
}

export class IncomingMigrations {
  private readonly records = new Map<string, IncomingRecord>();
  private readonly open = new Map<string, number>();
  /** Each prepared migration's mutual-TLS pipe port (tls-pipe.ts), closed when it ends. */
  private readonly pipes = new Map<string, { port: number; close(): void }>();

  constructor(private readonly ctx: AgentContext) {}

  async prepare(req: PrepareIncomingRequest): Promise<PrepareIncomingResponse> {
    const id = checkMigrationId(req.migrationId);
    validateName('vm_name', req.vmName);
    if (!req.sourceHostId) throw invalidArgument('source_host_id', 'is required');
    if (req.sourceHostId === this.ctx.identity.hostId)
      throw invalidArgument('source_host_id', 'is this host: a live migration goes to another host');
    if (this.records.has(id)) throw new AgentError('ALREADY_EXISTS', `migration ${id} is already prepared here`);
    if (await this.domainState(req.vmName))
      throw failedPrecondition(`a VM named ${req.vmName} already exists on this host`);
    const record: IncomingRecord = {
      id,
      vmName: req.vmName,
      sourceHostId: req.sourceHostId,
      ticket: randomBytes(32).toString('base64url'),
      expiresAt: Date.now() + TICKET_LIFETIME_MS,
      created: [],
    };
    this.records.set(id, record);
    const disks: MigrationDisk[] = [];
    try {
      await this.save(record);
      for (const [i, d] of req.disks.entries()) {
        const format = volumeFormatNames.value(d.format);
        if (format === undefined) throw invalidArgument(`disks[${i}].format`, `"${d.format}" is not qcow2 or raw`);
        const volume = await this.ctx.volumes.create({
          pool: req.pool,
          name: d.sourceVolume,
          format,
          capacityBytes: d.capacityBytes,
        });
        record.created.push({ pool: req.pool, volume: volume.name });
        await this.save(record);
        disks.push({ ...d, destPool: req.pool, destVolume: volume.name, destPath: volume.path });
      }
      await writeQemuTlsFiles(this.ctx);
      await this.openPipe(record);
    } catch (err) {
      await this.abort(id);
      throw err;
    }
    setTimeout(() => {
      if (this.records.has(id) && !this.open.get(id)) void this.abort(id).catch(() => undefined);
    }, TICKET_LIFETIME_MS).unref();
    return {
      ticket: record.ticket,
      disks,
      tunnelPort: this.pipes.get(id)?.port ?? 0,
      migrationHost: await this.migrationHost(req.sourceHost),
    };
  }

  /**
   * Ends the incoming side. The domain runs here: the migration completed, nothing is removed.
   * Otherwise the half-arrived domain, the created volumes, the sockets and the record go.
   */
  async abort(id: string): Promise<AbortIncomingResponse> {
    checkMigrationId(id);
    const record = this.records.get(id) ?? (await this.load(id));
    this.pipes.get(id)?.close();
    this.pipes.delete(id);
    if (!record) return { completed: false, downtimeMs: 0, totalMs: 0 };
    this.records.delete(id);
    // The three queries at once: this runs in the migration's measured time.
    const [state, jobActive, completedStats] = await Promise.all([
      this.domainState(record.vmName),
      this.incomingJobActive(record.vmName),
      this.completedStats(record.vmName),
    ]);
    let completed = false;
    if (state === 'running' && !jobActive) {
      completed = true;
    } else if (state) {
      // libvirt removes a failed incoming domain itself; one still there is destroyed.
      await this.ctx.virsh.exec(['domjobabort', record.vmName]).catch(() => undefined);
      await this.ctx.virsh.exec(['destroy', record.vmName]).catch(() => undefined);
      await this.ctx.virsh.exec(['undefine', record.vmName, '--nvram']).catch(() => undefined);
    }
    const stats = completed ? completedStats : { downtimeMs: 0, totalMs: 0 };
    if (!completed) {
      for (const v of record.created) {
        const r = await this.ctx.volumes.deleteUnlessHeld(v.pool, v.volume).catch((err: unknown) => ({
          kept: err instanceof Error ? err.message : String(err),
        }));
        if (r.kept) log.warn('migration: a volume it created was kept', { migration: id, volume: v, why: r.kept });
      }
    }
    await removeSocketDir(id);
    await rm(this.file(id), { force: true });
    log.info(completed ? 'incoming migration completed' : 'incoming migration removed', { migration: id });
    return { completed, ...stats };
  }

  /** At agent start: migrations that were in flight when it stopped are finished or removed. */
  async recover(): Promise<void> {
    for (const id of await listRecords(this.ctx.config.dataDir, 'incoming')) {
      await this.abort(id).catch((err: unknown) => log.warn('migration: recovery failed', { id, err: String(err) }));
    }
  }

  /** A Tunnel call: the first message opens it (ticket, channel); then bytes both ways. */
  tunnel(call: ServerDuplexStream<TunnelChunk, TunnelChunk>): void {
    call.once('data', (first: TunnelChunk) => {
      try {
        const target = this.admit(call, first);
        const sock = connect(target);
        const id = (first.msg as { value: { migrationId: string } }).value.migrationId;
        this.open.set(id, (this.open.get(id) ?? 0) + 1);
        pipeTunnel(sock, call as unknown as TunnelCall, () => this.open.set(id, (this.open.get(id) ?? 1) - 1));
      } catch (err) {
        call.emit('error', {
          code: status.PERMISSION_DENIED,
          details: err instanceof Error ? err.message : String(err),
        });
      }
    });
  }

  /** The migration's pipe port: only its source agent's vDC certificate, then its ticket. */
  private async openPipe(record: IncomingRecord): Promise<void> {
    const caPem = this.ctx.membership.caCertificatePem;
    if (!caPem) throw failedPrecondition('this host is not joined to a vDC');
    const id = record.id;
    const pipe = await openPipeServer({
      host: this.ctx.config.listenHost,
      keyPem: this.ctx.identity.keyPem,
      certPem: this.ctx.identity.certPem,
      caPem,
      admission: {
        migrationId: id,
        ticket: record.ticket,
        sourceHostId: record.sourceHostId,
        target: (channel) => {
          if (!this.records.has(id)) throw new Error('the migration ended');
          if (Date.now() > record.expiresAt && !this.open.get(id)) throw new Error('the ticket expired');
          return this.targetOf(channel);
        },
      },
      onOpen: () => this.open.set(id, (this.open.get(id) ?? 0) + 1),
      onClose: () => this.open.set(id, (this.open.get(id) ?? 1) - 1),
    });
    this.pipes.set(id, pipe);
  }

  /**
   * The address the source reaches this host on: the agent's own listen address when it names one,
   * else the source address of the route towards the source (an agent on 0.0.0.0 whose server
   * talks to it over a UNIX socket — the appliance's own host — has no address in the vDC).
   */
  private async migrationHost(sourceHost: string): Promise<string> {
    const listen = this.ctx.config.listenHost;
    if (listen && !['0.0.0.0', '::', '[::]'].includes(listen)) return listen;
    if (!sourceHost) return '';
    if (!isIP(sourceHost)) throw invalidArgument('source_host', `"${sourceHost}" is not an IP address`);
    const out = await run('ip', ['-j', 'route', 'get', sourceHost], { timeoutMs: 10_000 }).catch(() => undefined);
    const routes = out ? (JSON.parse(out.stdout) as { prefsrc?: string }[]) : [];
    return routes[0]?.prefsrc ?? '';
  }

  private targetOf(channel: string): string {
    if (!CHANNELS.includes(channel as Channel)) throw new Error(`unknown channel "${channel}"`);
    return libvirtSocket(this.ctx.config.libvirtUri);
  }

  private admit(call: ServerDuplexStream<TunnelChunk, TunnelChunk>, first: TunnelChunk): string {
    if (first.msg?.$case !== 'open') throw new Error('a tunnel starts with its open message');
    const { migrationId, ticket, channel } = first.msg.value;
    const record = this.records.get(migrationId);
    const raw = call.getAuthContext()?.sslPeerCertificate?.raw;
    const peer = raw ? agentHostIdOf(new X509Certificate(raw)) : undefined;
    const given = Buffer.from(ticket);
    const expected = Buffer.from(record?.ticket ?? '');
    if (!record || given.length !== expected.length || !timingSafeEqual(given, expected))
      throw new Error('unknown migration or wrong ticket');
    if (Date.now() > record.expiresAt && !this.open.get(migrationId)) throw new Error('the ticket expired');
    if (peer !== record.sourceHostId) throw new Error("only the migration's source agent may open its tunnels");
    return this.targetOf(channel);
  }

  private async domainState(name: string): Promise<string | undefined> {
    try {
      return (await this.ctx.virsh.exec(['domstate', name])).trim();
    } catch {
      return undefined;
    }
  }

  private async incomingJobActive(name: string): Promise<boolean> {
    const out = await this.ctx.virsh.exec(['domjobinfo', name]).catch(() => '');
    return /Job type:\s+(Unbounded|Bounded)/.test(out);
  }

  /** The completed incoming job's figures (libvirt keeps them on the destination domain). */
  private async completedStats(name: string): Promise<{ downtimeMs: number; totalMs: number }> {
    const out = await this.ctx.virsh.exec(['domjobinfo', '--completed', '--rawstats', name]).catch(() => '');
    const stats = parseJobStats(out);
    return { downtimeMs: stats.downtime ?? 0, totalMs: stats.time_elapsed ?? 0 };
  }

  private file(id: string): string {
    return join(recordDir(this.ctx.config.dataDir, 'incoming'), `${id}.json`);
  }

  private async save(r: IncomingRecord): Promise<void> {
    await mkdir(recordDir(this.ctx.config.dataDir, 'incoming'), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.file(r.id), JSON.stringify(r), 0o600);
  }

  private async load(id: string): Promise<IncomingRecord | undefined> {
    try {
      return JSON.parse(await readFile(this.file(id), 'utf8')) as IncomingRecord;
    } catch {
      return undefined;
    }
  }
}
