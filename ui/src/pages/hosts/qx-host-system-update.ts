// A host's appliance system on its page: version and slot, whether the vDC can update it (or
// why not), and for admins "Update host" (confirmed) with the host.update task's progress.
import { LitElement, html, nothing } from 'lit';
import type { HostDto } from '@dto/hosts.js';
import { updateHostSystem } from '../../api/appliance-update.js';
import { ActionController } from '../../controllers/action-controller.js';
import { TaskController } from '../../controllers/task-controller.js';
import { sharedStyles } from '../../components/shared-styles.js';
import '../../components/qx-progress-bar.js';

export class QxHostSystemUpdate extends LitElement {
  static override properties = { host: { attribute: false }, admin: { type: Boolean } };
  declare host: HostDto;
  declare admin: boolean;
  private action = new ActionController(this);
  private task = new TaskController(this);

  static override styles = [sharedStyles];

  private startUpdate(): void {
    const h = this.host;
    const text = `Update host ${h.name}? It enters maintenance (its VMs move away), installs the vDC's uploaded bundle and reboots.`;
    if (!confirm(text)) return;
    const allowDowngrade = this.renderRoot.querySelector<HTMLInputElement>('#allow-downgrade')?.checked ?? false;
    void this.action.run(async () => this.task.follow(await updateHostSystem(h.id, { allowDowngrade })), 'update');
  }

  override render() {
    const h = this.host;
    if (!h) return nothing;
    const s = h.system;
    const t = this.task.task;
    const running = t?.status === 'running';
    return html`<h2>System</h2>
      <section class="card" aria-label="System" data-testid="host-system">
        <p>${s.installed ? html`Quantix-vDC ${s.version} (slot ${s.slot})` : s.version || '—'}</p>
        ${s.updateBlocker ? html`<div class="muted" style="font-size:.85rem">${s.updateBlocker}</div>` : nothing}
        ${
          this.admin && s.installed && !s.updateBlocker
            ? html`<button ?disabled=${this.action.busy || running || h.status !== 'online'} @click=${this.startUpdate}>
                  Update host
                </button>
                <label title="Install a bundle older than this host's system (refused otherwise)"
                  ><input id="allow-downgrade" type="checkbox" /> Allow downgrade</label
                >`
            : nothing
        }
        ${
          running
            ? html`<qx-progress-bar
                .value=${t.progress ?? 0}
                label="Updating ${h.name}"
                .phase=${t.phase}
              ></qx-progress-bar>`
            : nothing
        }
        ${t?.status === 'succeeded' ? html`<p class="notice info" role="status">Updated to ${s.version}.</p>` : nothing}
        ${this.action.errorNotice()}
      </section>`;
  }
}
customElements.define('qx-host-system-update', QxHostSystemUpdate);
