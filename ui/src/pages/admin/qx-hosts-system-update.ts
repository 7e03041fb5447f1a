// The other appliance hosts on the Updates page (admin): each host's system version and whether
// the vDC can update it with the uploaded bundle; "Update all hosts" runs them one at a time as
// one task, whose progress shows here. This appliance itself: the update section above it.
import { LitElement, html, nothing } from 'lit';
import type { HostDto } from '@dto/hosts.js';
import { updateAllHostSystems } from '../../api/appliance-update.js';
import { fetchHosts } from '../../api/hosts.js';
import { ActionController } from '../../controllers/action-controller.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { TaskController } from '../../controllers/task-controller.js';
import { sharedStyles } from '../../components/shared-styles.js';
import '../../components/qx-progress-bar.js';

export class QxHostsSystemUpdate extends LitElement {
  static override properties = { bundleVersion: { attribute: false } };
  /** The uploaded bundle's version ('' when none): hosts on another version are behind. */
  declare bundleVersion: string;
  private hosts = new ResourceController<HostDto[]>(this, fetchHosts);
  private action = new ActionController(this);
  private task = new TaskController(this);

  static override styles = [sharedStyles];

  private updateAll(behind: HostDto[]): void {
    const names = behind.map((h) => h.name).join(', ');
    if (!confirm(`Update ${names} to ${this.bundleVersion}, one host at a time? Each enters maintenance and reboots.`))
      return;
    void this.action.run(async () => {
      await this.task.follow(await updateAllHostSystems());
      void this.hosts.reload();
    }, 'update-all');
  }

  override render() {
    return html`<section aria-labelledby="hosts-update-h">
      <h3 id="hosts-update-h">Other hosts</h3>
      ${this.hosts.render({ complete: (hosts) => this.renderHosts(hosts) })}
    </section>`;
  }

  private renderHosts(all: HostDto[]) {
    const hosts = all.filter((h) => !h.local);
    const updatable = (h: HostDto) => h.system.installed && !h.system.updateBlocker && h.status === 'online';
    const behind = hosts.filter((h) => updatable(h) && this.bundleVersion && h.system.version !== this.bundleVersion);
    const t = this.task.task;
    return html`<table>
        <thead>
          <tr>
            <th>Host</th>
            <th>System</th>
            <th>Update</th>
          </tr>
        </thead>
        <tbody>
          ${hosts.map(
            (h) =>
              html`<tr>
                <td><a href="#/hosts/${encodeURIComponent(h.id)}">${h.name}</a></td>
                <td>${h.system.version || '—'}${h.system.slot ? ` (slot ${h.system.slot})` : ''}</td>
                <td>
                  ${
                    !updatable(h)
                      ? h.system.updateBlocker || h.status
                      : behind.includes(h)
                        ? `behind: can be updated to ${this.bundleVersion}`
                        : 'up to date'
                  }
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${this.hosts.empty('No other hosts.', hosts)}
      <div class="toolbar">
        <button
          ?disabled=${this.action.busy || !behind.length}
          @click=${() => this.updateAll(behind)}
          title=${this.bundleVersion ? '' : 'Upload a bundle first'}
        >
          Update all hosts
        </button>
      </div>
      ${
        t?.status === 'running'
          ? html`<qx-progress-bar .value=${t.progress ?? 0} label="Updating hosts" .phase=${t.phase}></qx-progress-bar>`
          : nothing
      }
      ${t?.status === 'succeeded' ? html`<p class="notice info" role="status">All hosts updated.</p>` : nothing}
      ${this.action.errorNotice()}`;
  }
}
customElements.define('qx-hosts-system-update', QxHostsSystemUpdate);
