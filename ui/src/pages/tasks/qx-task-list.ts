// All recent tasks with live progress, log lines and failure messages.
import { LitElement, html, nothing } from 'lit';
import type { TaskDto } from '@dto/tasks.js';
import type { UserDto } from '@dto/auth.js';
import { cancelTask, taskTargetLabel } from '../../api/tasks.js';
import { canMutate } from '../../api/session.js';
import { RecentTasksController } from '../../controllers/recent-tasks-controller.js';
import { formatTime } from '../../app/format.js';
import { sharedStyles } from '../../components/shared-styles.js';
import { emptyView } from '../../components/status-views.js';
import '../../components/qx-state-badge.js';
import '../../components/qx-progress-bar.js';

export class QxTaskList extends LitElement {
  static override properties = { open: { state: true }, error: { state: true }, user: { attribute: false } };
  declare open: string;
  declare user: UserDto | undefined;
  /** The last refused cancel (e.g. 409: the task ended meanwhile). */
  declare error: string;
  private recent = new RecentTasksController(this);

  static override styles = sharedStyles;

  constructor() {
    super();
    this.open = '';
    this.error = '';
  }

  override render() {
    const list = this.recent.tasks;
    return html`<h1>Tasks</h1>
      <table>
        <thead>
          <tr>
            <th>Task</th>
            <th>Target</th>
            <th>Status</th>
            <th style="width:25%">Progress</th>
            <th>User</th>
            <th>Started</th>
            <th>Finished</th>
          </tr>
        </thead>
        <tbody>
          ${list.map((t) => this.row(t))}
        </tbody>
      </table>
      ${list.length === 0 ? emptyView('No tasks yet.') : nothing}`;
  }

  private row(t: TaskDto) {
    const expanded = this.open === t.id;
    return html`<tr>
        <td>
          <button class="sort" aria-expanded=${expanded} @click=${() => (this.open = expanded ? '' : t.id)}>
            ${expanded ? '▾' : '▸'} ${t.kind}
          </button>
        </td>
        <td>${taskTargetLabel(t)}</td>
        <td><qx-state-badge .state=${t.status}></qx-state-badge></td>
        <td>
          ${t.status === 'running' ? html`<qx-progress-bar .value=${t.progress ?? 0} .label=${t.phase || 'Progress'}></qx-progress-bar>` : t.status === 'failed' ? html`<span class="error">${t.error}</span>` : 'done'}
          ${
            t.status === 'running' && t.cancellable && canMutate(this.user)
              ? html`<button
                  ?disabled=${t.phase === 'cancelling'}
                  aria-label="Cancel ${t.kind} of ${taskTargetLabel(t)}"
                  @click=${() => void cancelTask(t.id).catch((e: Error) => (this.error = e.message))}
                >
                  Cancel
                </button>`
              : nothing
          }
          ${this.error && t.status === 'running' ? html`<span class="error" role="alert">${this.error}</span>` : nothing}
        </td>
        <td>${t.user}</td>
        <td>${formatTime(t.createdAt)}</td>
        <td>${formatTime(t.finishedAt ?? undefined)}</td>
      </tr>
      ${
        expanded
          ? html`<tr>
              <td colspan="7">
                <pre class="mono" style="margin:0;white-space:pre-wrap">
${(t.log ?? []).map((l) => `${formatTime(l.at)}  ${l.message}`).join('\n') || 'No log lines.'}</pre>
              </td>
            </tr>`
          : nothing
      }`;
  }
}
customElements.define('qx-task-list', QxTaskList);
