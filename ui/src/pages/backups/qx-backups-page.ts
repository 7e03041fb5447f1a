// The Backup jobs page (#24): the schedules (when, which VMs, target pool, retention, next run, last
// result) with Run now, Edit, Enable/Disable and Delete, a form for a new or edited schedule, and
// the backup targets (every active pool) with their capacity and the points they hold.
import { LitElement, html, nothing } from 'lit';
import type { UserDto } from '@dto/auth.js';
import type { BackupScheduleDto, BackupScheduleInputDto, BackupTargetDto } from '@dto/backups.js';
import type { ClusterDto } from '@dto/hosts.js';
import type { PoolDto } from '@dto/storage.js';
import type { VmDto } from '@dto/vms.js';
import {
  createBackupSchedule,
  deleteBackupSchedule,
  fetchBackupSchedules,
  fetchBackupTargets,
  runBackupSchedule,
  updateBackupSchedule,
} from '../../api/backups.js';
import { fetchClusters } from '../../api/hosts.js';
import { fetchPools } from '../../api/storage.js';
import { fetchNfsBackupTargets } from '../../api/backup-targets.js';
import './qx-backup-targets.js';
import { fetchVmPage } from '../../api/vms.js';
import { canMutate } from '../../api/session.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import { formatBytes, formatTime } from '../../app/format.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';
import {
  CRON_FIELDS,
  SCHEDULE_FIELDS,
  inputOf,
  retentionText,
  scheduleInput,
  selectionText,
} from './backup-schedule-form.js';

export class QxBackupsPage extends LitElement {
  static override properties = {
    user: { attribute: false },
    editing: { state: true },
    notice: { state: true },
  };
  declare user: UserDto | undefined;
  /** The schedule in the form: 'new', a schedule id, or '' (closed). */
  declare editing: string;
  declare notice: string;
  private schedules = new ResourceController<BackupScheduleDto[]>(this, fetchBackupSchedules);
  private targets = new ResourceController<BackupTargetDto[]>(this, fetchBackupTargets);
  /** What the form offers: pools (by name), VMs (the first 1000: a tag selects more), clusters. */
  private pools = new ResourceController<PoolDto[]>(this, fetchPools);
  /** NFS targets the form offers as nfs:<name> (qx-backup-targets shows them). */
  private nfsPools = new ResourceController<string[]>(this, async (s) =>
    (await fetchNfsBackupTargets(s)).map((t) => t.pool),
  );
  private vms = new ResourceController<VmDto[]>(this, async (s) => (await fetchVmPage({ limit: '1000' }, s)).items);
  private clusters = new ResourceController<ClusterDto[]>(this, fetchClusters);
  private form = new ActionController(this);
  private row = new ActionController(this);

  static override styles = sharedStyles;

  constructor() {
    super();
    this.editing = '';
    this.notice = '';
    // A backup task ending changes a schedule's last result and what the targets hold.
    new EventsController(this, {
      task: (d) => {
        const t = d as { kind?: string; status?: string };
        if (t.kind === 'vm.backup' && t.status !== 'running') {
          void this.schedules.reload();
          void this.targets.reload();
        }
      },
    });
  }

  private async onSave(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const req = scheduleInput(new FormData(e.target as HTMLFormElement));
    const id = this.editing;
    const ok = await this.form.run(async () => {
      const s = id === 'new' ? await createBackupSchedule(req) : await updateBackupSchedule(id, req);
      this.notice = `Schedule ${s.name} saved${s.nextRunAt ? `; next run ${formatTime(s.nextRunAt)}` : ' (disabled)'}`;
    });
    if (ok) {
      this.editing = '';
      void this.schedules.reload();
    }
  }

  private act(fn: () => Promise<string>): void {
    this.notice = '';
    void this.row
      .run(async () => {
        this.notice = await fn();
      })
      .then(() => this.schedules.reload());
  }

  private onRun(s: BackupScheduleDto): void {
    this.act(async () => {
      const run = await runBackupSchedule(s.id);
      return `Schedule ${s.name} started: ${run.message}`;
    });
  }

  private onToggle(s: BackupScheduleDto): void {
    this.act(async () => {
      await updateBackupSchedule(s.id, { ...inputOf(s), enabled: !s.enabled });
      return `Schedule ${s.name} ${s.enabled ? 'disabled' : 'enabled'}`;
    });
  }

  private onDelete(s: BackupScheduleDto): void {
    if (!confirm(`Delete schedule ${s.name}? Its backups stay in their pools.`)) return;
    this.act(async () => {
      await deleteBackupSchedule(s.id);
      return `Schedule ${s.name} deleted`;
    });
  }

  override render() {
    const mutate = canMutate(this.user);
    const list = this.schedules.value ?? [];
    return html`<h1>Backups</h1>
      ${this.schedules.errorNotice()} ${this.row.errorNotice()}
      ${this.notice ? html`<p role="status" data-testid="schedule-notice">${this.notice}</p>` : nothing}
      <h2>Schedules</h2>
      ${mutate && !this.editing ? html`<button class="primary" @click=${() => (this.editing = 'new')}>New schedule</button>` : nothing}
      ${this.editing === 'new' ? this.renderForm(undefined) : nothing}
      <table data-testid="schedules">
        <thead>
          <tr>
            <th>Name</th>
            <th>When (UTC)</th>
            <th>VMs</th>
            <th>Target pool</th>
            <th>Retention</th>
            <th>Next run</th>
            <th>Last result</th>
            ${mutate ? html`<th>Actions</th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${list.map((s) => this.renderRow(s, mutate))}
        </tbody>
      </table>
      ${this.schedules.empty('No backup schedules.')}
      <h2>Targets</h2>
      ${this.targets.errorNotice()} ${this.renderTargets()}
      <h2>NFS targets</h2>
      <qx-backup-targets .user=${this.user} @targets-changed=${() => void this.nfsPools.reload()}></qx-backup-targets>`;
  }

  private renderRow(s: BackupScheduleDto, mutate: boolean) {
    const last = s.lastRun;
    return html`<tr data-schedule=${s.name}>
        <td>${s.name}</td>
        <td class="mono">${s.cron}</td>
        <td>${selectionText(s.selection, this.vms.value ?? [], this.clusters.value ?? [])}</td>
        <td>${s.hostId ? `${s.pool} of ${this.hostName(s.hostId)}` : s.pool}</td>
        <td>${retentionText(s)}</td>
        <td data-testid="next-run">${s.nextRunAt ? formatTime(s.nextRunAt) : 'disabled'}</td>
        <td data-testid="last-result">
          ${last ? html`${last.status} (${formatTime(last.startedAt)}${last.trigger === 'schedule' ? '' : `, ${last.trigger}`}): ${last.message}` : '—'}
        </td>
        ${
          mutate
            ? html`<td>
                <button ?disabled=${this.row.busy} @click=${() => this.onRun(s)}>Run now</button>
                <button ?disabled=${this.row.busy || !!this.editing} @click=${() => (this.editing = s.id)}>Edit</button>
                <button ?disabled=${this.row.busy} @click=${() => this.onToggle(s)}>
                  ${s.enabled ? 'Disable' : 'Enable'}
                </button>
                <button class="danger" ?disabled=${this.row.busy} @click=${() => this.onDelete(s)}>Delete</button>
              </td>`
            : nothing
        }
      </tr>
      ${
        this.editing === s.id
          ? html`<tr>
              <td colspan="8">${this.renderForm(s)}</td>
            </tr>`
          : nothing
      }`;
  }

  private hostName(hostId: string): string {
    return (this.targets.value ?? []).find((t) => t.hostId === hostId)?.hostName ?? hostId;
  }

  private renderForm(s: BackupScheduleInputDto | undefined) {
    const err = (k: string) => this.form.fieldError(k);
    const cronErr = CRON_FIELDS.map(err).find(Boolean);
    const poolNames = [
      ...new Set((this.pools.value ?? []).filter((p) => p.state === 'active').map((p) => p.name)),
      ...(this.nfsPools.value ?? []),
    ];
    const sel = s?.selection ?? { vmIds: [], tags: [], clusterIds: [] };
    const num = (name: string, label: string, value: number | undefined) =>
      formField(
        label,
        `schedule-${name}`,
        html`<input
          id=${`schedule-${name}`}
          name=${name}
          type="number"
          min="1"
          max="1000"
          placeholder="—"
          .value=${value ? String(value) : ''}
          aria-invalid=${!!err(name)}
        />`,
        err(name),
      );
    return html`<form class="card" aria-label="Backup schedule" @submit=${(e: SubmitEvent) => void this.onSave(e)}>
      ${this.form.errorNotice(SCHEDULE_FIELDS)}
      ${formField('Name', 'schedule-name', html`<input id="schedule-name" name="name" required maxlength="80" .value=${s?.name ?? ''} />`, err('name'))}
      ${formField(
        'When (cron, UTC)',
        'schedule-cron',
        html`<input
          id="schedule-cron"
          name="cron"
          required
          class="mono"
          .value=${s?.cron ?? '30 2 * * *'}
          aria-invalid=${!!cronErr}
        />`,
        cronErr,
        'minute hour day-of-month month day-of-week, e.g. 30 2 * * * (daily 02:30) or 0 1 * * 6 (Saturdays 01:00)',
      )}
      ${formField(
        'VMs with tags',
        'schedule-tags',
        html`<input
          id="schedule-tags"
          name="tags"
          placeholder="e.g. prod, nightly"
          .value=${sel.tags.join(', ')}
          aria-invalid=${!!err('selection')}
        />`,
        err('selection'),
        'comma-separated; resolved at each run',
      )}
      ${formField(
        'VMs',
        'schedule-vms',
        html`<select id="schedule-vms" name="vmIds" multiple size="4">
          ${(this.vms.value ?? []).map((v) => html`<option value=${v.id} ?selected=${sel.vmIds.includes(v.id)}>${v.name}</option>`)}
        </select>`,
      )}
      ${formField(
        'VMs of clusters',
        'schedule-clusters',
        html`<select id="schedule-clusters" name="clusterIds" multiple size="3">
          ${(this.clusters.value ?? []).map((c) => html`<option value=${c.id} ?selected=${sel.clusterIds.includes(c.id)}>${c.name}</option>`)}
        </select>`,
      )}
      ${formField(
        'Target host',
        'schedule-host',
        html`<select id="schedule-host" name="hostId">
          <option value="">each VM's own host</option>
          ${[...new Map((this.targets.value ?? []).map((t) => [t.hostId, t.hostName]))].map(
            ([id, name]) => html`<option value=${id} ?selected=${id === s?.hostId}>${name}</option>`,
          )}
        </select>`,
        err('hostId'),
        "one host receives every VM's backups (streamed between the hosts)",
      )}
      ${formField(
        'Target pool',
        'schedule-pool',
        html`<select id="schedule-pool" name="pool" required>
          ${poolNames.map((p) => html`<option ?selected=${p === s?.pool}>${p}</option>`)}
        </select>`,
        err('pool'),
        "a pool of this name on each VM's host, or on the target host",
      )}
      ${num('keepLast', 'Keep last (points)', s?.keepLast)} ${num('keepDaily', 'Keep daily (days)', s?.keepDaily)}
      ${num('keepWeekly', 'Keep weekly (weeks)', s?.keepWeekly)}
      ${num('keepMonthly', 'Keep monthly (months)', s?.keepMonthly)}
      <label><input type="checkbox" name="enabled" ?checked=${s?.enabled ?? true} /> Enabled</label>
      <div class="toolbar">
        <button class="primary" type="submit" ?disabled=${this.form.busy}>Save schedule</button>
        <button type="button" @click=${() => ((this.editing = ''), this.form.clear())}>Cancel</button>
      </div>
    </form>`;
  }

  private renderTargets() {
    const list = this.targets.value ?? [];
    return html`<table data-testid="backup-targets">
        <thead>
          <tr>
            <th>Host</th>
            <th>Pool</th>
            <th>Capacity</th>
            <th>Free</th>
            <th>VMs</th>
            <th>Points</th>
            <th>Backups take</th>
          </tr>
        </thead>
        <tbody>
          ${list.map(
            (t) =>
              html`<tr data-target=${`${t.hostName}/${t.pool}`}>
                <td>${t.hostName}</td>
                <td>${t.pool}</td>
                <td>${formatBytes(t.capacityBytes)}</td>
                <td>${formatBytes(t.availableBytes)}</td>
                <td>${t.vmCount}</td>
                <td>${t.points}</td>
                <td>${formatBytes(t.storedBytes)}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${this.targets.empty('No active pools on online hosts.')}`;
  }
}
customElements.define('qx-backups-page', QxBackupsPage);
