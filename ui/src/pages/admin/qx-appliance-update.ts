// The update section of the Appliance page (admin): running version and slot, the other slot,
// the last attempt and its result; upload a signed bundle or have the server fetch one from a URL
// (verified by the server either way; the download's progress is polled), apply it; the other
// appliance hosts follow with the same bundle (qx-hosts-system-update.ts).
import { LitElement, css, html, nothing } from 'lit';
import {
  applyApplianceUpdate,
  cancelUpdateBundleDownload,
  downloadUpdateBundle,
  fetchApplianceUpdate,
  uploadUpdateBundle,
  type ApplianceUpdateDto,
} from '../../api/appliance-update.js';
import { fieldError, formError } from '../../api/client.js';
import { formatBytes } from '../../app/format.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { sharedStyles } from '../../components/shared-styles.js';
import './qx-hosts-system-update.js';

const RESULT_TEXT = {
  pending: 'rebooting into it',
  trying: 'booted, waiting for it to be healthy',
  succeeded: 'succeeded',
  'rolled-back': 'failed: rolled back',
} as const;

export class QxApplianceUpdate extends LitElement {
  static override properties = { busy: { state: true }, error: { state: true }, message: { state: true } };
  declare busy: boolean;
  declare error: unknown;
  declare message: string;
  private readonly status = new ResourceController<ApplianceUpdateDto>(this, fetchApplianceUpdate);
  private poll?: ReturnType<typeof setTimeout>;

  static override styles = [
    sharedStyles,
    css`
      dl {
        display: grid;
        grid-template-columns: max-content 1fr;
        gap: 0.25rem 1rem;
      }
      dd {
        margin: 0;
      }
    `,
  ];

  constructor() {
    super();
    this.busy = false;
    this.message = '';
  }

  private async act(work: () => Promise<ApplianceUpdateDto>, done: (s: ApplianceUpdateDto) => string) {
    this.busy = true;
    this.error = undefined;
    this.message = '';
    try {
      const s = await work();
      this.status.set(s);
      this.message = done(s);
    } catch (err) {
      this.error = err;
    } finally {
      this.busy = false;
    }
  }

  private upload() {
    const input = this.renderRoot.querySelector<HTMLInputElement>('#bundle-file');
    const file = input?.files?.[0];
    if (!file) {
      this.error = new Error('Choose an update bundle (.qxu) first.');
      return;
    }
    void this.act(
      () => uploadUpdateBundle(file),
      (s) => `Bundle ${s.bundle?.version ?? ''} uploaded and verified.`,
    );
  }

  private download() {
    const url = this.renderRoot.querySelector<HTMLInputElement>('#bundle-url')?.value.trim() ?? '';
    const ca = this.renderRoot.querySelector<HTMLTextAreaElement>('#bundle-ca')?.value.trim() ?? '';
    void this.act(
      () => downloadUpdateBundle(url, ca || undefined),
      () => 'Downloading; the bundle is verified when it has arrived.',
    );
  }

  private cancelDownload() {
    void this.act(cancelUpdateBundleDownload, () => '');
  }

  override updated() {
    // While the server downloads or verifies a bundle, its progress is fetched every second.
    const d = this.status.value?.download;
    const active = d && d.state !== 'failed';
    if (active && !this.poll) {
      this.poll = setTimeout(() => {
        fetchApplianceUpdate()
          .then((s) => {
            this.poll = undefined;
            this.status.set(s);
            if (!s.download && s.bundle) this.message = `Bundle ${s.bundle.version} downloaded and verified.`;
          })
          .catch((err: unknown) => {
            this.poll = undefined;
            this.error = err;
          });
      }, 1000);
    }
  }

  override disconnectedCallback() {
    super.disconnectedCallback();
    clearTimeout(this.poll);
    this.poll = undefined;
  }

  private apply() {
    const allowDowngrade = this.renderRoot.querySelector<HTMLInputElement>('#allow-downgrade')?.checked ?? false;
    void this.act(
      () => applyApplianceUpdate({ allowDowngrade }),
      (s) =>
        s.lastAttempt
          ? `Slot ${s.lastAttempt.toSlot} now holds ${s.lastAttempt.toVersion}: the appliance is rebooting into it. ` +
            'It comes back on this version by itself if the new one is not healthy within 10 minutes.'
          : 'Rebooting into the update.',
    );
  }

  override render() {
    return html`<section aria-labelledby="update-h">
      <h2 id="update-h">Updates</h2>
      ${this.status.errorNotice()} ${this.status.render({ complete: (s) => this.renderStatus(s) })}
      <qx-hosts-system-update .bundleVersion=${this.status.value?.bundle?.version ?? ''}></qx-hosts-system-update>
    </section>`;
  }

  private renderStatus(s: ApplianceUpdateDto) {
    const a = s.lastAttempt;
    const top = formError(this.error, ['url', 'caCertificatePem']);
    const d = s.download;
    const downloading = d !== undefined && d.state !== 'failed';
    return html`<dl>
        <dt>Running version</dt>
        <dd data-version>${s.version}${s.slot ? html` (slot ${s.slot})` : nothing}</dd>
        ${
          s.otherSlot
            ? html`<dt>Other slot</dt>
                <dd>${s.otherSlot.slot}: ${s.otherSlot.version ?? 'empty'}</dd>`
            : nothing
        }
        ${
          a
            ? html`<dt>Last update</dt>
                <dd data-attempt=${a.result}>
                  ${a.fromVersion} → ${a.toVersion}, ${a.started}:
                  ${RESULT_TEXT[a.result]}${a.reason ? html`<span data-reason>: ${a.reason}</span>` : nothing}
                </dd>`
            : nothing
        }
        ${
          s.bundle
            ? html`<dt>Uploaded bundle</dt>
                <dd data-bundle>${s.bundle.version} (build ${s.bundle.build}, ${s.bundle.uploadedAt})</dd>`
            : nothing
        }
        ${
          d
            ? html`<dt>Download</dt>
                <dd data-download=${d.state}>
                  ${d.url}: ${d.state === 'failed' ? html`failed: ${d.error}` : d.state},
                  ${formatBytes(d.receivedBytes)}${d.totalBytes !== undefined ? html` of ${formatBytes(d.totalBytes)}` : nothing}
                  ${
                    downloading && d.totalBytes
                      ? html`<progress max=${d.totalBytes} value=${d.receivedBytes}></progress>`
                      : nothing
                  }
                </dd>`
            : nothing
        }
      </dl>
      ${s.notice ? html`<div class="notice info" role="status">${s.notice}</div>` : nothing}
      ${top ? html`<div class="notice error" role="alert">${top}</div>` : nothing}
      ${this.message ? html`<div class="notice info" role="status">${this.message}</div>` : nothing}
      ${fieldError(this.error, 'url') ? html`<div class="notice error" role="alert">${fieldError(this.error, 'url')}</div>` : nothing}
      <div class="toolbar">
        <label>Update bundle <input id="bundle-file" type="file" accept=".qxu" /></label>
        <button ?disabled=${this.busy || downloading} @click=${() => this.upload()}>Upload and verify</button>
        <label
          >or from a URL
          <input id="bundle-url" type="url" placeholder="https://mirror.example/quantix-vdc.qxu" />
        </label>
        <button ?disabled=${this.busy || downloading} @click=${() => this.download()}>Download and verify</button>
        ${
          d
            ? html`<button ?disabled=${this.busy} @click=${() => this.cancelDownload()}>
                ${downloading ? 'Cancel download' : 'Clear'}
              </button>`
            : nothing
        }
        <button ?disabled=${this.busy || downloading || !s.installed || !s.bundle} @click=${() => this.apply()}>
          Apply ${s.bundle?.version ?? ''} and reboot
        </button>
        <label title="Install a bundle older than the running system (refused otherwise)"
          ><input id="allow-downgrade" type="checkbox" /> Allow downgrade</label
        >
      </div>
      <details>
        <summary>CA certificate for the URL (an internal mirror)</summary>
        <label
          >PEM, trusted instead of the system's CAs
          <textarea id="bundle-ca" rows="4" cols="64" spellcheck="false"></textarea>
        </label>
      </details>
      ${
        fieldError(this.error, 'caCertificatePem')
          ? html`<div class="notice error" role="alert">${fieldError(this.error, 'caCertificatePem')}</div>`
          : nothing
      }`;
  }
}

customElements.define('qx-appliance-update', QxApplianceUpdate);
