// Notifications (admin): the webhooks told of events, each by kinds and minimum severity, with an
// optional secret that signs the body (HMAC-SHA256), and e-mail over SMTP chosen the same way;
// "Send test" posts a test event to each webhook and mails it.
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
import { ApiError, fieldError, formError } from '../../api/client.js';
import type { EmailSettingsDto } from '@dto/events.js';
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

/** The e-mail settings as edited: recipients as text; `password` undefined keeps the stored one. */
type EmailDraft = Omit<EmailSettingsDto, 'to'> & { to: string; password?: string };

const SECURITY_LABELS = { starttls: 'STARTTLS (port 587)', tls: 'TLS (port 465)', none: 'None (port 25)' } as const;

export class QxNotifications extends LitElement {
  static override properties = {
    email: { state: true },
    rows: { state: true },
    error: { state: true },
    message: { state: true },
    busy: { state: true },
  };
  declare rows: Row[] | undefined;
  declare email: EmailDraft | undefined;
  declare error: unknown;
  declare message: string;
  declare busy: boolean;
  private readonly settings = new ResourceController<NotificationsDto>(this, async (signal) => {
    const s = await fetchNotifications(signal);
    this.rows = s.webhooks.map((w) => ({ ...w }));
    this.email = { ...s.email, to: s.email.to.join(' ') };
    return s;
  });

  static override styles = sharedStyles;

  constructor() {
    super();
    this.rows = undefined;
    this.email = undefined;
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
        ...(this.email ? { email: this.emailBody(this.email) } : {}),
      });
      this.rows = saved.webhooks.map((w) => ({ ...w }));
      this.email = { ...saved.email, to: saved.email.to.join(' ') };
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
      const { results, email } = await testNotifications();
      const lines = results.map(
        (r) => `${r.url}: ${r.ok ? `delivered (HTTP ${r.status})` : r.error || `HTTP ${r.status}`}`,
      );
      if (email) lines.push(`E-mail: ${email.ok ? 'sent' : email.error}`);
      this.message = lines.length ? lines.join('; ') : 'No webhook or e-mail is saved yet.';
    } catch (err) {
      this.error = err;
    } finally {
      this.busy = false;
    }
  }

  private emailBody(d: EmailDraft) {
    const { hasPassword: _has, password, to, ...rest } = d;
    return {
      ...rest,
      port: Number(rest.port),
      to: to.split(/[\s,;]+/).filter(Boolean),
      ...(password !== undefined ? { password } : {}),
    };
  }

  private changeEmail(patch: Partial<EmailDraft>): void {
    this.email = { ...this.email!, ...patch };
  }

  override render() {
    const rows = this.rows;
    const fields = (rows ?? []).map((_, i) => `webhooks[${i}].url`);
    const emailField = this.error instanceof ApiError && this.error.field?.startsWith('email.');
    const top = emailField ? undefined : formError(this.error, fields);
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
          : html`${rows.map((r, i) => this.renderRow(r, i))} ${this.email ? this.renderEmail(this.email) : nothing}
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

  private renderEmail(d: EmailDraft) {
    const err = (name: string) =>
      this.error instanceof ApiError && this.error.field?.replace(/\[\d+\]$/, '') === `email.${name}`
        ? this.error.message
        : undefined;
    const text = (id: string, label: string, key: 'host' | 'username' | 'from' | 'to', placeholder = '') => {
      const e = err(key);
      return html`<label for=${id}>${label}</label>
        <input
          id=${id}
          .value=${d[key]}
          placeholder=${placeholder}
          aria-invalid=${e ? 'true' : 'false'}
          @input=${(ev: Event) => this.changeEmail({ [key]: (ev.target as HTMLInputElement).value })}
        />
        ${e ? html`<div class="error" role="alert">${e}</div>` : nothing}`;
    };
    return html`<fieldset data-email>
      <legend>E-mail (SMTP)</legend>
      <label
        ><input
          id="mail-enabled"
          type="checkbox"
          .checked=${d.enabled}
          @change=${(e: Event) => this.changeEmail({ enabled: (e.target as HTMLInputElement).checked })}
        />
        Send e-mail</label
      >
      ${text('mail-host', 'SMTP server', 'host', 'smtp.example.org')}
      <label for="mail-security">Security</label>
      <select
        id="mail-security"
        @change=${(e: Event) => {
          const security = (e.target as HTMLSelectElement).value as EmailDraft['security'];
          this.changeEmail({ security, port: { starttls: 587, tls: 465, none: 25 }[security] });
        }}
      >
        ${(['starttls', 'tls', 'none'] as const).map(
          (v) => html`<option value=${v} ?selected=${d.security === v}>${SECURITY_LABELS[v]}</option>`,
        )}
      </select>
      <label for="mail-port">Port</label>
      <input
        id="mail-port"
        type="number"
        min="1"
        max="65535"
        .value=${String(d.port)}
        @input=${(e: Event) => this.changeEmail({ port: Number((e.target as HTMLInputElement).value) })}
      />
      ${text('mail-user', 'User (empty: no authentication)', 'username')}
      <label for="mail-password">Password</label>
      <input
        id="mail-password"
        type="password"
        autocomplete="new-password"
        placeholder=${d.hasPassword ? 'set (leave empty to keep it)' : 'none'}
        @input=${(e: Event) => {
          const v = (e.target as HTMLInputElement).value;
          this.changeEmail({ password: v === '' && d.hasPassword ? undefined : v });
        }}
      />
      ${text('mail-from', 'From', 'from', 'vdc@example.org')} ${text('mail-to', 'To (separated by spaces)', 'to')}
      <label for="mail-sev">Minimum severity</label>
      <select
        id="mail-sev"
        @change=${(e: Event) => this.changeEmail({ minSeverity: (e.target as HTMLSelectElement).value as EventSeverity })}
      >
        ${EVENT_SEVERITIES.map((v) => html`<option value=${v} ?selected=${v === d.minSeverity}>${v}</option>`)}
      </select>
      <div role="group" aria-label="E-mail kinds">
        ${EVENT_KINDS.filter((k) => k !== 'notification.test').map(
          (k) =>
            html`<label
              ><input
                type="checkbox"
                .checked=${d.kinds.includes(k)}
                @change=${(e: Event) =>
                  this.changeEmail({
                    kinds: (e.target as HTMLInputElement).checked ? [...d.kinds, k] : d.kinds.filter((x) => x !== k),
                  })}
              />
              ${k}</label
            >`,
        )}
      </div>
      <label for="mail-ca">CA certificate of a private mail server (PEM, optional)</label>
      <textarea
        id="mail-ca"
        rows="3"
        .value=${d.caCertificatePem}
        @input=${(e: Event) => this.changeEmail({ caCertificatePem: (e.target as HTMLTextAreaElement).value })}
      ></textarea>
      ${err('caCertificatePem') ? html`<div class="error" role="alert">${err('caCertificatePem')}</div>` : nothing}
    </fieldset>`;
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
