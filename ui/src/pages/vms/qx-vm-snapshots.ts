// The snapshots tab of a VM: list, take, revert, delete.
import { LitElement, html, nothing } from 'lit';
import { createSnapshot, deleteSnapshot, fetchSnapshots, revertSnapshot, type SnapshotDto } from '../../api/vms.js';
import { fieldError, formError } from '../../api/client.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { followIfTask } from '../../controllers/task-tracker.js';
import { formatTime } from '../../app/format.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

export class QxVmSnapshots extends LitElement {
  static override properties = { vmId: { type: String }, canMutate: { type: Boolean }, error: { state: true }, busy: { state: true } };
  declare vmId: string;
  declare canMutate: boolean;
  declare error: unknown;
  declare busy: boolean;
  private snaps = new ResourceController<SnapshotDto[]>(this, (s) => fetchSnapshots(this.vmId, s));

  static override styles = sharedStyles;

  private async run(fn: () => Promise<unknown>): Promise<void> {
    this.busy = true;
    this.error = undefined;
    try {
      await followIfTask(await fn());
    } catch (err) {
      this.error = err;
    } finally {
      this.busy = false;
      void this.snaps.reload();
    }
  }

  private onCreate(e: SubmitEvent): void {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const name = String(new FormData(form).get('name')).trim();
    void this.run(() => createSnapshot(this.vmId, name)).then(() => form.reset());
  }

  override render() {
    const list = this.snaps.value ?? [];
    const top = formError(this.error, ['name']) ?? (this.snaps.error ? (this.snaps.error as Error).message : '');
    return html`${top ? html`<div class="notice error" role="alert">${top}</div>` : nothing}
      ${this.canMutate
        ? html`<form class="toolbar" @submit=${this.onCreate}>
            ${formField('Snapshot name', 'snap-name', html`<input id="snap-name" name="name" required pattern="[A-Za-z0-9._-]+" aria-invalid=${!!fieldError(this.error, 'name')} />`, fieldError(this.error, 'name'))}
            <button class="primary" type="submit" ?disabled=${this.busy}>Take snapshot</button>
          </form>`
        : nothing}
      <table><thead><tr><th>Name</th><th>Taken</th><th>VM state</th>${this.canMutate ? html`<th>Actions</th>` : nothing}</tr></thead>
        <tbody>${list.map(
          (s) => html`<tr><td>${s.name}</td><td>${formatTime(s.createdAt ?? undefined)}</td><td>${s.state}${s.current ? ' (current)' : ''}</td>
            ${this.canMutate ? html`<td><button ?disabled=${this.busy} @click=${() => this.run(() => revertSnapshot(this.vmId, s.name))}>Revert</button>
              <button class="danger" ?disabled=${this.busy} @click=${() => confirm(`Delete snapshot ${s.name}?`) && this.run(() => deleteSnapshot(this.vmId, s.name))}>Delete</button></td>` : nothing}</tr>`,
        )}</tbody></table>
      ${list.length === 0 && !this.snaps.loading ? html`<p class="empty">No snapshots.</p>` : nothing}`;
  }
}
customElements.define('qx-vm-snapshots', QxVmSnapshots);
