// Add-host wizard: address → the agent's certificate fingerprint to compare with the host's
// console → the one-time join token → joined. Emits qx-done / qx-cancel.
import { LitElement, html } from 'lit';
import type { ClusterDto, HostProbeDto } from '@dto/hosts.js';
import { addHost, probeHost } from '../../api/hosts.js';
import { ActionController } from '../../controllers/action-controller.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

export class QxAddHostWizard extends LitElement {
  static override properties = { clusters: { attribute: false }, probe: { state: true } };
  declare clusters: ClusterDto[];
  declare probe: HostProbeDto | undefined;
  private action = new ActionController(this);

  static override styles = sharedStyles;

  private async onProbe(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const address = String(new FormData(e.target as HTMLFormElement).get('address')).trim();
    await this.action.run(async () => (this.probe = await probeHost(address)));
  }

  private async onJoin(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const probe = this.probe!;
    await this.action.run(async () => {
      await addHost({
        address: probe.address,
        fingerprint: probe.fingerprint,
        joinToken: String(f.get('joinToken')).trim(),
        name: String(f.get('name')).trim() || undefined,
        clusterId: String(f.get('clusterId')) || null,
      });
      this.dispatchEvent(new Event('qx-done'));
    });
  }

  override render() {
    const err = (k: string) => this.action.fieldError(k);
    const cancel = html`<button type="button" @click=${() => this.dispatchEvent(new Event('qx-cancel'))}>
      Cancel
    </button>`;
    return html`<section class="card" style="margin-bottom:1rem;max-width:640px" aria-label="Add host">
      <h2 style="margin-top:0">Add a host ${this.probe ? '— step 2 of 2' : '— step 1 of 2'}</h2>
      ${this.action.errorNotice(['address', 'joinToken', 'fingerprint', 'name'])}
      ${
        !this.probe
          ? html`<form @submit=${this.onProbe}>
              ${formField('Agent address', 'address', html`<input id="address" name="address" placeholder="10.0.0.12 or host:9443" required aria-invalid=${!!err('address')} />`, err('address'), 'The host’s console shows its address and a one-time join token (valid for an hour; T there makes a new one). A host that belongs to another vDC must leave it first.')}
              <div class="toolbar">
                <button class="primary" type="submit" ?disabled=${this.action.busy}>
                  ${this.action.busy ? 'Connecting…' : 'Connect'}</button
                >${cancel}
              </div>
            </form>`
          : html`<form @submit=${this.onJoin}>
              <p>Compare this fingerprint with the one shown on the host’s console before you continue:</p>
              <p class="mono card" data-testid="fingerprint" style="word-break:break-all">${this.probe.fingerprint}</p>
              <p class="muted">${this.probe.subject} · valid to ${this.probe.validTo} · ${this.probe.address}</p>
              ${formField('One-time join token', 'joinToken', html`<input id="joinToken" name="joinToken" required autocomplete="off" aria-invalid=${!!err('joinToken')} />`, err('joinToken') ?? err('fingerprint'))}
              <div class="row">
                ${formField('Name (optional)', 'hname', html`<input id="hname" name="name" aria-invalid=${!!err('name')} />`, err('name'))}
                ${formField(
                  'Cluster',
                  'clusterId',
                  html`<select id="clusterId" name="clusterId">
                    <option value="">—</option>
                    ${(this.clusters ?? []).map((c) => html`<option value=${c.id}>${c.name}</option>`)}
                  </select>`,
                )}
              </div>
              <div class="toolbar">
                <button class="primary" type="submit" ?disabled=${this.action.busy}>
                  ${this.action.busy ? 'Joining…' : 'Fingerprint matches — join host'}
                </button>
                <button
                  type="button"
                  @click=${() => {
                    this.probe = undefined;
                    this.action.clear();
                  }}
                >
                  Back</button
                >${cancel}
              </div>
            </form>`
      }
    </section>`;
  }
}
customElements.define('qx-add-host-wizard', QxAddHostWizard);
