// Events: what happened to VMs, hosts and tasks, newest first, filtered by severity, kind and
// target; new events arrive live over SSE ("event").
import { LitElement, html } from 'lit';
import {
  EVENT_KINDS,
  EVENT_SEVERITIES,
  eventMatches,
  fetchEvents,
  type EventDto,
  type EventQuery,
} from '../../api/events.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import { formatTime } from '../../app/format.js';
import { sharedStyles } from '../../components/shared-styles.js';
import '../../components/qx-state-badge.js';

/** Events kept on the page (live ones push the oldest out). */
const MAX_SHOWN = 500;

export class QxEventsPage extends LitElement {
  static override properties = { query: { state: true } };
  declare query: EventQuery;
  private readonly events = new ResourceController<EventDto[]>(this, (signal) => fetchEvents(this.query, signal));
  private searchTimer: number | undefined;

  static override styles = sharedStyles;

  constructor() {
    super();
    this.query = { severity: '', kind: '', target: '' };
    new EventsController(this, {
      event: (data) => {
        const e = data as EventDto;
        const list = this.events.value;
        if (!list || !eventMatches(e, this.query) || list.some((x) => x.id === e.id)) return;
        this.events.set([e, ...list].slice(0, MAX_SHOWN));
      },
    });
  }

  private filter(change: Partial<EventQuery>, delayMs = 0): void {
    this.query = { ...this.query, ...change };
    clearTimeout(this.searchTimer);
    this.searchTimer = window.setTimeout(() => void this.events.reload(), delayMs);
  }

  override render() {
    return html`<h1>Events</h1>
      <div class="toolbar">
        <label for="ev-severity">Severity</label>
        <select
          id="ev-severity"
          @change=${(e: Event) => this.filter({ severity: (e.target as HTMLSelectElement).value as EventQuery['severity'] })}
        >
          <option value="">any</option>
          ${EVENT_SEVERITIES.map((s) => html`<option value=${s}>${s} or worse</option>`)}
        </select>
        <label for="ev-kind">Kind</label>
        <select
          id="ev-kind"
          @change=${(e: Event) => this.filter({ kind: (e.target as HTMLSelectElement).value as EventQuery['kind'] })}
        >
          <option value="">any</option>
          ${EVENT_KINDS.map((k) => html`<option value=${k}>${k}</option>`)}
        </select>
        <label class="sr-only" for="ev-target">Target</label>
        <input
          id="ev-target"
          type="search"
          placeholder="Search by VM or host"
          @input=${(e: Event) => this.filter({ target: (e.target as HTMLInputElement).value }, 300)}
        />
        <button @click=${() => this.events.reload()}>Refresh</button>
      </div>
      ${this.events.render({
        complete: (list) =>
          html`<table>
              <thead>
                <tr>
                  <th>When</th>
                  <th>Severity</th>
                  <th>Kind</th>
                  <th>Target</th>
                  <th>What happened</th>
                </tr>
              </thead>
              <tbody>
                ${list.map(
                  (e) =>
                    html`<tr data-event=${e.id}>
                      <td>${formatTime(e.at)}</td>
                      <td><qx-state-badge .state=${e.severity}></qx-state-badge></td>
                      <td class="mono">${e.kind}</td>
                      <td>${targetLink(e)}</td>
                      <td class=${e.severity === 'error' ? 'error' : ''}>${e.message}</td>
                    </tr>`,
                )}
              </tbody>
            </table>
            ${this.events.empty('No events.', list)}`,
      })}`;
  }
}

function targetLink(e: EventDto) {
  const label = e.target.name || e.target.id;
  if (e.target.type === 'vm') return html`<a href="#/vms/${encodeURIComponent(e.target.id)}">${label}</a>`;
  if (e.target.type === 'host') return html`<a href="#/hosts/${encodeURIComponent(e.target.id)}">${label}</a>`;
  return html`${e.target.type} ${label}`;
}
customElements.define('qx-events-page', QxEventsPage);
