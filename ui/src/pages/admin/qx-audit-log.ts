// Audit log (admin): every mutation with who, what, when and the result; filterable.
import { LitElement, html } from 'lit';
import type { AuditEntryDto } from '@dto/system.js';
import { fetchAudit } from '../../api/users.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { formatTime } from '../../app/format.js';
import { sharedStyles } from '../../components/shared-styles.js';
import '../../components/qx-state-badge.js';

export class QxAuditLog extends LitElement {
  static override properties = { query: { state: true } };
  declare query: string;
  private entries = new ResourceController<AuditEntryDto[]>(this, fetchAudit);

  static override styles = sharedStyles;

  constructor() {
    super();
    this.query = '';
  }

  override render() {
    const q = this.query.toLowerCase();
    const list = (this.entries.value ?? []).filter(
      (e) => !q || [e.user, e.action, e.target, e.path, e.detail].some((s) => s.toLowerCase().includes(q)),
    );
    return html`<h1>Audit log</h1>
      <div class="toolbar">
        <label class="sr-only" for="aq">Filter</label>
        <input
          id="aq"
          type="search"
          placeholder="Filter by user, action, target"
          @input=${(e: Event) => (this.query = (e.target as HTMLInputElement).value)}
        />
        <button @click=${() => this.entries.reload()}>Refresh</button>
      </div>
      ${this.entries.errorNotice()}
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>User</th>
            <th>Action</th>
            <th>Target</th>
            <th>Result</th>
            <th>Detail</th>
            <th>From</th>
          </tr>
        </thead>
        <tbody>
          ${list.map(
            (e) =>
              html`<tr>
                <td>${formatTime(e.at)}</td>
                <td>${e.user}</td>
                <td title="${e.method} ${e.path}">${e.action}</td>
                <td>${e.target}</td>
                <td>
                  <qx-state-badge .state=${e.result === 'ok' ? 'succeeded' : 'failed'}></qx-state-badge>
                  <span class="muted">${e.status}</span>
                </td>
                <td class=${e.result === 'error' ? 'error' : ''}>${e.detail}</td>
                <td class="mono">${e.remote}</td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${this.entries.empty('No entries.', list)}`;
  }
}
customElements.define('qx-audit-log', QxAuditLog);
