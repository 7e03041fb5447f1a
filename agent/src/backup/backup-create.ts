// Takes one backup of a VM into a pool of this host. A running VM goes through libvirt's backup
// API (push mode into qcow2 files pre-created here, an incremental one backed by its parent's,
// with a checkpoint so the next run copies only what changed); the guest agent freezes the
// filesystems around the point in time when it answers. A shut-off VM is copied with qemu-img.
// Everything is written to a temp dir renamed into place at the end; a failure or a cancel
// removes it and the checkpoint this run created, so the previous chain stays the latest.
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Backup, CreateBackupRequest } from '@quantix/proto/v1/backup.js';
import { AgentError, ErrorCode, failedPrecondition, invalidArgument } from '../errors.js';
import { run } from '../exec/run.js';
import { domainDumpXml, domainState, DomainState } from '../libvirt/domain.js';
import { Virsh } from '../libvirt/virsh.js';
import { readDomainXml, type DomainDisk } from '../libvirt/xml/domain-parse.js';
import { sandboxedQemuImg } from '../ova/qemu-sandbox.js';
import { KeyedLock } from '../storage/keyed-lock.js';
import type { PoolManager } from '../storage/pool-manager.js';
import type { PoolRecord } from '../storage/storage-kind.js';
import { percentReader } from '../storage/volumes.js';
import { guestAgentReady, guestFsFreeze, guestFsThaw } from '../vm/guest-agent.js';
import { vmTarget } from '../vm/vm-lifecycle.js';
import { log } from '../log.js';
import { backupXml, checkpointXml, type BackupTargetDisk } from './backup-xml.js';
import { allocatedBytes, isNoSpace, requireRoom, targetFilledUp } from './backup-space.js';
import { chunkSums, CHUNK_BYTES } from './chunk-sums.js';
import {
  backupMessage,
  DOMAIN_XML,
  listManifests,
  makeTempDir,
  newBackupId,
  publishBackup,
  pruneBackups,
  removeTempDirs,
  validDiskTarget,
  type BackupManifest,
  type ManifestConsistency,
  type ManifestDisk,
} from './backup-store.js';

const CHECKPOINT_PREFIX = 'qx-backup-';
const POLL_MS = 100;
const COPY_TIMEOUT_MS = 6 * 60 * 60_000;

export interface CreatedBackup {
  backup: Backup;
  /** Points retention deleted after it. */
  prunedIds: string[];
}

/** CreateBackupRequest; the retention rules beyond keep_last may be left out (= 0). */
type BackupRequest = Omit<CreateBackupRequest, 'keepDaily' | 'keepWeekly' | 'keepMonthly'> &
  Partial<Pick<CreateBackupRequest, 'keepDaily' | 'keepWeekly' | 'keepMonthly'>>;

interface Plan {
  uuid: string;
  name: string;
  running: boolean;
  disks: DomainDisk[];
  inactiveXml: string;
}

/** Runs backups, one at a time per VM, and cancels them by job id. */
export class BackupJobs {
  private readonly perVm = new KeyedLock();
  private readonly jobs = new Map<string, AbortController>();

  constructor(
    private readonly virsh: Virsh,
    private readonly pools: PoolManager,
  ) {}

  /** Takes the backup, then applies retention (`keep_last`) to the VM's points in the pool. */
  async create(req: BackupRequest, onPercent: (p: number) => void): Promise<CreatedBackup> {
    if (!req.vm) throw invalidArgument('vm', 'name the VM to back up');
    if (!req.jobId) throw invalidArgument('job_id', 'is required (it names the job for CancelBackup)');
    if (this.jobs.has(req.jobId)) throw invalidArgument('job_id', `job ${req.jobId} is already running`);
    const abort = new AbortController();
    this.jobs.set(req.jobId, abort);
    try {
      const pool = await this.pools.activeRecord(req.pool);
      const t = await vmTarget(this.virsh, req.vm);
      return await this.perVm.with(t.uuid, async () => {
        const backup = await this.backup(pool, t, req.forceFull, onPercent, abort.signal);
        const pruned = await pruneBackups(pool, t.uuid, {
          last: req.keepLast,
          daily: req.keepDaily ?? 0,
          weekly: req.keepWeekly ?? 0,
          monthly: req.keepMonthly ?? 0,
        });
        await this.forgetCheckpoints(pruned);
        return { backup, prunedIds: pruned.map((m) => m.id) };
      });
    } finally {
      this.jobs.delete(req.jobId);
    }
  }

  cancel(jobId: string): boolean {
    const job = this.jobs.get(jobId);
    job?.abort(failedPrecondition(`backup job ${jobId} was cancelled`));
    return job !== undefined;
  }

  /** The state is read again here, under the VM's lock; the three reads go at once. */
  private async plan(t: { uuid: string; name: string }): Promise<Plan> {
    const { uuid } = t;
    const [state, live, inactiveXml] = await Promise.all([
      domainState(this.virsh, uuid),
      domainDumpXml(this.virsh, uuid),
      domainDumpXml(this.virsh, uuid, true),
    ]);
    const running = state !== DomainState.Shutoff;
    if (state === DomainState.Paused || state === DomainState.Shutdown) {
      throw failedPrecondition(`VM ${t.name} is paused or shutting down; back it up running or shut off`);
    }
    const xml = readDomainXml(live);
    const disks = xml.disks.filter((d) => d.device === 'disk');
    if (!disks.length) throw failedPrecondition(`VM ${t.name} has no disks to back up`);
    for (const d of disks) {
      validDiskTarget(d.dev);
      if (!d.source.file) throw failedPrecondition(`VM ${t.name}: disk ${d.dev} is not a file; it cannot be backed up`);
    }
    return { uuid, name: t.name, running, disks, inactiveXml };
  }

  private async backup(
    pool: PoolRecord,
    vm: { uuid: string; name: string },
    forceFull: boolean,
    onPercent: (p: number) => void,
    signal: AbortSignal,
  ): Promise<Backup> {
    const plan = await this.plan(vm);
    const { uuid } = plan;
    await removeTempDirs(pool, uuid);
    const history = await listManifests(pool, uuid);
    const parent = forceFull || !plan.running ? undefined : await this.incrementalBase(plan, history);
    // An incremental's size is unknown until the job runs; a full one is about the allocation.
    if (!parent) await requireRoom(pool, plan.name, await allocatedBytes(plan.disks.map((d) => d.source.file!)));
    const id = newBackupId(new Date(), randomBytes(3).toString('hex'));
    const dir = await makeTempDir(pool, uuid, id);
    // Dirty bitmaps live in qcow2 files: a VM with a raw disk gets a full backup every time.
    const tracked = plan.running && plan.disks.every((d) => d.format === 'qcow2');
    const checkpoint = tracked ? `${CHECKPOINT_PREFIX}${id}` : null;
    try {
      await writeFile(join(dir, DOMAIN_XML), plan.inactiveXml, { mode: 0o644 });
      let consistency: ManifestConsistency = 'stopped';
      const capacities: number[] = [];
      if (plan.running) {
        const made = await this.pushBackup(plan, dir, parent, checkpoint, onPercent, signal);
        consistency = made.consistency;
        capacities.push(...made.capacities);
      } else {
        capacities.push(...(await this.copyStopped(plan, dir, onPercent, signal)));
      }
      // All disks at once: each file's chunks are spread over worker threads.
      const disks: ManifestDisk[] = await Promise.all(
        plan.disks.map(async (d, i) => {
          const file = `${d.dev}.qcow2`;
          const { sums, bytes } = await chunkSums(join(dir, file), signal);
          return {
            target: d.dev,
            file,
            capacityBytes: capacities[i]!,
            storedBytes: bytes,
            chunkBytes: CHUNK_BYTES,
            sha256: sums,
          };
        }),
      );
      signal.throwIfAborted();
      const manifest: BackupManifest = {
        format: 1,
        id,
        vm: { uuid, name: plan.name },
        createdAt: new Date().toISOString(),
        kind: parent ? 'incremental' : 'full',
        parent: parent?.id ?? null,
        consistency,
        checkpoint,
        disks,
      };
      await publishBackup(pool, manifest);
      onPercent(100);
      return backupMessage(pool, manifest);
    } catch (err) {
      await removeTempDirs(pool, uuid);
      // backup-begin may have made the checkpoint even when the job failed afterwards.
      if (checkpoint) await this.deleteCheckpoint(uuid, checkpoint);
      if (signal.aborted) throw signal.reason;
      throw isNoSpace(err) ? targetFilledUp(pool, plan.name, err) : err;
    }
  }

  /** The latest backup in this pool if the VM still has its checkpoint and the same disks. */
  private async incrementalBase(plan: Plan, history: BackupManifest[]): Promise<BackupManifest | undefined> {
    const last = history.at(-1);
    if (!last?.checkpoint) return undefined;
    const names = (await this.virsh.exec(['checkpoint-list', plan.uuid, '--name'])).split('\n').map((l) => l.trim());
    if (!names.includes(last.checkpoint)) return undefined;
    const same = last.disks.length === plan.disks.length && last.disks.every((d, i) => d.target === plan.disks[i]!.dev);
    return same ? last : undefined;
  }

  private async pushBackup(
    plan: Plan,
    dir: string,
    parent: BackupManifest | undefined,
    checkpoint: string | null,
    onPercent: (p: number) => void,
    signal: AbortSignal,
  ): Promise<{ consistency: ManifestConsistency; capacities: number[] }> {
    // One domblkinfo for all disks, the target files created at once, the guest agent probed
    // meanwhile: each virsh or qemu-img round trip was a fixed cost of every backup.
    const [capacities, ready] = await Promise.all([
      this.capacitiesOf(plan),
      guestAgentReady(this.virsh, plan.uuid).catch(() => false),
    ]);
    const targets: BackupTargetDisk[] = plan.disks.map((d) => ({ dev: d.dev, file: join(dir, `${d.dev}.qcow2`) }));
    await Promise.all(
      targets.map((t, i) => {
        // An incremental holds only the changed clusters; the rest reads through to the parent.
        const backing = parent ? ['-b', `../${parent.id}/${t.dev}.qcow2`, '-F', 'qcow2'] : [];
        return run('qemu-img', ['create', '-q', '-f', 'qcow2', ...backing, t.file, String(capacities[i])]);
      }),
    );
    const frozen = ready && (await this.freeze(plan));
    try {
      await this.begin(
        plan,
        backupXml(targets, parent?.checkpoint ?? undefined),
        checkpoint && checkpointXml(checkpoint, targets),
      );
    } finally {
      if (frozen) {
        const failed = await guestFsThaw(this.virsh, plan.uuid);
        if (failed) log.warn('guest filesystem thaw failed', { vm: plan.name, err: String(failed) });
      }
    }
    await this.waitForJob(plan, onPercent, signal);
    return { consistency: frozen ? 'application' : 'crash', capacities };
  }

  /** backup-begin with the checkpoint: libvirt takes both at the same instant (one call). */
  private async begin(plan: Plan, backup: string, checkpoint: string | null): Promise<void> {
    const tmp = await mkdtemp(join(tmpdir(), 'qx-backup-xml-'));
    try {
      await writeFile(join(tmp, 'backup.xml'), backup, { mode: 0o600 });
      const withCheckpoint = checkpoint ? ['--checkpointxml', join(tmp, 'checkpoint.xml')] : [];
      if (checkpoint) await writeFile(join(tmp, 'checkpoint.xml'), checkpoint, { mode: 0o600 });
      const xml = ['--backupxml', join(tmp, 'backup.xml')];
      await this.virsh.exec(['backup-begin', plan.uuid, ...xml, ...withCheckpoint, '--reuse-external']);
    } catch (err) {
      throw new AgentError(ErrorCode.Internal, `VM ${plan.name}: the backup could not start: ${Virsh.message(err)}`);
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  }

  /** Freezes the guest filesystems (its agent answered); false = crash-consistent. */
  private async freeze(plan: Plan): Promise<boolean> {
    try {
      return (await guestFsFreeze(this.virsh, plan.uuid, plan.name)) >= 0;
    } catch (err) {
      log.warn('guest filesystem freeze failed; the backup is crash-consistent', { vm: plan.name, err: String(err) });
      return false;
    }
  }

  /** The virtual size of each disk of the plan, in its order (`domblkinfo --all`: one call). */
  private async capacitiesOf(plan: Plan): Promise<number[]> {
    const out = await this.virsh.exec(['domblkinfo', plan.uuid, '--all']);
    const byDev = new Map(
      out.split('\n').flatMap((l) => {
        const [dev, capacity] = l.trim().split(/\s+/);
        return dev && capacity ? [[dev, Number(capacity)] as const] : [];
      }),
    );
    return plan.disks.map((d) => {
      const capacity = byDev.get(d.dev);
      if (!capacity || !Number.isSafeInteger(capacity)) throw new Error(`domblkinfo ${d.dev}: no capacity in ${out}`);
      return capacity;
    });
  }

  /** Polls the domain's job until it ends; aborts it on cancel; throws unless it completed. */
  private async waitForJob(plan: Plan, onPercent: (p: number) => void, signal: AbortSignal): Promise<void> {
    for (;;) {
      if (signal.aborted) {
        await this.virsh.exec(['domjobabort', plan.uuid]).catch(() => undefined);
        throw signal.reason;
      }
      const info = parseJobInfo(await this.virsh.exec(['domjobinfo', plan.uuid]));
      if (info.type === 'None') break;
      if (info.total > 0) onPercent(Math.min(99, Math.floor((info.processed / info.total) * 100)));
      await sleep(POLL_MS, signal);
    }
    const done = parseJobInfo(await this.virsh.exec(['domjobinfo', plan.uuid, '--completed']).catch(() => ''));
    if (done.type !== 'Completed') {
      throw new AgentError(
        ErrorCode.Internal,
        `VM ${plan.name}: the backup job ended ${done.type ? `as ${done.type}` : 'without a result'}${done.error ? `: ${done.error}` : ''}`,
      );
    }
  }

  /** A shut-off VM: each disk copied with qemu-img (sandboxed: only its directory visible). */
  private async copyStopped(
    plan: Plan,
    dir: string,
    onPercent: (p: number) => void,
    signal: AbortSignal,
  ): Promise<number[]> {
    const capacities: number[] = [];
    for (const [i, d] of plan.disks.entries()) {
      const src = d.source.file!;
      const out = join(dir, `${d.dev}.qcow2`);
      await writeFile(out, '', { flag: 'wx' });
      const format = d.format === 'qcow2' ? 'qcow2' : 'raw';
      const share = (p: number) => onPercent(Math.floor(((i + p / 100) / plan.disks.length) * 99));
      await run(
        'bwrap',
        sandboxedQemuImg({ readOnly: [dirname(src)], writable: [out] }, [
          'convert',
          '-p',
          '-f',
          format,
          '-O',
          'qcow2',
          src,
          out,
        ]),
        { timeoutMs: COPY_TIMEOUT_MS, signal, maxOutputBytes: 64 * 1024, onOutput: percentReader(share) },
      );
      const info = JSON.parse((await run('qemu-img', ['info', '--output=json', '-f', 'qcow2', out])).stdout) as {
        'virtual-size': number;
      };
      capacities.push(info['virtual-size']);
    }
    return capacities;
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

interface JobInfo {
  type: string;
  processed: number;
  total: number;
  error: string;
}

const UNITS: Record<string, number> = { B: 1, KiB: 2 ** 10, MiB: 2 ** 20, GiB: 2 ** 30, TiB: 2 ** 40 };

function bytesOf(text: string | undefined): number {
  const m = /([\d.]+)\s*(B|KiB|MiB|GiB|TiB)/.exec(text ?? '');
  return m ? Number(m[1]) * (UNITS[m[2]!] ?? 1) : 0;
}

/** Reads `virsh domjobinfo` (libvirt 9: "Job type:", "Data processed:", "Data total:", "Error message:"). */
export function parseJobInfo(out: string): JobInfo {
  const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(out)?.[1]?.trim();
  return {
    type: field('Job type') ?? '',
    processed: bytesOf(field('Data processed') ?? field('File processed')),
    total: bytesOf(field('Data total') ?? field('File total')),
    error: field('Error message') ?? '',
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
