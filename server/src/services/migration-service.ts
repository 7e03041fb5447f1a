// Moving a VM (#20): migrate() checks the request with the preflight, locks the VM, starts a
// cancellable task and dispatches it — live here, cold to cold-migration.ts, a storage move to
// storage-move.ts. Live: both hosts get a vDC migration certificate for their own key (QEMU's TLS
// between them, the agents' pipe for libvirt's control connection) while the source plans and the
// destination prepares (volumes, ticket), all at once; the source migrates; on failure or cancel
// the destination removes what arrived, so exactly one copy runs; the inventory follows the VM.
// A leader that stops mid-migration leaves the source agent's job running: the next leader follows
// it to its end (followLive) from what the task recorded.
import { randomUUID } from 'node:crypto';
import { issueCertificateForKeyOf } from '@quantix/proto/tls/certificates.js';
import { migrationTlsName } from '@quantix/proto/tls/migration-tls.js';
import type { AgentClient } from '../agents/agent-client.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { HostConnection } from '../agents/host-connection.js';
import type { MigrateProgress, PlanOutgoingResponse, PrepareIncomingResponse } from '@quantix/proto/v1/migration.js';
import { volumeFormat } from './proto-enums.js';
import { VmState } from '@quantix/proto/v1/vm.js';
import type { MigrateVmDto, MigrationResultDto, MigrationTargetDto } from '../dto/migrations.js';
import type { TaskDto } from '../dto/tasks.js';
import { conflict, HttpError } from '../errors.js';
import { log } from '../log.js';
import type { HostRecord, TaskRecord, VdcRecord } from '../store/records.js';
import type { MigrationPlan, MigrationPreflight } from './migration-preflight.js';
import type { TaskContext, TaskService } from './task-service.js';
import { moveStorage } from './storage-move.js';
import { coldMigrate } from './cold-migration.js';

/** What moves a VM once the preflight passed (live here, cold and storage move from MIG-COLD). */
export type Mover = (plan: MigrationPlan, t: TaskContext, signal: AbortSignal, opts: MoveOptions) => Promise<unknown>;

export interface MoveOptions {
  bandwidthMibPerS?: number;
  /** A live migration's id, chosen by the caller that must be able to follow it after a restart. */
  migrationId?: string;
}

/** How long the destination's cleanup is retried after a failed migration (it may be unreachable). */
const CLEANUP_RETRY_MS = 10 * 60_000;
const CLEANUP_EVERY_MS = 2_000;
/** Half of the migration certificate's day. */
const CREDENTIAL_REUSE_MS = 12 * 3_600_000;
/** How long a leader that took over waits for a migration's hosts to be online to learn its end. */
const FOLLOW_WAIT_MS = 10 * 60_000;
const LIVE_KIND = 'vm.migrate.live';

/** What the next leader needs to follow a live migration (recorded as its task's handover). */
type LiveHandover = { migrationId: string; targetHostId: string; pool: string; sourcePools: string[]; disks: number };

export class MigrationService {
  /** Set by compose.ts once cold-migration.ts exists. */
  coldMover: Mover | undefined = (plan, t, signal, opts) => coldMigrate(plan, t, signal, opts);
  storageMover: Mover = (plan, t, signal, opts) => moveStorage(plan, t, signal, opts);
  /** Hosts given a migration certificate lately (by host id), for credential(). */
  private readonly credentials = new Map<string, { fingerprint: string; until: number }>();

  constructor(
    private readonly preflight: MigrationPreflight,
    private readonly tasks: TaskService,
    private readonly vdc: VdcRecord,
    private readonly pool: AgentPool,
  ) {
    tasks.follow(LIVE_KIND, (rec, t) => this.followLive(rec, t));
  }

  async migrate(id: string, req: MigrateVmDto, user: string, opts: { migrationId?: string } = {}): Promise<TaskDto> {
    const plan = await this.preflight.check(id, req);
    const mover: Mover | undefined = plan.storageMove
      ? this.storageMover
      : plan.mode === 'live'
        ? (p, t, signal, opts) => this.live(p, t, signal, opts)
        : this.coldMover;
    if (!mover) throw conflict('cold migration is not available on this server yet');
    const what = plan.storageMove
      ? `storage move to pool ${plan.pool}`
      : `${plan.mode} migration to ${plan.target.record.name}`;
    const kind = plan.storageMove ? 'vm.storage-move' : `vm.migrate.${plan.mode}`;
    // Chosen here: the task records it, so that the next leader can follow the migration.
    const migrationId = kind === LIVE_KIND ? (opts.migrationId ?? randomUUID()) : opts.migrationId;
    const handover: LiveHandover | undefined =
      migrationId && kind === LIVE_KIND
        ? {
            migrationId,
            targetHostId: plan.target.record.id,
            pool: plan.pool,
            sourcePools: [...new Set(plan.disks.map((d) => d.pool))],
            disks: plan.disks.length,
          }
        : undefined;
    this.preflight.locks.acquire(plan.uuid, what);
    try {
      const { dto } = await this.tasks.start(
        {
          kind,
          target: { type: 'vm', id: plan.uuid, name: plan.name },
          hostId: plan.source.record.id,
          user,
          cancellable: true,
          handover,
        },
        async (t) => {
          try {
            return await mover(plan, t, t.signal, { bandwidthMibPerS: req.bandwidthMibPerS, migrationId });
          } finally {
            this.preflight.locks.release(plan.uuid);
          }
        },
      );
      return dto;
    } catch (err) {
      this.preflight.locks.release(plan.uuid);
      throw err;
    }
  }

  /** Placement's preview for each host of the vDC (GET …/migrate/targets). */
  targets(id: string): Promise<MigrationTargetDto[]> {
    return this.preflight.targets(id);
  }

  /**
   * Gives host `h` its credential towards the other end: a vDC certificate for its own key, agent
   * role (the pipe), server and client of QEMU's migration TLS, named after its host id. Valid a
   * day; reused while at least half of that is left and the host's key is the same.
   */
  private async credential(client: AgentClient, h: HostRecord): Promise<void> {
    const known = this.credentials.get(h.id);
    if (known && known.fingerprint === h.fingerprint && known.until > Date.now()) return;
    const ca = { keyPem: this.vdc.caKeyPem, certPem: this.vdc.caCertPem };
    const pem = await issueCertificateForKeyOf(ca, h.certificatePem, {
      commonName: `quantix agent ${h.name}`,
      uris: [`urn:quantix:agent:${h.id}`],
      dnsNames: [migrationTlsName(h.id)],
      days: 1,
      usages: ['server', 'client'],
    });
    await client.setAgentCertificate(pem);
    this.credentials.set(h.id, { fingerprint: h.fingerprint, until: Date.now() + CREDENTIAL_REUSE_MS });
  }

  /** 409 "VM is being migrated" while a move holds the VM (lifecycle operations call this). */
  refuseWhileMoving(uuid: string): void {
    const holder = this.preflight.locks.holder(uuid);
    if (holder) throw conflict(`VM is being migrated (${holder})`);
  }

  private async live(
    plan: MigrationPlan,
    t: TaskContext,
    signal: AbortSignal,
    opts: MoveOptions,
  ): Promise<MigrationResultDto> {
    const started = Date.now();
    const from = plan.source.record;
    const to = plan.target.record;
    const src = plan.source.requireOnline();
    const dst = plan.target.requireOnline();
    const migrationId = opts.migrationId ?? randomUUID();
    t.log(`live migration of ${plan.name} from ${from.name} to ${to.name}, disks into pool ${plan.pool}`);
    t.progress(0, 'preparing');
    const marks: [string, number][] = [['start', started]];
    const mark = (phase: string) => marks.push([phase, Date.now()]);
    // Everything before the copy at once: both credentials, the source's plan and the destination's
    // volumes (made from the preflight's view of the disks, checked against the plan below).
    const srcCredential = this.credential(src, from);
    const dstCredential = this.credential(dst, to);
    const planning = src.planOutgoing(plan.name);
    const preparing = dstCredential.then(() =>
      dst.prepareIncoming({
        migrationId,
        vmName: plan.name,
        sourceHostId: from.id,
        pool: plan.pool,
        disks: plan.disks.map((d) => ({
          target: '',
          sourcePool: d.pool,
          sourceVolume: d.volume,
          sourcePath: '',
          capacityBytes: d.capacityBytes,
          format: volumeFormat.str(d.format),
          destPool: '',
          destVolume: '',
          destPath: '',
        })),
        sourceHost: networkHost(from.address),
      }),
    );
    const [prep, out, ...creds] = await Promise.allSettled([preparing, planning, srcCredential, dstCredential]);
    mark('plan and prepare');
    const failed = [prep, out, ...creds].find((r) => r.status === 'rejected');
    if (failed || signal.aborted) {
      if (creds.some((r) => r.status === 'rejected')) this.credentials.clear();
      if (prep.status === 'fulfilled') await cleanupIncoming(dst, migrationId, plan.name);
      if (signal.aborted) throw new HttpError(409, `cancelled: ${plan.name} keeps running on ${from.name}`);
      throw (failed as PromiseRejectedResult).reason;
    }
    const prepared = (prep as PromiseFulfilledResult<PrepareIncomingResponse>).value;
    const outgoing = (out as PromiseFulfilledResult<PlanOutgoingResponse>).value;
    t.log(`${to.name} prepared ${prepared.disks.length} volume(s) in pool ${plan.pool}`);
    try {
      // The source's disks as it plans them, each with the volume the destination made for it.
      const disks = outgoing.disks.map((d) => {
        const made = prepared.disks.find((p) => p.sourcePool === d.sourcePool && p.sourceVolume === d.sourceVolume);
        if (!made)
          throw new HttpError(
            409,
            `the disks of ${plan.name} changed since the check (${d.sourcePool}/${d.sourceVolume}): try again`,
          );
        return { ...d, destPool: made.destPool, destVolume: made.destVolume, destPath: made.destPath };
      });
      if (disks.length !== prepared.disks.length)
        throw new HttpError(409, `the disks of ${plan.name} changed since the check: try again`);
      const destMigrationHost = prepared.migrationHost || networkHost(to.address);
      if (!destMigrationHost) throw new HttpError(409, `${to.name} has no network address ${from.name} can reach`);
      const hasDisks = disks.length > 0;
      let switchedAt: number | undefined;
      await src.migrateOut(
        {
          migrationId,
          vmName: plan.name,
          destAddress: to.address,
          destCertificatePem: to.certificatePem,
          ticket: prepared.ticket,
          disks,
          bandwidthMibs: opts.bandwidthMibPerS ?? 0,
          tunnelPort: prepared.tunnelPort,
          destHostId: to.id,
          destMigrationHost,
        },
        (p) => {
          // The VM runs on the destination: the migration's total ends here (the source's disk
          // deletion and the destination's check below are cleanup, logged as such).
          if (p.phase === 'switched') switchedAt ??= Date.now();
          showProgress(t, p, hasDisks);
        },
        signal,
      );
      switchedAt ??= Date.now();
      marks.push(['migrate', switchedAt], ['source cleanup', Date.now()]);
      const end = await dst.abortIncoming(migrationId);
      mark('destination check');
      t.log(
        `phases (ms): ${marks
          .slice(1)
          .map(([p, at], i) => `${p} ${at - marks[i]![1]}`)
          .join(', ')}; libvirt job ${end.totalMs}`,
      );
      if (!end.completed) throw new HttpError(502, `${plan.name} does not run on ${to.name} after the migration`);
      t.log(`${plan.name} runs on ${to.name}; downtime ${end.downtimeMs} ms`);
      return {
        vmId: plan.uuid,
        totalMs: switchedAt - started,
        downtimeMs: end.downtimeMs,
        from: { hostId: from.id, pools: [...new Set(outgoing.disks.map((d) => d.sourcePool))] },
        to: { hostId: to.id, pool: plan.pool },
      };
    } catch (err) {
      // A host that lost its certificate (reset, re-joined) gets a fresh one next time.
      this.credentials.delete(from.id);
      this.credentials.delete(to.id);
      t.progress(null, 'cleaning up');
      await cleanupIncoming(dst, migrationId, plan.name);
      if (signal.aborted) throw new HttpError(409, `cancelled: ${plan.name} keeps running on ${from.name}`);
      throw err;
    } finally {
      await plan.source.refreshVm(plan.uuid).catch(() => undefined);
      await plan.target.refreshVm(plan.uuid).catch(() => undefined);
    }
  }

  /**
   * A live migration whose leader stopped before it ended (TaskService.follow): the source agent's
   * job ran on without it. Followed to its end; then the destination keeps the VM (it arrived) or
   * removes what arrived, so exactly one copy runs, and the task ends as the migration did.
   */
  private async followLive(rec: TaskRecord, t: TaskContext): Promise<MigrationResultDto> {
    const h = rec.handover as LiveHandover;
    const { id: uuid, name } = rec.target;
    this.preflight.locks.acquire(uuid, 'live migration followed after a failover');
    let src: HostConnection | undefined;
    let dst: HostConnection | undefined;
    try {
      src = await this.online(rec.hostId!);
      dst = await this.online(h.targetHostId);
      // A cancel asked while the hosts were still being connected to counts as well.
      const cancel = () => void src!.client.cancelOutgoing(h.migrationId).catch(() => undefined);
      if (t.signal.aborted) cancel();
      else t.signal.addEventListener('abort', cancel, { once: true });
      let error = '';
      const final = await src.client
        .followOutgoing(h.migrationId, (p) => showProgress(t, p, h.disks > 0))
        .catch((err: unknown) => void (error = err instanceof Error ? err.message : String(err)))
        .finally(() => t.signal.removeEventListener('abort', cancel));
      t.progress(null, 'destination check');
      const end = await dst.client.abortIncoming(h.migrationId).catch(async (err: unknown) => {
        await cleanupIncoming(dst!.client, h.migrationId, name);
        throw err;
      });
      // An evacuation resumed at the same time may have ended the destination's side first: then
      // where the VM runs says how the migration ended.
      if (!end.completed && (await dst.refreshVm(uuid))?.state !== VmState.VM_STATE_RUNNING) {
        if (t.signal.aborted) throw new HttpError(409, `cancelled: ${name} keeps running on ${src.record.name}`);
        throw new HttpError(409, `${name} did not move${error ? ` (${error})` : ''}: it stays on ${src.record.name}`);
      }
      t.log(`${name} runs on ${dst.record.name}; downtime ${end.downtimeMs} ms`);
      return {
        vmId: uuid,
        totalMs: final?.totalMs ?? end.totalMs,
        downtimeMs: end.downtimeMs,
        from: { hostId: src.record.id, pools: h.sourcePools },
        to: { hostId: dst.record.id, pool: h.pool },
      };
    } finally {
      this.preflight.locks.release(uuid);
      await src?.refreshVm(uuid).catch(() => undefined);
      await dst?.refreshVm(uuid).catch(() => undefined);
    }
  }

  /** Host `id` once this server has connected to it (it has just become leader). */
  private async online(id: string): Promise<HostConnection> {
    const until = Date.now() + FOLLOW_WAIT_MS;
    for (;;) {
      const c = this.pool.find(id);
      if (c?.online) return c;
      if (Date.now() > until)
        throw new HttpError(503, `host ${c?.record.name ?? id} is not reachable: how the migration ended is unknown`);
      await new Promise((r) => setTimeout(r, 500).unref());
    }
  }
}

/** A live migration's figures as its task shows them (the disks' copy first, then the memory). */
function showProgress(t: TaskContext, p: MigrateProgress, hasDisks: boolean): void {
  t.detail({ diskPercent: p.diskPercent, memoryPercent: p.memoryPercent, expectedDowntimeMs: p.expectedDowntimeMs });
  t.progress(hasDisks ? p.diskPercent * 0.5 + p.memoryPercent * 0.49 : p.memoryPercent * 0.99, p.phase);
}

/** The host of a "host:port" / "[v6]:port" agent address; "" for a UNIX socket (unix:/path). */
function networkHost(address: string): string {
  if (address.startsWith('unix:')) return '';
  const m = /^\[([^\]]+)\]:\d+$/.exec(address) ?? /^([^:]+):\d+$/.exec(address);
  return m?.[1] ?? '';
}

/**
 * Tells the destination to remove what a failed migration left; when it cannot be reached now
 * (agent down, link cut) this keeps trying in the background (the agent also cleans up at start).
 */
async function cleanupIncoming(dst: AgentClient, migrationId: string, vm: string): Promise<void> {
  const attempt = () => dst.abortIncoming(migrationId).then(() => true);
  if (await attempt().catch(() => false)) return;
  const until = Date.now() + CLEANUP_RETRY_MS;
  const retry = () => {
    setTimeout(() => {
      attempt().then(
        () => log.info('migration: destination cleaned up', { vm, migrationId }),
        () => (Date.now() < until ? retry() : log.warn('migration: destination cleanup gave up', { vm, migrationId })),
      );
    }, CLEANUP_EVERY_MS).unref();
  };
  retry();
}
