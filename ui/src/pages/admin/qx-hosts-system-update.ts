// The other appliance hosts on the Updates page (admin): each host's system version and whether
// the vDC would update it with the uploaded bundle (the server's plan: only hosts older than the
// bundle); "Update all hosts" runs them one at a time as one task, whose progress shows here.
// This appliance itself: the update section above it.
import { LitElement, html, nothing } from 'lit';
import type { HostDto } from '@dto/hosts.js';
import { type HostUpdatePlanDto, fetchHostUpdatePlan, updateAllHostSystems } from '../../api/appliance-update.js';
import { fetchHosts } from '../../api/hosts.js';
import { ActionController } from '../../controllers/action-controller.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { TaskController } from '../../controllers/task-controller.js';
import { sharedStyles } from '../../components/shared-styles.js';
import '../../components/qx-progress-bar.js';

export class QxHostsSystemUpdate extends LitElement {
  static override properties = { bundleVersion: { attribute: false } };
  /** The uploaded bundle's version ('' when none); the plan is asked for again when it changes. */
  declare bundleVersion: string;
  private hosts = new ResourceController<HostDto[]>(this, fetchHosts);
  private plan = new ResourceController<HostUpdatePlanDto | undefined>(this, (signal) =>
    this.bundleVersion ? fetchHostUpdatePlan(signal) : Promise.resolve(undefined),
  );
  private action = new ActionController(this);
  private task = new TaskController(this);

  static override styles = [sharedStyles];

  override updated(changed: Map<string, unknown>): void {
    if (changed.has('bundleVersion')) void this.plan.reload();
  }

  private updateAll(behind: HostDto[]): void {
    const names = behind.map((h) => h.name).join(', ');
    if (!confirm(`Update ${names} to ${this.bundleVersion}, one host at a time? Each enters maintenance and reboots.`))
      return;
    void this.action.run(async () => {
      await this.task.follow(await updateAllHostSystems());
      void this.hosts.reload();
      void this.plan.reload();
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
    const plan = this.plan.value?.bundleVersion === this.bundleVersion ? this.plan.value : undefined;
    const planned = (h: HostDto) => plan?.hosts.find((p) => p.id === h.id);
    const behind = hosts.filter((h) => updatable(h) && planned(h)?.update);
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
                        : !plan
                          ? '—'
                          : h.system.version === this.bundleVersion
                            ? 'up to date'
                            : `skipped: ${planned(h)?.reason ?? 'not in the plan'}`
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
      ${t?.status === 'succeeded' ? html`<p class="notice info" role="status">${updatedText(t.result)}</p>` : nothing}
      ${this.plan.errorNotice()} ${this.action.errorNotice()}`;
  }
}

/** The hosts.update task's result in words: the hosts updated, and those skipped with why. */
function updatedText(result: unknown): string {
  const r = result as { hosts?: { name: string }[]; skipped?: { name: string; reason: string }[] } | null;
  const skipped = (r?.skipped ?? []).map((s) => `${s.name} (${s.reason})`);
  return `Updated: ${(r?.hosts ?? []).map((h) => h.name).join(', ') || 'none'}.${skipped.length ? ` Skipped: ${skipped.join('; ')}.` : ''}`;
}

customElements.define('qx-hosts-system-update', QxHostsSystemUpdate);
