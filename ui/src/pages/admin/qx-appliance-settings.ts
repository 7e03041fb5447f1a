// Appliance settings (admin): hostname, DNS and NTP servers, time zone; reboot or shut down a
// host (confirmed by typing its name); the HTTPS certificate (current fingerprint, install a new
// one and see its fingerprint); the admin's own password.
import { LitElement, css, html, nothing } from 'lit';
import {
  changePassword,
  fetchApplianceSettings,
  fetchCertificate,
  fetchTimeZones,
  installCertificate,
  powerHost,
  saveApplianceSettings,
  splitList,
  type ApplianceSettingsDto,
  type CertificateDto,
} from '../../api/appliance.js';
import { ApiError, fieldError, formError } from '../../api/client.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { fetchHosts } from '../../api/hosts.js';
import type { HostDto } from '@dto/hosts.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';
import './qx-appliance-update.js';
import './qx-control-plane.js';

interface Draft {
  hostname: string;
  dns: string;
  ntp: string;
  timeZone: string;
}

/** The settings' fields, list items included (dnsServers[1]): their errors show under the field. */
const SETTINGS_FIELD = /^(hostname|dnsServers|ntpServers|timeZone)(\[\d+\])?$/;

/** The error of `name` or of one of its items. */
function listError(err: unknown, name: string): string | undefined {
  return err instanceof ApiError && err.field?.replace(/\[\d+\]$/, '') === name ? err.message : undefined;
}

export class QxApplianceSettings extends LitElement {
  static override properties = {
    draft: { state: true },
    busy: { state: true },
    settingsError: { state: true },
    settingsMessage: { state: true },
    certError: { state: true },
    certMessage: { state: true },
    passwordError: { state: true },
    passwordMessage: { state: true },
    power: { state: true },
    powerError: { state: true },
    powerMessage: { state: true },
  };
  /** The power action being confirmed, if any. */
  declare power: { host: HostDto; action: 'reboot' | 'shutdown' } | undefined;
  declare powerError: unknown;
  declare powerMessage: string;
  private readonly hosts = new ResourceController<HostDto[]>(this, fetchHosts);
  declare draft: Draft | undefined;
  declare busy: boolean;
  declare settingsError: unknown;
  declare settingsMessage: string;
  declare certError: unknown;
  declare certMessage: string;
  declare passwordError: unknown;
  declare passwordMessage: string;
  private readonly settings = new ResourceController<ApplianceSettingsDto>(this, async (signal) => {
    const s = await fetchApplianceSettings(signal);
    this.draft = {
      hostname: s.hostname,
      dns: s.dnsServers.join(' '),
      ntp: s.ntpServers.join(' '),
      timeZone: s.timeZone,
    };
    return s;
  });
  private readonly zones = new ResourceController<string[]>(this, fetchTimeZones);
  private readonly certificate = new ResourceController<CertificateDto>(this, fetchCertificate);

  static override styles = [
    sharedStyles,
    css`
      section {
        max-width: 720px;
        margin-bottom: 1.5rem;
      }
      textarea {
        width: 100%;
        box-sizing: border-box;
        font-family: var(--qx-mono, monospace);
      }
      code.fp {
        word-break: break-all;
      }
    `,
  ];

  constructor() {
    super();
    this.draft = undefined;
    this.busy = false;
    this.settingsError = this.certError = this.passwordError = undefined;
    this.settingsMessage = this.certMessage = this.passwordMessage = this.powerMessage = '';
    this.power = this.powerError = undefined;
  }

  private confirmPower(): Promise<void> {
    const { host, action } = this.power!;
    this.powerError = undefined;
    return this.run(
      async () => {
        const task = await powerHost(host.id, { action, confirm: this.value('power-confirm') });
        this.power = undefined;
        this.powerMessage = `${action === 'reboot' ? 'Reboot' : 'Shutdown'} of ${host.name} started (task ${task.id}): its VMs are being shut down.`;
      },
      (err) => (this.powerError = err),
    );
  }

  private value(id: string): string {
    return (this.renderRoot.querySelector(`#${id}`) as HTMLInputElement | HTMLTextAreaElement).value;
  }

  private async run(action: () => Promise<void>, fail: (err: unknown) => void): Promise<void> {
    this.busy = true;
    try {
      await action();
    } catch (err) {
      fail(err);
    } finally {
      this.busy = false;
    }
  }

  private saveSettings(): Promise<void> {
    const d = this.draft!;
    this.settingsError = undefined;
    this.settingsMessage = '';
    return this.run(
      async () => {
        const s = await saveApplianceSettings({
          hostname: d.hostname.trim(),
          dnsServers: splitList(d.dns),
          ntpServers: splitList(d.ntp),
          timeZone: d.timeZone,
        });
        this.draft = {
          hostname: s.hostname,
          dns: s.dnsServers.join(' '),
          ntp: s.ntpServers.join(' '),
          timeZone: s.timeZone,
        };
        this.settingsMessage = s.applied
          ? 'Saved and applied to the appliance.'
          : 'Saved. This server does not run on the appliance, so nothing was applied to the system.';
      },
      (err) => (this.settingsError = err),
    );
  }

  private install(): Promise<void> {
    const before = this.certificate.value?.fingerprint ?? '';
    this.certError = undefined;
    this.certMessage = '';
    return this.run(
      async () => {
        const c = await installCertificate({
          certificatePem: this.value('cert-pem'),
          privateKeyPem: this.value('key-pem'),
        });
        this.certMessage = `Installed. New fingerprint ${c.fingerprint} (was ${before}). Browsers see it on their next connection.`;
        void this.certificate.reload();
      },
      (err) => (this.certError = err),
    );
  }

  private savePassword(): Promise<void> {
    this.passwordError = undefined;
    this.passwordMessage = '';
    const [current, next, again] = [this.value('pw-current'), this.value('pw-new'), this.value('pw-again')];
    if (next !== again) {
      this.passwordError = new Error('The new password and its repetition differ.');
      return Promise.resolve();
    }
    return this.run(
      async () => {
        await changePassword({ currentPassword: current, newPassword: next });
        this.passwordMessage = 'Password changed. Your other sessions have ended and your API tokens are revoked.';
        for (const id of ['pw-current', 'pw-new', 'pw-again'])
          (this.renderRoot.querySelector(`#${id}`) as HTMLInputElement).value = '';
      },
      (err) => (this.passwordError = err),
    );
  }

  override render() {
    return html`<h1>Appliance settings</h1>
      ${this.renderSettings()} <qx-appliance-update></qx-appliance-update>
      <qx-control-plane></qx-control-plane> ${this.renderPower()} ${this.renderCertificate()} ${this.renderPassword()}`;
  }

  private renderSettings() {
    const d = this.draft;
    const err = this.settingsError;
    const top = err instanceof ApiError && SETTINGS_FIELD.test(err.field ?? '') ? undefined : formError(err, []);
    const set = (k: keyof Draft) => (e: Event) =>
      (this.draft = { ...this.draft!, [k]: (e.target as HTMLInputElement).value });
    return html`<section aria-labelledby="sys-h">
      <h2 id="sys-h">System</h2>
      ${this.settings.errorNotice()} ${top ? html`<div class="notice error" role="alert">${top}</div>` : nothing}
      ${this.settingsMessage ? html`<div class="notice info" role="status">${this.settingsMessage}</div>` : nothing}
      ${
        d === undefined
          ? this.settings.render({ complete: () => nothing })
          : html`${formField(
                'Hostname',
                'hostname',
                html`<input id="hostname" .value=${d.hostname} @input=${set('hostname')} />`,
                fieldError(err, 'hostname'),
                'Letters, digits and hyphens; a domain may follow (vdc1.example.org).',
              )}
              ${formField(
                'DNS servers',
                'dns',
                html`<input id="dns" .value=${d.dns} @input=${set('dns')} placeholder="192.0.2.53 2001:db8::53" />`,
                listError(err, 'dnsServers'),
                'Up to 3 IP addresses, separated by spaces. Empty: DHCP or the console network setting decides.',
              )}
              ${formField(
                'NTP servers',
                'ntp',
                html`<input id="ntp" .value=${d.ntp} @input=${set('ntp')} placeholder="0.pool.ntp.org" />`,
                listError(err, 'ntpServers'),
                'Host names or addresses, separated by spaces. Empty: the Debian NTP pool.',
              )}
              ${formField(
                'Time zone',
                'tz',
                html`<select id="tz" @change=${set('timeZone')}>
                  ${(this.zones.value ?? [d.timeZone]).map(
                    (z) => html`<option value=${z} ?selected=${z === d.timeZone}>${z}</option>`,
                  )}
                </select>`,
                fieldError(err, 'timeZone'),
              )}
              <div class="toolbar">
                <button class="primary" ?disabled=${this.busy} @click=${() => void this.saveSettings()}>
                  Save system settings
                </button>
              </div>`
      }
    </section>`;
  }

  private renderPower() {
    const p = this.power;
    const verb = p?.action === 'reboot' ? 'Reboot' : 'Shut down';
    return html`<section aria-labelledby="power-h">
      <h2 id="power-h">Reboot or shut down a host</h2>
      ${this.hosts.errorNotice()}
      ${this.powerMessage ? html`<div class="notice info" role="status">${this.powerMessage}</div>` : nothing}
      <table>
        <tbody>
          ${(this.hosts.value ?? []).map(
            (h) =>
              html`<tr>
                <th scope="row">${h.name}${h.local ? ' (this appliance)' : ''}</th>
                <td>${h.status}, ${h.vmCount} VM${h.vmCount === 1 ? '' : 's'}</td>
                <td>
                  <button
                    ?disabled=${h.status !== 'online'}
                    @click=${() => ((this.power = { host: h, action: 'reboot' }), (this.powerError = undefined))}
                  >
                    Reboot ${h.name}
                  </button>
                  <button
                    ?disabled=${h.status !== 'online'}
                    @click=${() => ((this.power = { host: h, action: 'shutdown' }), (this.powerError = undefined))}
                  >
                    Shut down ${h.name}
                  </button>
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
      ${
        p
          ? html`<div class="notice warning" role="alertdialog" aria-labelledby="power-q" aria-describedby="power-what">
              <p id="power-q"><strong>${verb} ${p.host.name}?</strong></p>
              <p id="power-what">
                Its running VMs are shut down cleanly first (a VM still running after 120 s is forced off), then the
                host
                ${
                  p.action === 'reboot'
                    ? 'restarts. VMs set to start automatically start again once it is back; the others stay off.'
                    : 'powers off and stays off until someone switches it on.'
                }
                ${p.host.local ? 'This is the appliance itself: the web UI is unreachable until it is back.' : ''}
              </p>
              ${formField(
                `Type ${p.host.name} to confirm`,
                'power-confirm',
                html`<input id="power-confirm" autocomplete="off" />`,
                fieldError(this.powerError, 'confirm'),
              )}
              ${
                formError(this.powerError, ['confirm'])
                  ? html`<div class="error" role="alert">${formError(this.powerError, ['confirm'])}</div>`
                  : nothing
              }
              <div class="toolbar">
                <button class="danger" ?disabled=${this.busy} @click=${() => void this.confirmPower()}>
                  ${verb} ${p.host.name}
                </button>
                <button @click=${() => (this.power = undefined)}>Cancel</button>
              </div>
            </div>`
          : nothing
      }
    </section>`;
  }

  private renderCertificate() {
    const c = this.certificate.value;
    const top = formError(this.certError, []);
    return html`<section aria-labelledby="cert-h">
      <h2 id="cert-h">HTTPS certificate</h2>
      ${this.certificate.errorNotice()}
      ${
        c
          ? html`<p>
              ${c.selfSigned ? 'Self-signed' : `Issued by ${c.issuer}`} for ${c.names.join(', ') || c.subject}, valid to
              ${c.validTo}.<br />
              Fingerprint (SHA-256): <code class="fp" data-fingerprint>${c.fingerprint}</code>
            </p>`
          : nothing
      }
      ${top ? html`<div class="notice error" role="alert">${top}</div>` : nothing}
      ${this.certMessage ? html`<div class="notice info" role="status">${this.certMessage}</div>` : nothing}
      ${formField(
        'Certificate (PEM, leaf first, chain may follow)',
        'cert-pem',
        html`<textarea id="cert-pem" rows="6"></textarea>`,
        fieldError(this.certError, 'certificatePem'),
      )}
      ${formField(
        'Private key (PEM)',
        'key-pem',
        html`<textarea id="key-pem" rows="4"></textarea>`,
        fieldError(this.certError, 'privateKeyPem'),
      )}
      <div class="toolbar">
        <button ?disabled=${this.busy} @click=${() => void this.install()}>Install certificate</button>
      </div>
    </section>`;
  }

  private renderPassword() {
    const err = this.passwordError;
    const top = formError(err, ['currentPassword', 'newPassword']);
    return html`<section aria-labelledby="pw-h">
      <h2 id="pw-h">Your password</h2>
      ${top ? html`<div class="notice error" role="alert">${top}</div>` : nothing}
      ${this.passwordMessage ? html`<div class="notice info" role="status">${this.passwordMessage}</div>` : nothing}
      ${formField(
        'Current password',
        'pw-current',
        html`<input id="pw-current" type="password" autocomplete="current-password" />`,
        fieldError(err, 'currentPassword'),
      )}
      ${formField(
        'New password',
        'pw-new',
        html`<input id="pw-new" type="password" autocomplete="new-password" />`,
        fieldError(err, 'newPassword'),
      )}
      ${formField(
        'New password again',
        'pw-again',
        html`<input id="pw-again" type="password" autocomplete="new-password" />`,
      )}
      <div class="toolbar">
        <button ?disabled=${this.busy} @click=${() => void this.savePassword()}>Change password</button>
      </div>
    </section>`;
  }
}
customElements.define('qx-appliance-settings', QxApplianceSettings);
