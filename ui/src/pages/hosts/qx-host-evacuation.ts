// A host's evacuation (entering maintenance moves its VMs away): the maintenance state, the
// host.evacuate task's progress, and afterwards what moved and every VM that could not, with why.
import { LitElement, html, nothing } from 'lit';
import type { HostDto } from '@dto/hosts.js';
import { fetchTask } from '../../api/tasks.js';
import { TaskController } from '../../controllers/task-controller.js';
import { sharedStyles } from '../../components/shared-styles.js';
import '../../components/qx-progress-bar.js';

interface EvacuationResult {
  moved: { vmId: string; name: string }[];
  left: { vmId: string; name: string }[];
  unmovable: { vmId: string; name: string; reason: string }[];
}

const STATE_TEXT = {
  off: '',
  entering: 'Entering maintenance: its VMs are being moved away, or some could not move',
  in: 'In maintenance: no VM that had to leave is on it',
} as const;

export class QxHostEvacuation extends LitElement {
  static override properties = { host: { attribute: false } };
  declare host: HostDto;
  private task = new TaskController(this);
  private following = '';

  static override styles = [sharedStyles];

  override updated(): void {
    const id = this.host?.evacuationTaskId;
    if (!id || id === this.following) return;
    this.following = id;
    void fetchTask(id)
      .then((t) => this.task.follow(t))
      .catch(() => undefined);
  }

  override render() {
    const h = this.host;
    if (!h || h.maintenanceState === 'off') return nothing;
    const t = this.task.task;
    const result = t?.status === 'succeeded' ? (t.result as EvacuationResult) : undefined;
    return html`<section aria-label="Evacuation" data-testid="host-evacuation">
      <p role="status">${STATE_TEXT[h.maintenanceState]}</p>
      ${
        t?.status === 'running'
          ? html`<qx-progress-bar
              .value=${t.progress ?? 0}
              label="Evacuating ${h.name}"
              .phase=${t.phase}
            ></qx-progress-bar>`
          : nothing
      }
      ${t?.status === 'failed' ? html`<p class="notice error" role="alert">${t.error}</p>` : nothing}
      ${
        result
          ? html`<p class="muted">
                Moved:
                ${result.moved.map((v) => v.name).join(', ') || 'none'}${
                  result.left.length ? html`; left (stopped): ${result.left.map((v) => v.name).join(', ')}` : nothing
                }
              </p>
              ${
                result.unmovable.length
                  ? html`<h3>Could not move</h3>
                      <ul data-testid="evacuation-unmovable">
                        ${result.unmovable.map(
                          (v) =>
                            html`<li><a href="#/vms/${encodeURIComponent(v.vmId)}">${v.name}</a>: ${v.reason}</li>`,
                        )}
                      </ul>`
                  : nothing
              }`
          : nothing
      }
    </section>`;
  }
}
customElements.define('qx-host-evacuation', QxHostEvacuation);
