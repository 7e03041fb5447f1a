// "Migrate…" for one VM (operators): destination host and pool from placement's preview (each
// host's reasons when it cannot take the VM, the recommended one preselected), whether the move is
// live, cold or a storage move, then the task's progress (phase, disk/memory %, expected downtime)
// with Cancel, and its outcome.
import { LitElement, css, html, nothing } from 'lit';
import type { MigrationTargetDto } from '@dto/migrations.js';
import type { TaskDto } from '@dto/tasks.js';
import type { VmDto } from '@dto/vms.js';
import { fetchMigrationTargets, migrateVm, moveKind } from '../../api/migrations.js';
import { cancelTask } from '../../api/tasks.js';
import { formatBytes } from '../../app/format.js';
import { ActionController } from '../../controllers/action-controller.js';
import { TaskController } from '../../controllers/task-controller.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';
import '../../components/qx-progress-bar.js';

const KIND_TEXT = {
  live: 'Live migration: the VM keeps running while its memory and disks are copied',
  cold: 'Cold migration: the stopped VM’s disks are copied, then it is defined there',
  'storage move': 'Storage move: its disks are copied to the other pool (a block copy while it runs)',
} as const;

interface MigrateDetail {
  diskPercent?: number;
  memoryPercent?: number;
  expectedDowntimeMs?: number;
}

export class QxVmMigrateDialog extends LitElement {
  static override properties = {
    vm: { attribute: false },
    open: { state: true },
    targets: { state: true },
    hostId: { state: true },
    poolId: { state: true },
  };
  declare vm: VmDto;
  declare open: boolean;
  declare targets: MigrationTargetDto[] | undefined;
  declare hostId: string;
  declare poolId: string;
  private action = new ActionController(this);
  private task = new TaskController(this);
  private loading: AbortController | undefined;

  static override styles = [
    sharedStyles,
    css`
      :host {
        display: inline-block;
      }
      .panel {
        margin-top: 0.5rem;
        padding: 0.75rem;
        max-width: 36rem;
        border: 1px solid var(--qx-border, #ccc);
        border-radius: 4px;
        background: var(--qx-surface, #fff);
      }
      ul.reasons {
        margin: 0.2rem 0 0.5rem;
        padding-left: 1.2rem;
        font-size: 0.85rem;
      }
    `,
  ];

  constructor() {
    super();
    this.open = false;
    this.hostId = '';
    this.poolId = '';
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.loading?.abort();
  }

  private async toggle(): Promise<void> {
    this.open = !this.open;
    if (!this.open) return;
    this.targets = undefined;
    this.loading?.abort();
    this.loading = new AbortController();
    await this.action.run(async () => {
      const targets = await fetchMigrationTargets(this.vm.id, this.loading!.signal);
      this.targets = targets;
      const first = targets.find((t) => t.recommended) ?? targets.find((t) => t.ok);
      this.pickHost(first?.hostId ?? '');
    }, 'load');
  }

  private pickHost(hostId: string): void {
    this.hostId = hostId;
    const pools = this.targets?.find((t) => t.hostId === hostId)?.pools ?? [];
    this.poolId = pools.find((p) => p.ok)?.poolId ?? '';
  }

  private async onSubmit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    await this.action.run(async () => {
      await this.task.follow(await migrateVm(this.vm.id, { hostId: this.hostId, poolId: this.poolId }));
    }, 'migrate');
  }

  private async onCancel(t: TaskDto): Promise<void> {
    await this.action.run(() => cancelTask(t.id), 'cancel');
  }

  override render() {
    return html`<button aria-expanded=${this.open} aria-controls="vm-migrate" @click=${() => this.toggle()}>
        Migrate…
      </button>
      ${
        this.open
          ? html`<section class="panel" id="vm-migrate" role="dialog" aria-label="Migrate ${this.vm.name}">
              ${this.renderBody()} ${this.action.errorNotice(['hostId', 'poolId'])}
            </section>`
          : nothing
      }`;
  }

  private renderBody() {
    const t = this.task.task;
    if (t) return this.renderTask(t);
    if (!this.targets) return html`<p class="muted" role="status">Checking the hosts…</p>`;
    const target = this.targets.find((x) => x.hostId === this.hostId);
    const blocked = this.targets.filter((x) => !x.ok);
    const busy = this.action.busy;
    return html`<form @submit=${this.onSubmit}>
      ${formField(
        'Destination host',
        'migrate-host',
        html`<select
          id="migrate-host"
          name="hostId"
          @change=${(e: Event) => this.pickHost((e.target as HTMLSelectElement).value)}
        >
          ${this.targets.map(
            (x) =>
              html`<option value=${x.hostId} ?selected=${x.hostId === this.hostId} ?disabled=${!x.ok}>
                ${x.hostName}${x.hostId === this.vm.hostId ? ' (its host)' : ''}${x.recommended ? ' — recommended' : ''}${x.ok ? '' : ' — cannot take it'}
              </option>`,
          )}
        </select>`,
      )}
      ${
        blocked.length
          ? html`<ul class="reasons" data-testid="migrate-reasons">
              ${blocked.map((x) => html`<li><strong>${x.hostName}</strong>: ${x.reasons.join('; ')}</li>`)}
            </ul>`
          : nothing
      }
      ${
        target
          ? html`${formField(
                'Destination pool',
                'migrate-pool',
                html`<select
                  id="migrate-pool"
                  name="poolId"
                  @change=${(e: Event) => (this.poolId = (e.target as HTMLSelectElement).value)}
                >
                  ${target.pools.map(
                    (p) =>
                      html`<option value=${p.poolId} ?selected=${p.poolId === this.poolId} ?disabled=${!p.ok}>
                        ${p.name} — ${formatBytes(p.freeBytes)} free${p.reason ? ` (${p.reason})` : ''}
                      </option>`,
                  )}
                </select>`,
              )}
              <p class="muted" data-testid="migrate-kind">${KIND_TEXT[moveKind(this.vm, target.hostId)]}</p>`
          : nothing
      }
      <div class="toolbar">
        <button class="primary" type="submit" ?disabled=${busy || !target?.ok || !this.poolId}>Migrate</button>
        <button type="button" @click=${() => (this.open = false)}>Close</button>
      </div>
    </form>`;
  }

  private renderTask(t: TaskDto) {
    const d = (t.detail ?? {}) as MigrateDetail;
    const running = t.status === 'running';
    const figures = [
      d.diskPercent !== undefined ? `disks ${Math.round(d.diskPercent)}%` : '',
      d.memoryPercent !== undefined ? `memory ${Math.round(d.memoryPercent)}%` : '',
      d.expectedDowntimeMs ? `expected downtime ${d.expectedDowntimeMs} ms` : '',
    ].filter(Boolean);
    const result = t.result as { totalMs?: number; downtimeMs?: number } | null;
    return html`<qx-progress-bar
        .value=${t.progress ?? 0}
        label="Moving ${this.vm.name}"
        .phase=${t.phase}
        tone=${t.status === 'failed' ? 'error' : t.status === 'succeeded' ? 'ok' : ''}
      ></qx-progress-bar>
      ${figures.length ? html`<p class="muted" data-testid="migrate-figures">${figures.join(' · ')}</p>` : nothing}
      ${
        running
          ? html`<div class="toolbar">
              <button
                ?disabled=${this.action.running === 'cancel' || t.phase === 'cancelling'}
                @click=${() => this.onCancel(t)}
              >
                Cancel
              </button>
            </div>`
          : t.status === 'succeeded'
            ? html`<p class="notice ok" role="status" data-testid="migrate-done">
                Moved in ${((result?.totalMs ?? 0) / 1000).toFixed(1)}
                s${result?.downtimeMs ? `, downtime ${result.downtimeMs} ms` : ''}.
              </p>`
            : html`<p class="notice error" role="alert">${t.error}</p>`
      }`;
  }
}
customElements.define('qx-vm-migrate-dialog', QxVmMigrateDialog);
