// The Backups tab of a VM (#24): its backups in the pools of its host and of other hosts (time,
// kind, consistency, size), Back up now into a chosen pool of its host or another host, and per point Restore to a new VM, Restore over this VM
// (shut off, its name typed to confirm), Restore one disk as a new volume, Verify and Delete (the
// whole chain after confirmation when incrementals build on it).
import { LitElement, html, nothing } from 'lit';
import type { BackupDto, BackupTargetDto, BackupVerifyResultDto } from '@dto/backups.js';
import type { PoolDto } from '@dto/storage.js';
import type { TaskDto } from '@dto/tasks.js';
import {
  backUpVm,
  deleteBackup,
  dependentsOf,
  fetchBackupTargets,
  fetchVmBackups,
  restoreBackup,
  restoreBackupDisk,
  restoreBackupOverVm,
  verifyBackup,
} from '../../api/backups.js';
import { fetchHostPools } from '../../api/storage.js';
import { fetchNfsBackupTargets } from '../../api/backup-targets.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { TaskController } from '../../controllers/task-controller.js';
import { formatBytes, formatTime } from '../../app/format.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

const CONSISTENCY_TEXT = {
  application: 'application-consistent (guest agent froze the filesystems)',
  crash: 'crash-consistent',
  stopped: 'VM was off',
} as const;

export class QxVmBackups extends LitElement {
  static override properties = {
    vmId: { type: String },
    hostId: { type: String },
    canMutate: { type: Boolean },
    vmName: { type: String },
    vmState: { type: String },
    restoring: { state: true },
    form: { state: true },
    notice: { state: true },
    targetHost: { state: true },
    restoreHost: { state: true },
  };
  declare vmId: string;
  declare hostId: string;
  declare canMutate: boolean;
  /** The point whose Restore form is open. */
  declare restoring: BackupDto | undefined;
  declare vmName: string;
  declare vmState: string;
  /** The point whose Restore over / Restore disk form is open. */
  declare form: { b: BackupDto; kind: 'over' | 'disk' } | undefined;
  declare notice: string;
  /** The host chosen in Back up now ("" = the VM's own). */
  declare targetHost: string;
  /** The host chosen in a Restore / Restore disk form ("" = the one holding the point). */
  declare restoreHost: string;
  private backups = new ResourceController<BackupDto[]>(this, (s) => fetchVmBackups(this.vmId, s));
  /** The NFS backup targets (nfs:<name>), offered after the pools. */
  private nfsPools = new ResourceController<string[]>(this, async (s) =>
    (await fetchNfsBackupTargets(s)).map((t) => t.pool),
  );
  private pools = new ResourceController<PoolDto[]>(this, async (s) =>
    (await fetchHostPools(this.hostId, s)).filter((p) => p.state === 'active'),
  );
  /** Every host's active pools: targets on other hosts, and where a point held there restores. */
  private targets = new ResourceController<BackupTargetDto[]>(this, (s) => fetchBackupTargets(s));
  private action = new ActionController(this);
  private task = new TaskController(this);

  static override styles = sharedStyles;

  constructor() {
    super();
    this.notice = '';
    this.targetHost = '';
    this.restoreHost = '';
  }

  /** The active pools of a host, by name: the VM's host's from its pools, another's from the targets. */
  private poolsOn(hostId: string): string[] {
    if (!hostId || hostId === this.hostId) return (this.pools.value ?? []).map((p) => p.name);
    return (this.targets.value ?? []).filter((t) => t.hostId === hostId).map((t) => t.pool);
  }

  /**
   * Where a point can restore: the host holding it, or any other with an active pool (the server
   * copies the point there first). Changing it offers that host's pools.
   */
  private renderRestoreHost(b: BackupDto, id: string) {
    const hosts = [...new Set([b.hostId, this.hostId, ...(this.targets.value ?? []).map((t) => t.hostId)])];
    return formField(
      'On host',
      id,
      html`<select id=${id} @change=${(e: Event) => (this.restoreHost = (e.target as HTMLSelectElement).value)}>
        ${hosts.map(
          (h) =>
            html`<option value=${h} ?selected=${h === (this.restoreHost || b.hostId)}>
              ${this.hostName(h)}${h === b.hostId ? ' (holds the backup)' : ' (copied there first)'}
            </option>`,
        )}
      </select>`,
    );
  }

  /** The restore form's host as the API takes it: absent for the host holding the point. */
  private restoreHostOf(b: BackupDto): { hostId?: string } {
    return this.restoreHost && this.restoreHost !== b.hostId ? { hostId: this.restoreHost } : {};
  }

  private hostName(hostId: string): string {
    return (this.targets.value ?? []).find((t) => t.hostId === hostId)?.hostName ?? hostId;
  }

  private async run(fn: () => Promise<TaskDto>, done: (t: TaskDto) => string): Promise<boolean> {
    this.notice = '';
    const ok = await this.action.run(async () => {
      this.notice = done(await this.task.follow(await fn()));
    });
    void this.backups.reload();
    void this.pools.reload(); // free space in the targets
    void this.targets.reload();
    return ok;
  }

  private onBackUp(e: SubmitEvent): void {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    const keep = (name: string) => {
      const n = Number(data.get(name) || 0);
      return n ? { [name]: n } : {};
    };
    const hostId = String(data.get('hostId') ?? '');
    const req = {
      pool: String(data.get('pool')),
      ...(hostId ? { hostId } : {}),
      full: data.get('full') === 'on',
      ...keep('keepLast'),
      ...keep('keepDaily'),
      ...keep('keepWeekly'),
      ...keep('keepMonthly'),
    };
    void this.run(
      () => backUpVm(this.vmId, req),
      (t) => {
        const b = t.result as BackupDto;
        const where = b.hostId === this.hostId ? '' : ` of host ${this.hostName(b.hostId)}`;
        return `${b.kind} backup ${b.id} stored in pool ${b.pool}${where} (${CONSISTENCY_TEXT[b.consistency]})`;
      },
    );
  }

  private onRestore(e: SubmitEvent, b: BackupDto): void {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    const req = {
      name: String(data.get('name')).trim(),
      targetPool: String(data.get('targetPool')),
      ...this.restoreHostOf(b),
    };
    void this.run(
      () => restoreBackup(b, req),
      (t) => `Restored as VM ${(t.result as { name: string }).name}`,
    ).then((ok) => {
      if (ok) this.restoring = undefined;
    });
  }

  private onRestoreOver(e: SubmitEvent, b: BackupDto): void {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    const disk = String(data.get('disk'));
    const req = { confirmName: String(data.get('confirmName')).trim(), ...(disk ? { disks: [disk] } : {}) };
    void this.run(
      () => restoreBackupOverVm(b, req),
      (t) => {
        const r = t.result as { volumes: string[]; restored?: string[] };
        const also = r.restored?.length ? `; ${r.restored.join(', ')} as at the point again` : '';
        return `Restored backup ${b.id} over ${r.volumes.join(', ')}${also}`;
      },
    ).then((ok) => {
      if (ok) this.form = undefined;
    });
  }

  private onRestoreDisk(e: SubmitEvent, b: BackupDto): void {
    e.preventDefault();
    const data = new FormData(e.target as HTMLFormElement);
    const req = {
      disk: String(data.get('disk')),
      targetPool: String(data.get('targetPool')),
      name: String(data.get('name')).trim(),
      ...this.restoreHostOf(b),
    };
    void this.run(
      () => restoreBackupDisk(b, req),
      (t) => {
        const r = t.result as { pool: string; volume: string };
        return `Disk ${req.disk} restored as volume ${r.pool}/${r.volume}`;
      },
    ).then((ok) => {
      if (ok) this.form = undefined;
    });
  }

  /** Restore over this VM (its name typed) or one disk as a new volume. */
  private renderRestoreForm(b: BackupDto, kind: 'over' | 'disk') {
    const cancel = html`<button type="button" @click=${() => (this.form = undefined)}>Cancel</button>`;
    if (kind === 'over') {
      const err = this.action.fieldError('confirmName');
      return html`<tr>
        <td colspan="7">
          <form class="toolbar" @submit=${(e: SubmitEvent) => this.onRestoreOver(e, b)}>
            <p>
              Replaces the disks of VM <strong>${this.vmName}</strong> with this point (the VM must be shut off; its
              disks change only once the restored data is complete). With every disk, its vCPUs, memory, UEFI variables
              and TPM state also go back to the
              point.${
                b.hostId === this.hostId
                  ? nothing
                  : html` The point is on host ${this.hostName(b.hostId)}: it is copied to this VM's host first.`
              }
            </p>
            ${formField(
              'Disks',
              'restore-over-disk',
              html`<select id="restore-over-disk" name="disk">
                <option value="">every disk</option>
                ${b.disks.map((d) => html`<option value=${d.target}>${d.target} only</option>`)}
              </select>`,
            )}
            ${formField(
              `Type ${this.vmName} to confirm`,
              'restore-over-confirm',
              html`<input
                id="restore-over-confirm"
                name="confirmName"
                required
                autocomplete="off"
                aria-invalid=${!!err}
              />`,
              err,
            )}
            <button class="danger" type="submit" ?disabled=${this.action.busy || this.vmState !== 'shutoff'}>
              Restore over VM
            </button>
            ${cancel} ${this.vmState !== 'shutoff' ? html`<span class="muted">Shut the VM off first.</span>` : nothing}
          </form>
        </td>
      </tr>`;
    }
    const nameErr = this.action.fieldError('name');
    return html`<tr>
      <td colspan="7">
        <form class="toolbar" @submit=${(e: SubmitEvent) => this.onRestoreDisk(e, b)}>
          ${formField(
            'Disk',
            'restore-disk-disk',
            html`<select id="restore-disk-disk" name="disk">
              ${b.disks.map((d) => html`<option>${d.target}</option>`)}
            </select>`,
          )}
          ${this.renderRestoreHost(b, 'restore-disk-host')}
          ${formField(
            'To pool',
            'restore-disk-pool',
            html`<select id="restore-disk-pool" name="targetPool">
              ${this.poolsOn(this.restoreHost || b.hostId).map((p) => html`<option>${p}</option>`)}
            </select>`,
          )}
          ${formField(
            'New volume name',
            'restore-disk-name',
            html`<input id="restore-disk-name" name="name" required aria-invalid=${!!nameErr} />`,
            nameErr,
          )}
          <button class="primary" type="submit" ?disabled=${this.action.busy}>Restore disk</button>
          ${cancel}
        </form>
      </td>
    </tr>`;
  }

  private onVerify(b: BackupDto): void {
    void this.run(
      () => verifyBackup(b),
      (t) =>
        `Backup ${b.id} verified: ${formatBytes((t.result as BackupVerifyResultDto).bytesChecked)} checked, no corruption`,
    );
  }

  private onDelete(b: BackupDto): void {
    const later = dependentsOf(this.backups.value ?? [], b);
    const question = later.length
      ? `Backup ${b.id} is the base of ${later.length} later incremental(s). Delete it and them?`
      : `Delete backup ${b.id}?`;
    if (!confirm(question)) return;
    this.notice = '';
    void this.action
      .run(async () => {
        const { deletedIds } = await deleteBackup(b, later.length > 0);
        this.notice = `Deleted ${deletedIds.join(', ')}`;
      })
      .then(() => Promise.all([this.backups.reload(), this.pools.reload()]));
  }

  /** Restores on the host holding the point or another (the point copied there), into one of its pools. */
  private renderRestore(b: BackupDto) {
    const nameError = this.action.fieldError('name');
    return html`<tr>
      <td colspan="7">
        <form class="toolbar" @submit=${(e: SubmitEvent) => this.onRestore(e, b)}>
          ${formField('New VM name', 'restore-name', html`<input id="restore-name" name="name" required pattern="[A-Za-z0-9._-]+" aria-invalid=${!!nameError} />`, nameError)}
          ${this.renderRestoreHost(b, 'restore-host')}
          ${formField(
            'Disks to pool',
            'restore-pool',
            html`<select id="restore-pool" name="targetPool">
              ${this.poolsOn(this.restoreHost || b.hostId).map((p) => html`<option>${p}</option>`)}
            </select>`,
          )}
          <button class="primary" type="submit" ?disabled=${this.action.busy}>Restore</button>
          <button type="button" @click=${() => (this.restoring = undefined)}>Cancel</button>
        </form>
      </td>
    </tr>`;
  }

  override render() {
    const list = this.backups.value ?? [];
    const pools = this.pools.value ?? [];
    const targetPools = this.poolsOn(this.targetHost);
    const otherHosts = new Map(
      (this.targets.value ?? []).filter((t) => t.hostId !== this.hostId).map((t) => [t.hostId, t.hostName]),
    );
    const fields = ['name', 'confirmName'];
    return html`${this.action.formError(fields) ? this.action.errorNotice(fields) : this.backups.errorNotice()}
      ${
        this.canMutate
          ? html`<form class="toolbar" @submit=${this.onBackUp}>
              ${formField(
                'Target host',
                'backup-host',
                html`<select
                  id="backup-host"
                  name="hostId"
                  @change=${(e: Event) => (this.targetHost = (e.target as HTMLSelectElement).value)}
                >
                  <option value="">this VM's host</option>
                  ${[...otherHosts].map(([id, name]) => html`<option value=${id}>${name}</option>`)}
                </select>`,
              )}
              ${formField(
                'Target pool',
                'backup-pool',
                html`<select id="backup-pool" name="pool" required>
                  ${targetPools.map((p) => html`<option>${p}</option>`)}
                  ${
                    // An NFS target is mounted by the VM's own host.
                    this.targetHost
                      ? nothing
                      : (this.nfsPools.value ?? []).map((p) => html`<option value=${p}>${p} (NFS)</option>`)
                  }
                </select>`,
              )}
              <label><input type="checkbox" name="full" /> Full</label>
              ${formField('Keep last (points)', 'backup-keep', html`<input id="backup-keep" name="keepLast" type="number" min="1" max="1000" placeholder="all" />`)}
              ${formField('Keep daily (days)', 'backup-keep-daily', html`<input id="backup-keep-daily" name="keepDaily" type="number" min="1" max="1000" placeholder="—" />`)}
              ${formField('Keep weekly (weeks)', 'backup-keep-weekly', html`<input id="backup-keep-weekly" name="keepWeekly" type="number" min="1" max="1000" placeholder="—" />`)}
              ${formField('Keep monthly (months)', 'backup-keep-monthly', html`<input id="backup-keep-monthly" name="keepMonthly" type="number" min="1" max="1000" placeholder="—" />`)}
              <button class="primary" type="submit" ?disabled=${this.action.busy || !targetPools.length}>
                Back up now
              </button>
            </form>`
          : nothing
      }
      ${this.task.progressText ? html`<p role="status">${this.task.progressText}</p>` : nothing}
      ${this.notice ? html`<p role="status" data-testid="backup-notice">${this.notice}</p>` : nothing}
      <table>
        <thead>
          <tr>
            <th>Taken</th>
            <th>Kind</th>
            <th>Consistency</th>
            <th>Size</th>
            <th>Pool</th>
            <th>Id</th>
            ${this.canMutate ? html`<th>Actions</th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${list.map(
            (b) =>
              html`<tr data-backup=${b.id}>
                  <td>${formatTime(b.createdAt)}</td>
                  <td>${b.kind}</td>
                  <td>${CONSISTENCY_TEXT[b.consistency]}</td>
                  <td>${formatBytes(b.sizeBytes)}</td>
                  <td>${b.hostId === this.hostId ? b.pool : `${b.pool} (${this.hostName(b.hostId)})`}</td>
                  <td class="mono">${b.id}</td>
                  ${
                    this.canMutate
                      ? html`<td>
                          <button
                            ?disabled=${this.action.busy}
                            @click=${() => {
                              this.restoring = b;
                              this.restoreHost = '';
                            }}
                          >
                            Restore…
                          </button>
                          <button ?disabled=${this.action.busy} @click=${() => (this.form = { b, kind: 'over' })}>
                            Restore over VM…
                          </button>
                          <button
                            ?disabled=${this.action.busy}
                            @click=${() => {
                              this.form = { b, kind: 'disk' };
                              this.restoreHost = '';
                            }}
                          >
                            Restore disk…
                          </button>
                          <button ?disabled=${this.action.busy} @click=${() => this.onVerify(b)}>Verify</button>
                          <button class="danger" ?disabled=${this.action.busy} @click=${() => this.onDelete(b)}>
                            Delete
                          </button>
                        </td>`
                      : nothing
                  }
                </tr>
                ${this.restoring?.id === b.id ? this.renderRestore(b) : nothing}
                ${this.form?.b.id === b.id ? this.renderRestoreForm(b, this.form.kind) : nothing}`,
          )}
        </tbody>
      </table>
      ${this.backups.empty('No backups.')} ${this.renderUsage(list, pools)}`;
  }

  /** What each target pool holds of this VM's backups and the room left for the next ones. */
  private renderUsage(list: BackupDto[], pools: PoolDto[]) {
    if (!pools.length) return nothing;
    const used = new Map<string, number>();
    for (const b of list.filter((x) => x.hostId === this.hostId))
      used.set(b.pool, (used.get(b.pool) ?? 0) + b.sizeBytes);
    return html`<table data-testid="backup-targets">
      <caption>
        Backup targets
      </caption>
      <thead>
        <tr>
          <th>Pool</th>
          <th>This VM's backups</th>
          <th>Points</th>
          <th>Free</th>
          <th>Capacity</th>
        </tr>
      </thead>
      <tbody>
        ${pools.map(
          (p) =>
            html`<tr data-pool=${p.name}>
              <td>${p.name}</td>
              <td>${formatBytes(used.get(p.name) ?? 0)}</td>
              <td>${list.filter((b) => b.pool === p.name && b.hostId === this.hostId).length}</td>
              <td>${formatBytes(p.availableBytes)}</td>
              <td>${formatBytes(p.capacityBytes)}</td>
            </tr>`,
        )}
      </tbody>
    </table>`;
  }
}
customElements.define('qx-vm-backups', QxVmBackups);
