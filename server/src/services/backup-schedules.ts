// Backup schedules (#24): create/replace/delete with the cron refused naming the field and item,
// the selection (VMs, tags, clusters) resolved to VMs at each run, a run as one backup task per VM
// with the schedule's pool and retention, and the run's outcome kept on the schedule. The leader's
// timer calls tick(now); tests call it with the time they want. Failed VM backups are failed
// vm.backup tasks, which the events log records as backup.failed.
import { randomUUID } from 'node:crypto';
import type { AgentPool } from '../agents/agent-pool.js';
import type { BackupScheduleDto, BackupScheduleInputDto, BackupScheduleRunDto } from '../dto/backups.js';
import { badRequest, notFound } from '../errors.js';
import { log } from '../log.js';
import type { BackupScheduleRepo } from '../store/backup-schedule-repo.js';
import type { BackupScheduleRecord, TaskRecord } from '../store/records.js';
import { nextRun, parseCron } from './backup-cron.js';
import type { BackupService } from './backup-service.js';
import type { LeaderWork } from './leader.js';

/** How often the leader looks for due schedules. */
export const TICK_MS = 30_000;
/** A due time this much older than the tick that finds it was missed (no server ran schedules then). */
const MISSED_AFTER_MS = 2 * TICK_MS;

type Trigger = BackupScheduleRunDto['trigger'];

export class BackupSchedules implements LeaderWork {
  private timer: NodeJS.Timeout | undefined;
  /** A tick still writing or starting tasks: the next one waits its turn (a due run starts once). */
  private ticking: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly repo: BackupScheduleRepo,
    private readonly pool: AgentPool,
    private readonly backups: BackupService,
  ) {}

  list(): BackupScheduleDto[] {
    return this.repo.list().map(toDto);
  }

  async create(input: BackupScheduleInputDto, now = new Date()): Promise<BackupScheduleDto> {
    checkInput(input);
    const rec: BackupScheduleRecord = {
      ...input,
      id: randomUUID(),
      createdAt: now.toISOString(),
      lastDueAt: now.toISOString(),
      lastRun: null,
    };
    await this.repo.add(rec);
    return toDto(rec);
  }

  /** Replaces the settings; the next run is counted from now (an edit never makes a run "missed"). */
  async update(id: string, input: BackupScheduleInputDto): Promise<BackupScheduleDto> {
    this.get(id);
    checkInput(input);
    return toDto((await this.repo.update(id, { ...input, lastDueAt: new Date().toISOString() }))!);
  }

  async delete(id: string): Promise<void> {
    this.get(id);
    await this.repo.remove(id);
  }

  /** Runs a schedule now (enabled or not); its timetable is unchanged. */
  runNow(id: string, user: string): Promise<BackupScheduleRunDto> {
    const s = this.get(id);
    return this.run(s, 'manual', user, `run now by ${user}`);
  }

  start(): void {
    this.stop();
    this.timer = setInterval(() => void this.tick(new Date()), TICK_MS);
    this.timer.unref();
    // Runs missed while no server ran the schedules start once, now.
    void this.endInterrupted().then(() => this.tick(new Date()));
  }

  /** A run still "running" when this server starts leading was cut short (its server stopped). */
  private async endInterrupted(): Promise<void> {
    for (const s of this.repo.list()) {
      if (s.lastRun?.status !== 'running') continue;
      await this.saveRun(s.id, {
        ...s.lastRun,
        status: 'failed',
        finishedAt: new Date().toISOString(),
        message: `${s.lastRun.message}; the server stopped during the run`,
      });
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Starts every enabled schedule due at `now`; resolves with the runs started. Never throws. */
  tick(now: Date): Promise<BackupScheduleRunDto[]> {
    const next = this.ticking.then(() => this.startDue(now));
    this.ticking = next.catch(() => undefined);
    return next.catch((err: unknown) => {
      log.warn('backup schedules: tick failed', { error: (err as Error).message });
      return [];
    });
  }

  private async startDue(now: Date): Promise<BackupScheduleRunDto[]> {
    const runs: BackupScheduleRunDto[] = [];
    for (const s of [...this.repo.list()]) {
      if (!s.enabled) continue;
      const cron = parseCron(s.cron);
      const due = nextRun(cron, new Date(s.lastDueAt));
      if (!due || due > now) continue;
      const missed = missedRuns(cron, due, now);
      // Recorded first: a server stopping during the run does not run it again at its next start.
      await this.repo.update(s.id, { lastDueAt: now.toISOString() });
      runs.push(
        missed
          ? await this.run(
              s,
              'missed',
              'scheduler',
              `schedule ${s.name}: ${missed === 1 ? 'the run' : `${missed} runs`} due from ${due.toISOString()} ` +
                'missed while no server ran schedules; run once now',
            )
          : await this.run(s, 'schedule', 'scheduler', `schedule ${s.name}: run due at ${due.toISOString()}`),
      );
    }
    return runs;
  }

  private async run(
    s: BackupScheduleRecord,
    trigger: Trigger,
    user: string,
    note: string,
  ): Promise<BackupScheduleRunDto> {
    const { vms, unknown } = this.resolve(s);
    const req = {
      pool: s.pool,
      hostId: s.hostId,
      keepLast: s.keepLast,
      keepDaily: s.keepDaily,
      keepWeekly: s.keepWeekly,
      keepMonthly: s.keepMonthly,
    };
    const taskIds: string[] = [];
    const done: Promise<TaskRecord>[] = [];
    const skipped = unknown.map((id) => `VM ${id} not found`);
    for (const vm of vms) {
      try {
        const t = await this.backups.start(vm, req, user, note);
        taskIds.push(t.dto.id);
        done.push(t.done);
      } catch (err) {
        skipped.push(`${vm.name} skipped: ${(err as Error).message}`);
      }
    }
    const run: BackupScheduleRunDto = {
      startedAt: new Date().toISOString(),
      finishedAt: null,
      status: 'running',
      trigger,
      message: [`backing up ${plural(done.length, 'VM')}`, ...skipped].join('; '),
      taskIds,
    };
    await this.saveRun(s.id, run);
    void Promise.all(done).then((tasks) => this.saveRun(s.id, finishedRun(run, tasks, skipped)));
    return run;
  }

  private async saveRun(id: string, run: BackupScheduleRunDto): Promise<void> {
    try {
      await this.repo.update(id, { lastRun: run });
    } catch (err) {
      log.warn('backup schedules: cannot record a run', { schedule: id, error: (err as Error).message });
    }
  }

  /** The VMs the selection names now, and the VM ids it names that no host has. */
  private resolve(s: BackupScheduleRecord) {
    const { vmIds, tags, clusterIds } = s.selection;
    const vms: { uuid: string; name: string; hostId: string }[] = [];
    for (const c of this.pool.all()) {
      const inCluster = c.record.clusterId !== null && clusterIds.includes(c.record.clusterId);
      for (const vm of c.vms.values()) {
        const spec = vm.spec;
        if (!spec) continue;
        if (inCluster || vmIds.includes(spec.uuid) || spec.tags.some((t) => tags.includes(t))) {
          vms.push({ uuid: spec.uuid, name: spec.name, hostId: c.record.id });
        }
      }
    }
    return { vms, unknown: vmIds.filter((id) => !vms.some((v) => v.uuid === id)) };
  }

  private get(id: string): BackupScheduleRecord {
    const s = this.repo.byId(id);
    if (!s) throw notFound(`backup schedule ${id}`);
    return s;
  }
}

function checkInput(input: BackupScheduleInputDto): void {
  parseCron(input.cron, 'cron');
  const { vmIds, tags, clusterIds } = input.selection;
  if (!vmIds.length && !tags.length && !clusterIds.length) {
    throw badRequest('selection: name at least one VM, tag or cluster', 'selection');
  }
}

/** How many due times from `due` up to `now`; 0 when `due` is recent (this tick is on time). */
function missedRuns(cron: ReturnType<typeof parseCron>, due: Date, now: Date): number {
  if (now.getTime() - due.getTime() <= MISSED_AFTER_MS) return 0;
  let n = 0;
  for (let t: Date | null = due; t && t <= now && n < 1000; t = nextRun(cron, t)) n++;
  return n;
}

function finishedRun(run: BackupScheduleRunDto, tasks: TaskRecord[], skipped: string[]): BackupScheduleRunDto {
  const failed = tasks.filter((t) => t.status !== 'succeeded');
  const ok = tasks.length - failed.length;
  return {
    ...run,
    finishedAt: new Date().toISOString(),
    status: failed.length ? 'failed' : 'succeeded',
    message: [
      `${ok} of ${plural(tasks.length, 'VM')} backed up`,
      ...failed.map((t) => `${t.target.name} failed: ${t.error ?? 'unknown error'}`),
      ...skipped,
    ].join('; '),
  };
}

function toDto(s: BackupScheduleRecord): BackupScheduleDto {
  const { lastDueAt, ...rest } = s;
  const next = s.enabled ? nextRun(parseCron(s.cron), new Date(lastDueAt)) : null;
  return { ...structuredClone(rest), nextRunAt: next?.toISOString() ?? null };
}

const plural = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
