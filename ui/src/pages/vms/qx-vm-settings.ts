// The settings tab of a VM: CPU, memory, firmware and the network of each NIC (takes effect at
// the next boot). The NIC choice lists the networks of the VM's host.
import { LitElement, html, nothing } from 'lit';
import { NIC_MODELS, updateVm, type NicModel, type VmDto } from '../../api/vms.js';
import { fieldError, formError } from '../../api/client.js';
import { fetchNetworks, type NetworkDto } from '../../api/networks.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

const FIELDS = ['sockets', 'cores', 'memoryMib', 'firmware', 'nics'];

export class QxVmSettings extends LitElement {
  static override properties = { vm: { attribute: false }, error: { state: true }, saved: { state: true }, busy: { state: true } };
  declare vm: VmDto;
  declare error: unknown;
  declare saved: boolean;
  declare busy: boolean;
  private networks = new ResourceController<NetworkDto[]>(this, (s) => fetchNetworks(this.vm.hostId, s));

  static override styles = sharedStyles;

  private async onSubmit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    this.busy = true;
    this.error = undefined;
    this.saved = false;
    try {
      const nics = this.vm.nics.map((n, i) => {
        const [kind, source] = String(f.get(`nic${i}`) ?? `${n.kind}:${n.source}`).split(':');
        return { kind: kind as 'network' | 'bridge' | 'user', source, model: String(f.get(`model${i}`) ?? n.model) as NicModel, mac: n.mac };
      });
      await updateVm(this.vm.id, {
        sockets: Number(f.get('sockets')),
        cores: Number(f.get('cores')),
        memoryMib: Number(f.get('memoryMib')),
        firmware: f.get('firmware') === 'uefi' ? 'uefi' : 'bios',
        nics,
      });
      this.saved = true;
      this.dispatchEvent(new Event('qx-saved'));
    } catch (err) {
      this.error = err;
    } finally {
      this.busy = false;
    }
  }

  override render() {
    const vm = this.vm;
    const err = (k: string) => fieldError(this.error, k);
    const nets = this.networks.value ?? [];
    const top = formError(this.error, [...FIELDS, ...vm.nics.map((_, i) => `nics[${i}].source`)]);
    return html`<form class="card" @submit=${this.onSubmit} style="max-width:640px" aria-label="VM settings">
      <p class="muted" style="margin-top:0">Changes take effect at the next boot of ${vm.name}.</p>
      ${top ? html`<div class="notice error" role="alert">${top}</div>` : nothing}
      ${this.saved ? html`<div class="notice ok" role="status">Saved.</div>` : nothing}
      <fieldset ?disabled=${this.busy} style="border:0;padding:0;margin:0">
        <div class="row">
          ${formField('Sockets', 'sockets', html`<input id="sockets" name="sockets" type="number" min="1" max="256" .value=${String(vm.sockets)} aria-invalid=${!!err('sockets')} />`, err('sockets'))}
          ${formField('Cores per socket', 'cores', html`<input id="cores" name="cores" type="number" min="1" max="256" .value=${String(vm.cores)} aria-invalid=${!!err('cores')} />`, err('cores'))}
          ${formField('Memory (MiB)', 'memoryMib', html`<input id="memoryMib" name="memoryMib" type="number" min="16" .value=${String(vm.memoryMib)} aria-invalid=${!!err('memoryMib')} />`, err('memoryMib'))}
          ${formField('Firmware', 'firmware', html`<select id="firmware" name="firmware">${(['bios', 'uefi'] as const).map((f) => html`<option value=${f} ?selected=${vm.firmware === f}>${f.toUpperCase()}</option>`)}</select>`, err('firmware'))}
        </div>
        ${vm.nics.map((n, i) => {
          const current = `${n.kind}:${n.source}`;
          const options = [...new Set([current, ...nets.map((x) => `network:${x.name}`)])];
          const e = fieldError(this.error, `nics[${i}].source`) ?? (i === 0 ? err('nics') : undefined);
          return html`<div class="row">
            ${formField(`NIC ${i + 1} (${n.mac}) network`, `nic${i}`, html`<select id="nic${i}" name="nic${i}" aria-invalid=${!!e}>
              ${options.map((o) => html`<option value=${o} ?selected=${o === current}>${o.replace(':', ' ')}</option>`)}</select>`, e)}
            ${formField('Model', `model${i}`, html`<select id="model${i}" name="model${i}">${NIC_MODELS.map((m) => html`<option ?selected=${m === n.model}>${m}</option>`)}</select>`)}
          </div>`;
        })}
        <button class="primary" type="submit">Save</button>
      </fieldset>
    </form>`;
  }
}
customElements.define('qx-vm-settings', QxVmSettings);
