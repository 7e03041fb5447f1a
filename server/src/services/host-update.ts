// Remote hosts follow the vDC: an appliance-installed host is updated with the bundle uploaded for
// this appliance (ApplianceUpdate), as a task — maintenance first (its VMs evacuated), the bundle
// streamed to its agent (which checks it with its own image key, writes its inactive slot, arms it
// and reboots), then wait for it to come back reporting the new version, maintenance off. Only
// upgrades (a downgrade of one host when asked for: proto appliance/version.ts). "All hosts" does
// that one host at a time, to the hosts older than the bundle, and stops at the first failure.
// This server's own appliance is never updated here: that is ApplianceUpdate.apply. Never imports Koa.
import { createReadStream } from 'node:fs';
import { updateRefusal } from '@quantix/proto/appliance/version.js';
import type { HostUpdatePlanDto } from '../dto/appliance-update.js';
import type { TaskDto } from '../dto/tasks.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { HostConnection } from '../agents/host-connection.js';
import { conflict } from '../errors.js';
import type { ApplianceUpdate, UploadedBundle } from './appliance-update.js';
import type { HostService } from './host-service.js';
import type { InventoryService } from './inventory-service.js';
import type { TaskContext, TaskService } from './task-service.js';

export interface HostUpdateOptions {
  /** How long a host may take to reboot and report the new version (QX_HOST_UPDATE_TIMEOUT_S; 20 min). */
  onlineTimeoutMs: number;
  /** How long its evacuation may take (60 min). */
  evacuationTimeoutMs?: number;
}

const POLL_MS = 1_000;

export class HostUpdate {
  /** Hosts an update task is working on: a second one would find them in maintenance already. */
  private readonly updating = new Set<string>();

  constructor(
    private readonly pool: AgentPool,
    private readonly tasks: TaskService,
    private readonly hosts: HostService,
    private readonly inventory: InventoryService,
    private readonly bundles: ApplianceUpdate,
    private readonly o: HostUpdateOptions,
  ) {}

  /**
   * Updates one host (409 when it cannot be updated, already runs the bundle's version or runs a
   * newer one and `allowDowngrade` is not set).
   */
  async updateHost(hostId: string, user: string, options: { allowDowngrade?: boolean } = {}): Promise<TaskDto> {
    const c = this.pool.get(hostId);
    const bundle = await this.bundles.uploadedBundle();
    const allowDowngrade = options.allowDowngrade ?? false;
    this.check(c, bundle, allowDowngrade);
    const name = c.record.name;
    this.updating.add(hostId); // at once: a second request meanwhile is refused
    const started = this.tasks.start(
      { kind: 'host.update', target: { type: 'host', id: hostId, name }, hostId, user },
      async (t) => {
        await this.update(c, bundle, { user, allowDowngrade }, t, (p, phase) => t.progress(p, phase));
        return { hosts: [{ id: hostId, name, version: bundle.version }] };
      },
    );
    started.catch(() => this.updating.delete(hostId));
    return (await started).dto;
  }

  /** What updateAll would do now: each host, updated or skipped with the reason (409 without a bundle). */
  async plan(): Promise<HostUpdatePlanDto> {
    const bundle = await this.bundles.uploadedBundle();
    return { bundleVersion: bundle.version, hosts: this.select(bundle).map(({ c: _, ...h }) => h) };
  }

  /** Each host of the pool against `bundle`: updated by updateAll (older, online, updatable) or why not. */
  private select(bundle: UploadedBundle) {
    return this.pool.all().map((c) => {
      const reason = this.refusal(c, bundle, false) ?? '';
      return { c, id: c.record.id, name: c.record.name, update: !reason, reason };
    });
  }

  /**
   * Updates every appliance host older than the bundle, one at a time (409 when none is); the
   * others are skipped, each with the reason, in the task's log and result. Never a downgrade.
   */
  async updateAll(user: string): Promise<TaskDto> {
    const bundle = await this.bundles.uploadedBundle();
    const selected = this.select(bundle);
    const behind = selected.filter((h) => h.update).map((h) => h.c);
    const skipped = selected.filter((h) => !h.update).map(({ id, name, reason }) => ({ id, name, reason }));
    if (!behind.length) {
      const why = skipped.map((s) => s.reason).join('; ');
      throw conflict(`no appliance host can be updated to ${bundle.version}: none is behind${why ? ` (${why})` : ''}`);
    }
    const { dto } = await this.tasks.start(
      { kind: 'hosts.update', target: { type: 'vdc', id: 'hosts', name: 'all hosts' }, hostId: null, user },
      async (t) => {
        for (const s of skipped) t.log(`skipped ${s.name}: ${s.reason}`);
        const done: { id: string; name: string; version: string }[] = [];
        for (const [i, c] of behind.entries()) {
          const name = c.record.name;
          t.log(`host ${name} (${i + 1} of ${behind.length})`);
          this.check(c, bundle, false);
          await this.update(c, bundle, { user, allowDowngrade: false }, t, (p, phase) =>
            t.progress(Math.round(((i + (p ?? 0) / 100) / behind.length) * 100), `${name}: ${phase}`),
          );
          done.push({ id: c.record.id, name, version: bundle.version });
        }
        return { hosts: done, skipped };
      },
    );
    return dto;
  }

  private check(c: HostConnection, bundle: UploadedBundle, allowDowngrade: boolean): void {
    c.requireOnline();
    if (this.updating.has(c.record.id)) throw conflict(`host ${c.record.name} is being updated already`);
    const reason = this.refusal(c, bundle, allowDowngrade);
    if (reason) throw conflict(reason);
  }

  /** Why `c` is not to be updated with `bundle` now: offline, not updatable, or not older than it. */
  private refusal(c: HostConnection, bundle: UploadedBundle, allowDowngrade: boolean): string | undefined {
    const name = c.record.name;
    if (!c.online) return `host ${name} is offline`;
    const s = this.inventory.systemOf(c);
    if (s.updateBlocker) return `host ${name} cannot be updated: ${s.updateBlocker}`;
    return updateRefusal(`host ${name}`, s.version, bundle.version, allowDowngrade);
  }

  private async update(
    c: HostConnection,
    bundle: UploadedBundle,
    how: { user: string; allowDowngrade: boolean },
    t: TaskContext,
    progress: (percent: number | null, phase: string) => void,
  ): Promise<void> {
    const name = c.record.name;
    this.updating.add(c.record.id);
    try {
      await this.steps(c, bundle, how, t, progress);
    } catch (err) {
      if (c.record.maintenance)
        t.log(`${name} stays in maintenance: ${err instanceof Error ? err.message : String(err)}`);
      throw err;
    } finally {
      this.updating.delete(c.record.id);
    }
  }

  private async steps(
    c: HostConnection,
    bundle: UploadedBundle,
    { user, allowDowngrade }: { user: string; allowDowngrade: boolean },
    t: TaskContext,
    progress: (percent: number | null, phase: string) => void,
  ): Promise<void> {
    const name = c.record.name;
    const wasInMaintenance = c.record.maintenance;
    progress(0, 'entering maintenance');
    if (!wasInMaintenance) await this.hosts.update(c.record.id, { maintenance: true, stoppedVms: 'leave' }, user);
    await this.evacuated(c);
    t.log(`${name} is in maintenance; sending the ${bundle.version} bundle`);
    const from = this.inventory.systemOf(c).version;
    progress(10, 'sending the bundle');
    const header = { sizeBytes: bundle.sizeBytes, allowDowngrade };
    const armed = await c.client.updateSystem(createReadStream(bundle.file), header, (sent) =>
      progress(10 + Math.round((sent / bundle.sizeBytes) * 60), 'sending the bundle'),
    );
    t.log(`${name} armed slot ${armed.slot} (${armed.version}) and reboots`);
    progress(70, `rebooting into ${bundle.version}`);
    await this.backOnline(c, bundle.version, from);
    t.log(`${name} is back, running ${bundle.version}`);
    progress(95, 'leaving maintenance');
    if (!wasInMaintenance) await this.hosts.update(c.record.id, { maintenance: false }, user);
    progress(100, 'updated');
  }

  /** Waits until the host's evacuation ended with the host empty of running VMs. */
  private async evacuated(c: HostConnection): Promise<void> {
    const deadline = Date.now() + (this.o.evacuationTimeoutMs ?? 60 * 60_000);
    for (;;) {
      const dto = this.inventory.hostDto(c);
      if (dto.maintenanceState === 'in') return;
      const task = dto.evacuationTaskId ? this.tasks.get(dto.evacuationTaskId) : undefined;
      if (task && task.status !== 'running') {
        throw conflict(
          `host ${c.record.name} could not be emptied (evacuation ${task.status}${task.error ? `: ${task.error}` : ''}); it stays in maintenance`,
        );
      }
      if (Date.now() > deadline)
        throw conflict(`host ${c.record.name} was not emptied in time; it stays in maintenance`);
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }

  /** Waits until the host is online again, its system reporting `version`. */
  private async backOnline(c: HostConnection, version: string, from: string): Promise<void> {
    const deadline = Date.now() + this.o.onlineTimeoutMs;
    while (!(c.online && c.info?.appliance?.version === version)) {
      if (Date.now() > deadline) {
        const now = c.online ? `it is online, still reporting ${c.info?.appliance?.version ?? from}` : 'it is offline';
        throw conflict(
          `host ${c.record.name} did not come back running ${version} within ${Math.round(this.o.onlineTimeoutMs / 1000)} s (${now}; a system that failed its health check boots ${from} again); it stays in maintenance`,
        );
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}
