// The NFS backup targets on the Backups page (#24): each export with its state (or why it cannot
// be mounted), capacity, free space and the VMs with backups on it; admins add and remove targets.
import { LitElement, html, nothing } from 'lit';
import type { UserDto } from '@dto/auth.js';
import type { NfsTargetDto, NfsTargetInputDto } from '@dto/backup-targets.js';
import { createNfsBackupTarget, deleteNfsBackupTarget, fetchNfsBackupTargets } from '../../api/backup-targets.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import { formatBytes, formatTime } from '../../app/format.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

const OPTION_FIELDS = [...Array(12).keys()].map((i) => `options[${i}]`);
/** The fields the form shows errors next to (the rest go to its top). */
const FIELDS = ['name', 'server', 'exportPath', 'version', 'options', ...OPTION_FIELDS];

/** The form's values as the API's input; options are comma- or space-separated. */
export function nfsTargetInput(data: FormData): NfsTargetInputDto {
  const options = String(data.get('options') ?? '')
    .split(/[\s,]+/)
    .filter(Boolean);
  return {
    name: String(data.get('name') ?? '').trim(),
    server: String(data.get('server') ?? '').trim(),
    exportPath: String(data.get('exportPath') ?? '').trim(),
    version: String(data.get('version') ?? '4.2') as NfsTargetInputDto['version'],
    options,
  };
}

export class QxBackupTargets extends LitElement {
  static override properties = {
    user: { attribute: false },
    adding: { state: true },
    notice: { state: true },
  };
  declare user: UserDto | undefined;
  declare adding: boolean;
  declare notice: string;
  private targets = new ResourceController<NfsTargetDto[]>(this, fetchNfsBackupTargets);
  private form = new ActionController(this);
  private row = new ActionController(this);

  static override styles = sharedStyles;

  constructor() {
    super();
    this.adding = false;
    this.notice = '';
    // A backup task ending changes what the targets hold.
    new EventsController(this, {
      task: (d) => {
        const t = d as { kind?: string; status?: string };
        if (t.kind?.startsWith('vm.backup') && t.status !== 'running') void this.targets.reload();
      },
    });
  }

  private async onAdd(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const req = nfsTargetInput(new FormData(e.target as HTMLFormElement));
    const ok = await this.form.run(async () => {
      const t = await createNfsBackupTarget(req);
      this.notice = `NFS target ${t.name} added${t.error ? `; it cannot be mounted now: ${t.error}` : ''}`;
    });
    if (ok) {
      this.adding = false;
      this.dispatchEvent(new CustomEvent('targets-changed', { bubbles: true, composed: true }));
      void this.targets.reload();
    }
  }

  private onRemove(t: NfsTargetDto): void {
    if (!confirm(`Remove NFS target ${t.name}? The backups on ${t.server}:${t.exportPath} stay there.`)) return;
    this.notice = '';
    void this.row
      .run(async () => {
        await deleteNfsBackupTarget(t.id);
        this.notice = `NFS target ${t.name} removed`;
        this.dispatchEvent(new CustomEvent('targets-changed', { bubbles: true, composed: true }));
      })
      .then(() => this.targets.reload());
  }

  override render() {
    const admin = this.user?.role === 'admin';
    const list = this.targets.value ?? [];
    return html`${this.notice ? html`<p class="notice" role="status">${this.notice}</p>` : nothing}
      ${this.row.errorNotice()} ${this.targets.errorNotice()}
      ${
        admin && !this.adding
          ? html`<div class="toolbar">
              <button @click=${() => ((this.adding = true), this.form.clear())}>Add NFS target…</button>
            </div>`
          : nothing
      }
      ${this.adding ? this.renderForm() : nothing}
      <table data-testid="nfs-targets">
        <thead>
          <tr>
            <th>Name</th>
            <th>Export</th>
            <th>State</th>
            <th>Capacity</th>
            <th>Free</th>
            <th>Backups held</th>
            ${admin ? html`<th></th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${list.map((t) => this.renderRow(t, admin))}
        </tbody>
      </table>
      ${this.targets.empty('No NFS targets.')}`;
  }

  private renderRow(t: NfsTargetDto, admin: boolean) {
    const ok = t.state === 'ok';
    return html`<tr data-target=${t.pool}>
      <td>${t.name}</td>
      <td class="mono">
        ${t.server}:${t.exportPath} (NFS ${t.version}${t.options.length ? `, ${t.options.join(',')}` : ''})
      </td>
      <td>${ok ? html`mounted by ${t.hostName}` : html`<span class="error" role="alert">${t.error}</span>`}</td>
      <td>${ok ? formatBytes(t.capacityBytes) : '—'}</td>
      <td>${ok ? formatBytes(t.availableBytes) : '—'}</td>
      <td>
        ${
          t.vms.length
            ? html`<ul>
                ${t.vms.map(
                  (v) =>
                    html`<li>
                      ${v.vmName}: ${v.points} point${v.points === 1 ? '' : 's'}, ${formatBytes(v.storedBytes)}, latest
                      ${formatTime(v.latestAt)}
                    </li>`,
                )}
              </ul>`
            : ok
              ? 'none'
              : '—'
        }
      </td>
      ${
        admin
          ? html`<td>
              <button class="danger" ?disabled=${this.row.busy} @click=${() => this.onRemove(t)}>Remove</button>
            </td>`
          : nothing
      }
    </tr>`;
  }

  private renderForm() {
    const err = (k: string) => this.form.fieldError(k);
    const optionErr = OPTION_FIELDS.map(err).find(Boolean) ?? err('options');
    const text = (name: string, label: string, placeholder: string, hint?: string) =>
      formField(
        label,
        `nfs-${name}`,
        html`<input
          id=${`nfs-${name}`}
          name=${name}
          required
          placeholder=${placeholder}
          aria-invalid=${!!err(name)}
        />`,
        err(name),
        hint,
      );
    return html`<form class="card" aria-label="NFS target" @submit=${(e: SubmitEvent) => void this.onAdd(e)}>
      ${this.form.errorNotice(FIELDS)} ${text('name', 'Name', 'e.g. nas1', 'backups on it show as pool nfs:<name>')}
      ${text('server', 'NFS server', 'host name or IP address')}
      ${text('exportPath', 'Export path', '/srv/backups', 'every host mounts it; root on the hosts must be able to write')}
      ${formField(
        'NFS version',
        'nfs-version',
        html`<select id="nfs-version" name="version">
          <option>4.2</option>
          <option>4.1</option>
          <option>4</option>
        </select>`,
        err('version'),
      )}
      ${formField(
        'Extra mount options',
        'nfs-options',
        html`<input
          id="nfs-options"
          name="options"
          class="mono"
          placeholder="e.g. nconnect=4"
          aria-invalid=${!!optionErr}
        />`,
        optionErr,
        'allowed: rsize, wsize, timeo, retrans, port, nconnect, actimeo, proto=tcp|tcp6, sec=sys, lookupcache, noresvport, nocto, noac; always soft with bounded timeouts, nosuid, nodev, noexec',
      )}
      <div class="toolbar">
        <button class="primary" type="submit" ?disabled=${this.form.busy}>Add target</button>
        <button type="button" @click=${() => ((this.adding = false), this.form.clear())}>Cancel</button>
      </div>
    </form>`;
  }
}
customElements.define('qx-backup-targets', QxBackupTargets);
