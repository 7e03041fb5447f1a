// Notifications (admin): the webhooks told of events, each by kinds and minimum severity, with an
// optional secret that signs the body (HMAC-SHA256); "Send test" posts a test event to each.
import { LitElement, html, nothing } from 'lit';
import {
  EVENT_KINDS,
  EVENT_SEVERITIES,
  fetchNotifications,
  saveNotifications,
  testNotifications,
  type EventKind,
  type EventSeverity,
  type NotificationsDto,
} from '../../api/events.js';
import { fieldError, formError } from '../../api/client.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { sharedStyles } from '../../components/shared-styles.js';

interface Row {
  url: string;
  kinds: EventKind[];
  minSeverity: EventSeverity;
  hasSecret: boolean;
  /** undefined: keep the stored one. */
  secret?: string;
}

export class QxNotifications extends LitElement {
  static override properties = {
    rows: { state: true },
    error: { state: true },
    message: { state: true },
    busy: { state: true },
  };
  declare rows: Row[] | undefined;
  declare error: unknown;
  declare message: string;
  declare busy: boolean;
  private readonly settings = new ResourceController<NotificationsDto>(this, async (signal) => {
    const s = await fetchNotifications(signal);
    this.rows = s.webhooks.map((w) => ({ ...w }));
    return s;
  });

  static override styles = sharedStyles;

  constructor() {
    super();
    this.rows = undefined;
    this.error = undefined;
    this.message = '';
    this.busy = false;
  }

  private change(i: number, patch: Partial<Row>): void {
    this.rows = this.rows!.map((r, j) => (j === i ? { ...r, ...patch } : r));
  }

  private async save(): Promise<void> {
    this.busy = true;
    this.error = undefined;
    this.message = '';
    try {
      const saved = await saveNotifications({
        webhooks: this.rows!.map((r) => ({
          url: r.url.trim(),
          kinds: r.kinds,
          minSeverity: r.minSeverity,
          ...(r.secret !== undefined ? { secret: r.secret } : {}),
        })),
      });
      this.rows = saved.webhooks.map((w) => ({ ...w }));
      this.message = 'Saved.';
    } catch (err) {
      this.error = err;
    } finally {
      this.busy = false;
    }
  }

  private async test(): Promise<void> {
    this.busy = true;
    this.error = undefined;
    this.message = '';
    try {
      const { results } = await testNotifications();
      this.message = results.length
        ? results
            .map((r) => `${r.url}: ${r.ok ? `delivered (HTTP ${r.status})` : r.error || `HTTP ${r.status}`}`)
            .join('; ')
        : 'No webhook is saved yet.';
    } catch (err) {
      this.error = err;
    } finally {
      this.busy = false;
    }
  }

  override render() {
    const rows = this.rows;
    const fields = (rows ?? []).map((_, i) => `webhooks[${i}].url`);
    const top = formError(this.error, fields);
    return html`<h1>Notifications</h1>
      <p class="muted">
        Events of the chosen kinds (all when none is ticked) and severity are POSTed as JSON
        <code>{"event": …}</code>. With a secret, the header <code>X-Quantix-Signature: sha256=&lt;hex&gt;</code> is the
        HMAC-SHA256 of the body.
      </p>
      ${this.settings.errorNotice()} ${top ? html`<div class="notice error" role="alert">${top}</div>` : nothing}
      ${this.message ? html`<div class="notice info" role="status">${this.message}</div>` : nothing}
      ${
        rows === undefined
          ? this.settings.render({ complete: () => nothing })
          : html`${rows.map((r, i) => this.renderRow(r, i))}
              <div class="toolbar">
                <button
                  @click=${() =>
                    (this.rows = [
                      ...rows,
                      { url: '', kinds: [], minSeverity: 'warning', hasSecret: false, secret: '' },
                    ])}
                >
                  Add webhook
                </button>
                <span class="spacer"></span>
                <button ?disabled=${this.busy} @click=${() => void this.test()}>Send test</button>
                <button class="primary" ?disabled=${this.busy} @click=${() => void this.save()}>Save</button>
              </div>`
      }`;
  }

  private renderRow(r: Row, i: number) {
    const urlError = fieldError(this.error, `webhooks[${i}].url`);
    return html`<fieldset data-webhook=${i}>
      <legend>Webhook ${i + 1}</legend>
      <label for="wh-url-${i}">URL</label>
      <input
        id="wh-url-${i}"
        type="url"
        placeholder="https://chat.example.com/hooks/…"
        .value=${r.url}
        aria-invalid=${urlError ? 'true' : 'false'}
        @input=${(e: Event) => this.change(i, { url: (e.target as HTMLInputElement).value })}
      />
      ${urlError ? html`<div class="error" role="alert">${urlError}</div>` : nothing}
      <label for="wh-sev-${i}">Minimum severity</label>
      <select
        id="wh-sev-${i}"
        @change=${(e: Event) => this.change(i, { minSeverity: (e.target as HTMLSelectElement).value as EventSeverity })}
      >
        ${EVENT_SEVERITIES.map((s) => html`<option value=${s} ?selected=${s === r.minSeverity}>${s}</option>`)}
      </select>
      <div role="group" aria-label="Kinds">
        ${EVENT_KINDS.filter((k) => k !== 'notification.test').map(
          (k) =>
            html`<label
              ><input
                type="checkbox"
                .checked=${r.kinds.includes(k)}
                @change=${(e: Event) =>
                  this.change(i, {
                    kinds: (e.target as HTMLInputElement).checked ? [...r.kinds, k] : r.kinds.filter((x) => x !== k),
                  })}
              />
              ${k}</label
            >`,
        )}
      </div>
      <label for="wh-secret-${i}">Secret</label>
      <input
        id="wh-secret-${i}"
        type="password"
        autocomplete="new-password"
        placeholder=${r.hasSecret ? 'set (leave empty to keep it)' : 'none'}
        @input=${(e: Event) => {
          const v = (e.target as HTMLInputElement).value;
          this.change(i, { secret: v === '' && r.hasSecret ? undefined : v });
        }}
      />
      <button @click=${() => (this.rows = this.rows!.filter((_, j) => j !== i))}>Remove</button>
    </fieldset>`;
  }
}
customElements.define('qx-notifications', QxNotifications);
