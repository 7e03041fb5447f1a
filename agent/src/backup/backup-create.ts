// Takes one backup of a VM into a pool of this host or of another host of the vDC (the target:
// backup-target.ts; a remote one is streamed to that host's agent, backup-send.ts). A running VM's
// full backup (#24): guest filesystems frozen when its agent answers, the checkpoint taken (its
// dirty bitmaps count the changes for the next incremental), every disk put on an overlay by an
// external snapshot, thaw; the VM's own files, now frozen at the point in time, are read by the
// agent itself where it can map them (whole-disk-copy.ts: qcow2-map.ts, else qemu-img or
// qemu-nbd), then the overlays are committed back live and removed (backup-snapshot.ts), on every
// path once taken. A shut-off VM's disks are copied by qemu-img (its image lock holds the VM off).
// An incremental goes through libvirt's backup API in pull mode: QEMU exports the point in time
// and the dirty bitmap over NBD on a private Unix socket and the agent reads only the dirty
// clusters into a qcow2 it writes itself, backed by its parent's files (backup-pull.ts). Everything is written to a temp dir
// renamed into place at the end (by the target's agent for a remote one); a failure or a cancel
// removes it and the checkpoint this run created, and what a killed agent left (its libvirt job,
// overlays, checkpoint, temp dir) is cleaned by the agent's start and the next backup of the VM,
// so the previous chain stays the latest.
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Backup, BackupRemoteTarget, CreateBackupRequest } from '@quantix/proto/v1/backup.js';
import type { AgentContext } from '../context.js';
import { AgentError, ErrorCode, failedPrecondition, invalidArgument } from '../errors.js';
import { domainDumpXml, domainState, DomainState } from '../libvirt/domain.js';
import { Virsh } from '../libvirt/virsh.js';
import { readDomainXml, type DomainDisk } from '../libvirt/xml/domain-parse.js';
import { KeyedLock } from '../storage/keyed-lock.js';
import { readFirmwareFiles } from '../vm/firmware-state.js';
import { guestAgentPing } from '../vm/guest-agent.js';
import { guestFsFreeze, guestFsThaw, recoverFrozenGuests } from '../vm/guest-freeze.js';
import { vmTarget } from '../vm/vm-lifecycle.js';
import type { PoolManager } from '../storage/pool-manager.js';
import { log } from '../log.js';
import { checkpointXml, exportBitmap, exportName, pullBackupXml, type BackupTargetDisk } from './backup-xml.js';
import {
  commitAbandonedOverlays,
  commitOverlays,
  isOverlay,
  recoverOverlays,
  scratchDirName,
  takeOverlays,
} from './backup-snapshot.js';
import { BACKUP_SOCKET_ROOT, makeBackupSocketDir, pullDisk } from './backup-pull.js';
import { openRemoteTarget } from './backup-send.js';
import { copyWholeDisks, type SourceDisk } from './whole-disk-copy.js';
import { openLocalTarget, type BackupTarget } from './backup-target.js';
import { allocatedBytes, isNoSpace, requireRoom, targetFilledUp } from './backup-space.js';
import { CHUNK_HASH } from './chunk-sums.js';
import {
  DOMAIN_XML,
  firmwareFiles,
  MANIFEST_FORMAT,
  newBackupId,
  newManifestDisk,
  validDiskTarget,
  type BackupManifest,
  type ManifestConsistency,
  type ManifestDisk,
  type RetentionPolicy,
} from './backup-store.js';

const CHECKPOINT_PREFIX = 'qx-backup-';
/** How long the end of a pull backup job may take to be torn down by libvirt. */
const JOB_END_TIMEOUT_MS = 30_000;

export interface CreatedBackup {
  backup: Backup;
  /** Points retention deleted after it. */
  prunedIds: string[];
}

/** CreateBackupRequest; the retention rules beyond keep_last and the remote target may be left out. */
type BackupRequest = Omit<CreateBackupRequest, 'keepDaily' | 'keepWeekly' | 'keepMonthly' | 'remote'> &
  Partial<Pick<CreateBackupRequest, 'keepDaily' | 'keepWeekly' | 'keepMonthly' | 'remote'>>;

interface Plan {
  uuid: string;
  name: string;
  running: boolean;
  disks: DomainDisk[];
  /** Target devices of the VM's other disks (CD-ROMs): not backed up. */
  otherDevs: string[];
  /** Some disk (live or in the definition) is on a backup's overlay: a killed agent left it there. */
  onOverlays: boolean;
  inactiveXml: string;
  guestAgentConnected: boolean;
  /** The VM's checkpoint names. */
  checkpoints: string[];
  /** A backup job is active on the VM (one a killed agent left: no job of ours is). */
  staleJob: boolean;
}

/** Runs backups, one at a time per VM, and cancels them by job id. */
export class BackupJobs {
  private readonly perVm = new KeyedLock();
  private readonly jobs = new Map<string, AbortController>();
  /** recover(): backups start once the overlays a killed agent left are committed back. */
  private recovering: Promise<unknown> = Promise.resolve();
  /** Tests: runs while a full backup's VM writes to its overlays (between snapshot and commit). */
  afterSnapshot?: (vmUuid: string) => Promise<void>;

  /** `ctx` (the agent's identity) is needed only for backups to another host. */
  constructor(
    private readonly virsh: Virsh,
    private readonly pools: PoolManager,
    private readonly ctx?: AgentContext,
  ) {}

  /** Takes the backup, then applies retention (`keep_last`, …) to the VM's points in the target pool. */
  async create(req: BackupRequest, onPercent: (p: number) => void): Promise<CreatedBackup> {
    if (!req.vm) throw invalidArgument('vm', 'name the VM to back up');
    if (!req.jobId) throw invalidArgument('job_id', 'is required (it names the job for CancelBackup)');
    if (this.jobs.has(req.jobId)) throw invalidArgument('job_id', `job ${req.jobId} is already running`);
    const abort = new AbortController();
    this.jobs.set(req.jobId, abort);
    try {
      await this.recovering;
      if (req.remote && (!req.remote.address || !req.remote.certificatePem || !req.remote.ticket))
        throw invalidArgument('remote', "needs the target agent's address, certificate and ticket");
      if (!req.pool) throw invalidArgument('pool', 'name the target pool');
      // A local pool is checked before anything else happens; a remote one by its agent.
      const pool = req.remote ? undefined : await this.pools.activeRecord(req.pool);
      const t = await vmTarget(this.virsh, req.vm);
      const retention: RetentionPolicy = {
        last: req.keepLast,
        daily: req.keepDaily ?? 0,
        weekly: req.keepWeekly ?? 0,
        monthly: req.keepMonthly ?? 0,
      };
      return await this.perVm.with(t.uuid, async () => {
        const open = (id: string) =>
          pool ? openLocalTarget(pool, t.uuid, id) : this.openRemote(req.remote!, req.pool, id, abort.signal);
        return this.backup(open, t, req.forceFull, retention, onPercent, abort.signal);
      });
    } finally {
      this.jobs.delete(req.jobId);
    }
  }

  /**
   * At agent start: every guest an agent killed between freeze and thaw left frozen (a backup's
   * or a snapshot's, guest-freeze.ts) is thawed, and every VM an agent killed mid-backup left
   * running (or shut off) on backup overlays is brought back onto its own disks
   * (backup-snapshot.ts). Failures are logged.
   */
  recover(): Promise<void> {
    const done = Promise.all([recoverFrozenGuests(this.virsh), recoverOverlays(this.virsh)]).then(
      () => undefined,
      (err: unknown) => log.error('backup recovery failed', { err: String(err) }),
    );
    this.recovering = done;
    return done;
  }

  cancel(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    job?.abort(failedPrecondition(`backup job ${jobId} was cancelled`));
    return job !== undefined;
  }

  /** The state is read again here, under the VM's lock; all reads go at once. */
  private async plan(t: { uuid: string; name: string }): Promise<Plan> {
    const { uuid } = t;
    const [state, live, inactiveXml, checkpoints, job] = await Promise.all([
      domainState(this.virsh, uuid),
      domainDumpXml(this.virsh, uuid),
      domainDumpXml(this.virsh, uuid, true),
      this.virsh.exec(['checkpoint-list', uuid, '--name']).then((o) =>
        o
          .split('\n')
          .map((l) => l.trim())
          .filter(Boolean),
      ),
      this.virsh.exec(['domjobinfo', uuid]).then(parseJobInfo, () => undefined),
    ]);
    const running = state !== DomainState.Shutoff;
    if (state === DomainState.Paused || state === DomainState.Shutdown) {
      throw failedPrecondition(`VM ${t.name} is paused or shutting down; back it up running or shut off`);
    }
    const xml = readDomainXml(live);
    const disks = xml.disks.filter((d) => d.device === 'disk');
    const onOverlays = [...xml.disks, ...readDomainXml(inactiveXml).disks].some((d) => isOverlay(d.source.file));
    if (!disks.length) throw failedPrecondition(`VM ${t.name} has no disks to back up`);
    for (const d of disks) {
      validDiskTarget(d.dev);
      if (!d.source.file) throw failedPrecondition(`VM ${t.name}: disk ${d.dev} is not a file; it cannot be backed up`);
    }
    return {
      uuid,
      name: t.name,
      running,
      disks,
      otherDevs: xml.disks.filter((d) => d.device !== 'disk').map((d) => d.dev),
      onOverlays,
      inactiveXml,
      guestAgentConnected: xml.guestAgent.state === 'connected',
      checkpoints,
      staleJob: /backup/i.test(job?.operation ?? ''),
    };
  }

  /** A pool of another host: the server's ticket, our vDC agent certificate, its pinned one. */
  private async openRemote(remote: BackupRemoteTarget, pool: string, id: string, signal: AbortSignal) {
    if (!this.ctx) throw failedPrecondition('this agent cannot send backups to another host');
    return openRemoteTarget({ ctx: this.ctx, remote, pool, backupId: id, chunkHash: CHUNK_HASH, signal });
  }

  private async backup(
    open: (id: string) => Promise<BackupTarget>,
    vm: { uuid: string; name: string },
    forceFull: boolean,
    retention: RetentionPolicy,
    onPercent: (p: number) => void,
    signal: AbortSignal,
  ): Promise<CreatedBackup> {
    let plan = await this.plan(vm);
    const { uuid } = plan;
    const id = newBackupId(new Date(), randomBytes(3).toString('hex'));
    const target = await open(id);
    let checkpoint: string | null = null;
    try {
      await this.cleanUpKilled(plan, target.abandonedIds);
      if (plan.onOverlays) plan = await this.plan(vm);
      const parent = forceFull || !plan.running ? undefined : this.incrementalBase(plan, target.history);
      // An incremental's size is unknown until the job runs; a full one is about the allocation.
      if (!parent && target.localPool) {
        await requireRoom(target.localPool, plan.name, await allocatedBytes(plan.disks.map((d) => d.source.file!)));
      }
      // Dirty bitmaps live in qcow2 files: a VM with a raw disk gets a full backup every time.
      const tracked = plan.running && plan.disks.every((d) => d.format === 'qcow2');
      checkpoint = tracked ? `${CHECKPOINT_PREFIX}${id}` : null;
      await target.writeSmallFile(DOMAIN_XML, plan.inactiveXml);
      let consistency: ManifestConsistency = 'stopped';
      let disks: ManifestDisk[];
      // UEFI variables and TPM state, read as the backup starts (small files, read while the disks copy).
      const firmware = readFirmwareFiles(uuid, plan.inactiveXml);
      firmware.catch(() => undefined);
      if (plan.running && parent) {
        ({ consistency, disks } = await this.pullBackup(plan, id, target, parent, checkpoint, onPercent, signal));
      } else if (plan.running) {
        ({ consistency, disks } = await this.snapshotBackup(plan, id, target, checkpoint, onPercent, signal));
      } else {
        const { entries } = await copyWholeDisks(sourcesOf(plan, false), id, target, onPercent, signal);
        disks = await entries;
      }
      const firmwareState = firmwareFiles(await firmware);
      for (const f of firmwareState) await target.writeSmallFile(f.entry.file, f.data);
      signal.throwIfAborted();
      const manifest: BackupManifest = {
        format: MANIFEST_FORMAT,
        id,
        vm: { uuid, name: plan.name },
        createdAt: new Date().toISOString(),
        kind: parent ? 'incremental' : 'full',
        parent: parent?.id ?? null,
        consistency,
        checkpoint,
        disks,
        ...(firmwareState.length ? { firmware: firmwareState.map((f) => f.entry) } : {}),
      };
      const { backup, pruned } = await target.commit(manifest, retention);
      onPercent(100);
      for (const p of pruned) if (p.checkpoint) await this.deleteCheckpoint(uuid, p.checkpoint);
      return { backup, prunedIds: pruned.map((p) => p.id) };
    } catch (err) {
      await target
        .discard()
        .catch((e: unknown) => log.warn('backup: cleanup failed', { vm: plan.name, err: String(e) }));
      // backup-begin may have made the checkpoint even when the job failed afterwards.
      if (checkpoint) await this.deleteCheckpoint(uuid, checkpoint);
      if (signal.aborted) throw signal.reason;
      throw isNoSpace(err) && target.localPool ? targetFilledUp(target.localPool, plan.name, err) : err;
    }
  }

  /** The latest backup in this pool if the VM still has its checkpoint and the same disks. */
  private incrementalBase(plan: Plan, history: BackupManifest[]): BackupManifest | undefined {
    const last = history.at(-1);
    if (!last?.checkpoint || !plan.checkpoints.includes(last.checkpoint)) return undefined;
    const same = last.disks.length === plan.disks.length && last.disks.every((d, i) => d.target === plan.disks[i]!.dev);
    return same ? last : undefined;
  }

  /**
   * What an agent killed mid-backup left behind: the overlays its VM still runs on (committed
   * back; the agent's start does it too), its libvirt backup job (still exporting), the
   * checkpoint it took (deleted: its bitmap merges into the previous checkpoint's, so the next
   * incremental still sees every change since the last listed backup) and its temp dir.
   */
  private async cleanUpKilled(plan: Plan, abandonedIds: readonly string[]): Promise<void> {
    // Its overlays: the VM goes back onto its own disks first (the caller plans again).
    if (plan.onOverlays) {
      const done = await commitAbandonedOverlays(this.virsh, plan);
      log.warn('committed back the backup overlays a stopped agent left', { vm: plan.name, ...done });
    }
    if (plan.staleJob) {
      log.warn('ending a backup job left by a stopped agent', { vm: plan.name });
      await this.endJob(plan);
    }
    for (const id of abandonedIds) {
      const name = `${CHECKPOINT_PREFIX}${id}`;
      if (plan.checkpoints.includes(name)) {
        log.warn('removing the checkpoint of an unfinished backup', { vm: plan.name, checkpoint: name });
        await this.deleteCheckpoint(plan.uuid, name);
        plan.checkpoints = plan.checkpoints.filter((c) => c !== name);
      }
      await rm(join(BACKUP_SOCKET_ROOT, id), { recursive: true, force: true });
      for (const dir of scratchDirsOf(plan, id)) await rm(dir, { recursive: true, force: true });
    }
  }

  private async pullBackup(
    plan: Plan,
    id: string,
    target: BackupTarget,
    parent: BackupManifest | undefined,
    checkpoint: string | null,
    onPercent: (p: number) => void,
    signal: AbortSignal,
  ): Promise<{ consistency: ManifestConsistency; disks: ManifestDisk[] }> {
    // In the temp dir: on the target's filesystem (it may grow), gone with the temp dir. For a
    // remote target, in a hidden dir beside each disk (its filesystem has room for its growth).
    const scratchDirs = target.localPath(DOMAIN_XML) ? [] : scratchDirsOf(plan, id);
    for (const dir of scratchDirs) await mkdir(dir, { mode: 0o755 });
    const targets: BackupTargetDisk[] = plan.disks.map((d) => ({
      dev: d.dev,
      backup: true,
      scratch:
        target.localPath(`${d.dev}.scratch`) ?? join(dirname(d.source.file!), scratchDirName(id), `${d.dev}.scratch`),
    }));
    const [sockets, ready] = await Promise.all([
      makeBackupSocketDir(id),
      plan.guestAgentConnected && guestAgentPing(this.virsh, plan.uuid),
    ]);
    const socket = join(sockets, 'nbd.sock');
    try {
      const frozen = ready && (await this.freeze(plan));
      try {
        await this.begin(
          plan,
          pullBackupXml(socket, targets, parent?.checkpoint ?? undefined),
          checkpoint && checkpointXml(checkpoint, targets),
        );
      } finally {
        if (frozen) {
          const failed = await guestFsThaw(this.virsh, plan.uuid);
          if (failed) log.warn('guest filesystem thaw failed', { vm: plan.name, err: String(failed) });
        }
      }
      try {
        const done = plan.disks.map(() => 0);
        const disks = await Promise.all(
          plan.disks.map(async (d, i): Promise<ManifestDisk> => {
            const file = `${d.dev}.qcow2`;
            const pulled = await pullDisk({
              socket,
              exportName: exportName(d.dev),
              bitmap: parent ? exportBitmap(d.dev) : undefined,
              file: await target.openDisk(file),
              // An incremental holds only the changed clusters; the rest reads through to the parent.
              backing: parent ? `../${parent.id}/${file}` : undefined,
              signal,
              onProgress: (f) => {
                done[i] = f;
                onPercent(Math.floor((done.reduce((a, b) => a + b, 0) / done.length) * 99));
              },
            });
            return newManifestDisk(d.dev, pulled);
          }),
        );
        return { consistency: frozen ? 'application' : 'crash', disks };
      } finally {
        await this.endJob(plan);
      }
    } finally {
      await rm(sockets, { recursive: true, force: true });
      for (const dir of scratchDirs) await rm(dir, { recursive: true, force: true });
    }
  }

  /**
   * Ends the VM's pull backup job (an abort: the export closes, the checkpoint stays) and waits
   * until libvirt has torn it down: the abort returns while QEMU's block jobs still wind down, and
   * the next job on the VM (or a destroy) must not meet a half-ended one.
   */
  private async endJob(plan: Plan): Promise<void> {
    await this.virsh.exec(['domjobabort', plan.uuid]).catch((err: unknown) => {
      log.warn('ending the backup job failed', { vm: plan.name, err: Virsh.message(err) });
    });
    const end = Date.now() + JOB_END_TIMEOUT_MS;
    while (Date.now() < end) {
      const info = await this.virsh.exec(['domjobinfo', plan.uuid]).then(parseJobInfo, () => undefined);
      if (!info || !/backup/i.test(info.operation)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    log.warn('the backup job is still ending', { vm: plan.name });
  }

  /** backup-begin with the checkpoint: libvirt takes both at the same instant (one call). */
  private async begin(plan: Plan, backup: string, checkpoint: string | null): Promise<void> {
    const tmp = await mkdtemp(join(tmpdir(), 'qx-backup-xml-'));
    try {
      await writeFile(join(tmp, 'backup.xml'), backup, { mode: 0o600 });
      const withCheckpoint = checkpoint ? ['--checkpointxml', join(tmp, 'checkpoint.xml')] : [];
      if (checkpoint) await writeFile(join(tmp, 'checkpoint.xml'), checkpoint, { mode: 0o600 });
      await this.virsh.exec(['backup-begin', plan.uuid, '--backupxml', join(tmp, 'backup.xml'), ...withCheckpoint]);
    } catch (err) {
      throw new AgentError(ErrorCode.Internal, `VM ${plan.name}: the backup could not start: ${Virsh.message(err)}`);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /**
   * Freezes the guest filesystems (its agent answered); true when it froze at least one (to thaw,
   * application-consistent), false when it froze none or failed (crash-consistent).
   */
  private async freeze(plan: Plan): Promise<boolean> {
    try {
      return (await guestFsFreeze(this.virsh, plan.uuid, plan.name)) > 0;
    } catch (err) {
      log.warn('guest filesystem freeze failed; the backup is crash-consistent', { vm: plan.name, err: String(err) });
      return false;
    }
  }

  /**
   * A running VM's full backup: the point in time is an external snapshot (backup-snapshot.ts),
   * taken with the checkpoint while the guest is frozen; the VM's own files, frozen under their
   * overlays, are copied like a shut-off VM's; the overlays are committed back while the copies'
   * checksums are computed, and on every other path (failure, cancel, full target) as well.
   */
  private async snapshotBackup(
    plan: Plan,
    id: string,
    target: BackupTarget,
    checkpoint: string | null,
    onPercent: (p: number) => void,
    signal: AbortSignal,
  ): Promise<{ consistency: ManifestConsistency; disks: ManifestDisk[] }> {
    const t0 = performance.now();
    const ms = (since: number) => Math.round(performance.now() - since);
    const timings = { pointInTimeMs: 0, snapshotMs: 0, copyMs: 0, commitMs: 0, checksumTailMs: 0 };
    const ready = plan.guestAgentConnected && (await guestAgentPing(this.virsh, plan.uuid));
    const frozen = ready && (await this.freeze(plan));
    try {
      if (checkpoint) {
        const xml = checkpointXml(
          checkpoint,
          plan.disks.map((d) => ({ dev: d.dev, backup: true })),
        );
        await this.virsh
          .execWithXml(xml, (file) => ['checkpoint-create', plan.uuid, file])
          .catch((err: unknown) => {
            throw new AgentError(
              ErrorCode.Internal,
              `VM ${plan.name}: the backup checkpoint failed: ${Virsh.message(err)}`,
            );
          });
      }
      const t = performance.now();
      // A read-only disk needs no overlay: QEMU never writes it; it is copied as it is.
      const written = plan.disks.filter((d) => !d.readonly);
      const unwritten = plan.disks.filter((d) => d.readonly).map((d) => d.dev);
      await takeOverlays(this.virsh, plan, written, [...plan.otherDevs, ...unwritten], id);
      timings.snapshotMs = ms(t);
    } finally {
      if (frozen) {
        const failed = await guestFsThaw(this.virsh, plan.uuid);
        if (failed) log.warn('guest filesystem thaw failed', { vm: plan.name, err: String(failed) });
      }
    }
    timings.pointInTimeMs = ms(t0);
    let committing: Promise<unknown> | undefined;
    const commit = () => (committing ??= commitOverlays(this.virsh, plan));
    try {
      await this.afterSnapshot?.(plan.uuid);
      const t1 = performance.now();
      const { entries } = await copyWholeDisks(sourcesOf(plan, true), id, target, onPercent, signal);
      timings.copyMs = ms(t1);
      const t2 = performance.now();
      // Both awaited whatever happens: a failure is reported once no checksum pass reads the target.
      const [summed, committed] = await Promise.allSettled([
        entries.then((d) => ((timings.checksumTailMs = ms(t2)), d)),
        commit().then(() => (timings.commitMs = ms(t2))),
      ]);
      if (summed.status === 'rejected') throw summed.reason;
      if (committed.status === 'rejected') throw committed.reason;
      const disks = summed.value;
      // Where a full backup's time goes (#24's throughput target: the copy should be most of it).
      log.info('full backup timings', { vm: plan.name, ...timings });
      return { consistency: frozen ? 'application' : 'crash', disks };
    } finally {
      // The VM back on its own disks whatever happened: a failure here is the one worth reporting.
      await commit().catch((err: unknown) =>
        log.error('the VM is still on its backup overlays (retried at the next backup or agent start)', {
          vm: plan.name,
          err: String(err),
        }),
      );
    }
  }

  /** Removes a checkpoint this run made (libvirt merges its bitmap into the previous one). */
  /** Removes the checkpoints of deleted points (their bitmaps merge into the previous ones). */
  async forgetCheckpoints(deleted: readonly BackupManifest[]): Promise<void> {
    for (const m of deleted) if (m.checkpoint) await this.deleteCheckpoint(m.vm.uuid, m.checkpoint);
  }

  private async deleteCheckpoint(uuid: string, name: string): Promise<void> {
    await this.virsh.exec(['checkpoint-delete', uuid, name]).catch((err: unknown) => {
      if (!/not found|no domain checkpoint/i.test(Virsh.message(err)))
        log.warn('backup checkpoint removal failed', { uuid, checkpoint: name, err: Virsh.message(err) });
    });
  }
}

/** The plan's disks as files to copy; `frozen`: under the backup's overlays (snapshotBackup). */
const sourcesOf = (plan: Plan, frozen: boolean): SourceDisk[] =>
  plan.disks.map((d) => ({
    dev: d.dev,
    file: d.source.file!,
    format: d.format === 'qcow2' ? 'qcow2' : 'raw',
    frozen: frozen && !d.readonly,
  }));

/** A remote backup's scratch files: a hidden dir per backup beside the disks (listings skip dot files). */
const scratchDirsOf = (plan: Plan, id: string) => [
  ...new Set(plan.disks.map((d) => join(dirname(d.source.file!), scratchDirName(id)))),
];

interface JobInfo {
  type: string;
  /** What the job does ("Backup", "Outgoing migration", …). */
  operation: string;
}

/** Reads `virsh domjobinfo` (libvirt 9: "Job type:", "Operation:"). */
export function parseJobInfo(out: string): JobInfo {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(out)?.[1]?.trim();
  return { type: field('Job type') ?? '', operation: field('Operation') ?? '' };
}
