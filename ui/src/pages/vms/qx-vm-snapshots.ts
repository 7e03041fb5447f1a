// The snapshots tab of a VM: list, take, revert, delete.
import { LitElement, html, nothing } from 'lit';
import type { SnapshotDto } from '@dto/vms.js';
import type { TaskDto } from '@dto/tasks.js';
import { createSnapshot, deleteSnapshot, fetchSnapshots, revertSnapshot } from '../../api/vms.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { TaskController } from '../../controllers/task-controller.js';
import { formatTime } from '../../app/format.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

export class QxVmSnapshots extends LitElement {
  static override properties = { vmId: { type: String }, canMutate: { type: Boolean } };
  declare vmId: string;
  declare canMutate: boolean;
  private snaps = new ResourceController<SnapshotDto[]>(this, (s) => fetchSnapshots(this.vmId, s));
  private action = new ActionController(this);
  private task = new TaskController(this);

  static override styles = sharedStyles;

  private async run(fn: () => Promise<TaskDto>): Promise<boolean> {
    const ok = await this.action.run(async () => this.task.follow(await fn()));
    void this.snaps.reload();
    return ok;
  }

  private onCreate(e: SubmitEvent): void {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const name = String(new FormData(form).get('name')).trim();
    void this.run(() => createSnapshot(this.vmId, { name })).then(() => form.reset());
  }

  override render() {
    const list = this.snaps.value ?? [];
    const nameError = this.action.fieldError('name');
    return html`${this.action.formError(['name']) ? this.action.errorNotice(['name']) : this.snaps.errorNotice()}
      ${
        this.canMutate
          ? html`<form class="toolbar" @submit=${this.onCreate}>
              ${formField('Snapshot name', 'snap-name', html`<input id="snap-name" name="name" required pattern="[A-Za-z0-9._-]+" aria-invalid=${!!nameError} />`, nameError)}
              <button class="primary" type="submit" ?disabled=${this.action.busy}>Take snapshot</button>
            </form>`
          : nothing
      }
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Taken</th>
            <th>VM state</th>
            ${this.canMutate ? html`<th>Actions</th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${list.map(
            (s) =>
              html`<tr>
                <td>${s.name}</td>
                <td>${formatTime(s.createdAt ?? undefined)}</td>
                <td>${s.state}${s.current ? ' (current)' : ''}</td>
                ${
                  this.canMutate
                    ? html`<td>
                        <button
                          ?disabled=${this.action.busy}
                          @click=${() => this.run(() => revertSnapshot(this.vmId, s.name))}
                        >
                          Revert
                        </button>
                        <button
                          class="danger"
                          ?disabled=${this.action.busy}
                          @click=${() => confirm(`Delete snapshot ${s.name}?`) && this.run(() => deleteSnapshot(this.vmId, s.name))}
                        >
                          Delete
                        </button>
                      </td>`
                    : nothing
                }
              </tr>`,
          )}
        </tbody>
      </table>
      ${this.snaps.empty('No snapshots.')}`;
  }
}
customElements.define('qx-vm-snapshots', QxVmSnapshots);
