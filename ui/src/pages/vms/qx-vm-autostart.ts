// Autostart of a VM on its host's boot: on/off, order (lower first) and the delay before the next
// VM starts. Saved at once in any VM state; "qx-saved" tells the page.
import { LitElement, html, nothing } from 'lit';
import type { VmDto } from '@dto/vms.js';
import { setVmAutostart } from '../../api/vms.js';
import { ActionController } from '../../controllers/action-controller.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

const FIELDS = ['enabled', 'order', 'delaySeconds'];

export class QxVmAutostart extends LitElement {
  static override properties = { vm: { attribute: false }, saved: { state: true } };
  declare vm: VmDto;
  declare saved: boolean;
  private action = new ActionController(this);

  static override styles = sharedStyles;

  private async onSubmit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    this.saved = false;
    const ok = await this.action.run(() =>
      setVmAutostart(this.vm.id, {
        enabled: f.get('autostart') === 'on',
        order: Number(f.get('order')),
        delaySeconds: Number(f.get('delaySeconds')),
      }),
    );
    if (!ok) return;
    this.saved = true;
    this.dispatchEvent(new Event('qx-saved', { bubbles: true, composed: true }));
  }

  override render() {
    const vm = this.vm;
    const err = (k: string) => this.action.fieldError(k);
    return html`<form class="card" style="max-width:640px" aria-label="Autostart" @submit=${this.onSubmit}>
      <h3 style="margin-top:0">Start with the host</h3>
      <p class="muted">VMs start when their host boots, lowest order first, each after the previous one's delay.</p>
      ${this.action.errorNotice(FIELDS)}
      ${this.saved ? html`<div class="notice ok" role="status">Saved.</div>` : nothing}
      <fieldset ?disabled=${this.action.busy} style="border:0;padding:0;margin:0">
        <div class="row">
          <div class="field">
            <label><input type="checkbox" name="autostart" .checked=${vm.autostart} /> Start ${vm.name} at boot</label>
          </div>
          ${formField(
            'Order',
            'order',
            html`<input
              id="order"
              name="order"
              type="number"
              min="0"
              max="9999"
              .value=${String(vm.autostartOrder)}
              aria-invalid=${!!err('order')}
            />`,
            err('order'),
          )}
          ${formField(
            'Delay before the next (s)',
            'delaySeconds',
            html`<input
              id="delaySeconds"
              name="delaySeconds"
              type="number"
              min="0"
              max="3600"
              .value=${String(vm.autostartDelaySeconds)}
              aria-invalid=${!!err('delaySeconds')}
            />`,
            err('delaySeconds'),
          )}
        </div>
        <button class="primary" type="submit" data-action="save-autostart">Save autostart</button>
      </fieldset>
    </form>`;
  }
}
customElements.define('qx-vm-autostart', QxVmAutostart);
