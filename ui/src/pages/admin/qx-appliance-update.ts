// The update section of the Appliance page (admin): running version and slot, the other slot,
// the last attempt and its result; upload a signed bundle (verified by the server), apply it.
import { LitElement, css, html, nothing } from 'lit';
import {
  applyApplianceUpdate,
  fetchApplianceUpdate,
  uploadUpdateBundle,
  type ApplianceUpdateDto,
} from '../../api/appliance-update.js';
import { formError } from '../../api/client.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { sharedStyles } from '../../components/shared-styles.js';

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

  private apply() {
    void this.act(applyApplianceUpdate, (s) =>
      s.lastAttempt
        ? `Slot ${s.lastAttempt.toSlot} now holds ${s.lastAttempt.toVersion}: the appliance is rebooting into it. ` +
          'It comes back on this version by itself if the new one is not healthy within 5 minutes.'
        : 'Rebooting into the update.',
    );
  }

  override render() {
    return html`<section aria-labelledby="update-h">
      <h2 id="update-h">Updates</h2>
      ${this.status.errorNotice()} ${this.status.render({ complete: (s) => this.renderStatus(s) })}
    </section>`;
  }

  private renderStatus(s: ApplianceUpdateDto) {
    const a = s.lastAttempt;
    const top = formError(this.error, []);
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
                  ${a.fromVersion} → ${a.toVersion}, ${a.started}: ${RESULT_TEXT[a.result]}
                </dd>`
            : nothing
        }
        ${
          s.bundle
            ? html`<dt>Uploaded bundle</dt>
                <dd data-bundle>${s.bundle.version} (build ${s.bundle.build}, ${s.bundle.uploadedAt})</dd>`
            : nothing
        }
      </dl>
      ${s.notice ? html`<div class="notice info" role="status">${s.notice}</div>` : nothing}
      ${top ? html`<div class="notice error" role="alert">${top}</div>` : nothing}
      ${this.message ? html`<div class="notice info" role="status">${this.message}</div>` : nothing}
      <div class="toolbar">
        <label>Update bundle <input id="bundle-file" type="file" accept=".qxu" /></label>
        <button ?disabled=${this.busy} @click=${() => this.upload()}>Upload and verify</button>
        <button ?disabled=${this.busy || !s.installed || !s.bundle} @click=${() => this.apply()}>
          Apply ${s.bundle?.version ?? ''} and reboot
        </button>
      </div>`;
  }
}

customElements.define('qx-appliance-update', QxApplianceUpdate);
