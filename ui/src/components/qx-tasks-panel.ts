// The slide-in panel of recent tasks with live progress and failure messages.
import { LitElement, css, html, nothing } from 'lit';
import type { TaskDto } from '@dto/tasks.js';
import { taskTargetLabel } from '../api/tasks.js';
import { RecentTasksController } from '../controllers/recent-tasks-controller.js';
import { formatTime } from '../app/format.js';
import { sharedStyles } from './shared-styles.js';
import { emptyView } from './status-views.js';
import './qx-state-badge.js';
import './qx-progress-bar.js';

export class QxTasksPanel extends LitElement {
  static override styles = [
    sharedStyles,
    css`
      :host {
        background: var(--qx-surface);
        border-left: 1px solid var(--qx-border);
        box-shadow: -4px 0 16px #0002;
        overflow-y: auto;
        padding: 1rem;
        box-sizing: border-box;
      }
      .head {
        display: flex;
        justify-content: space-between;
        align-items: center;
      }
      ul {
        list-style: none;
        margin: 0;
        padding: 0;
      }
      li {
        border-bottom: 1px solid var(--qx-border);
        padding: 0.6rem 0;
      }
      .line {
        display: flex;
        justify-content: space-between;
        gap: 0.5rem;
        align-items: center;
      }
      .kind {
        font-weight: 600;
      }
    `,
  ];

  private recent = new RecentTasksController(this);

  override render() {
    const list = this.recent.tasks.slice(0, 30);
    return html`<section aria-label="Recent tasks">
      <div class="head">
        <h2>Recent tasks</h2>
        <button @click=${() => this.dispatchEvent(new Event('close'))} aria-label="Close tasks panel">Close</button>
      </div>
      ${
        list.length === 0
          ? emptyView('No tasks yet.')
          : html`<ul>
              ${list.map((t) => this.renderTask(t))}
            </ul>`
      }
      <p><a href="#/tasks">All tasks</a></p>
    </section>`;
  }

  private renderTask(t: TaskDto) {
    return html`<li>
      <div class="line"><span class="kind">${t.kind}</span><qx-state-badge .state=${t.status}></qx-state-badge></div>
      <div class="muted">${taskTargetLabel(t)} · ${formatTime(t.createdAt)}</div>
      ${t.status === 'running' ? html`<qx-progress-bar .value=${t.progress ?? 0} .label=${'Progress'} .phase=${t.phase}></qx-progress-bar>` : nothing}
      ${t.status === 'failed' ? html`<div class="error" role="alert">${t.error || 'Failed'}</div>` : nothing}
    </li>`;
  }
}
customElements.define('qx-tasks-panel', QxTasksPanel);
