// vCPUs and memory of a VM changed at once, running or not (hotplug within the maxima its settings
// set while shut off): vCPUs through ACPI CPU hotplug (a running VM only grows), memory through the
// virtio balloon. "qx-saved" tells the page.
import { LitElement, html, nothing } from 'lit';
import type { VmDto } from '@dto/vms.js';
import { setVmMemory, setVmVcpus, vmCpuCount } from '../../api/vms.js';
import { ActionController } from '../../controllers/action-controller.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

export class QxVmResize extends LitElement {
  static override properties = { vm: { attribute: false }, saved: { state: true } };
  declare vm: VmDto;
  declare saved: string;
  private action = new ActionController(this);

  static override styles = sharedStyles;

  private async apply(what: 'vcpus' | 'memory'): Promise<void> {
    const input = this.renderRoot.querySelector<HTMLInputElement>(what === 'vcpus' ? '#liveVcpus' : '#liveMemoryMib');
    const value = Number(input?.value);
    this.saved = '';
    const ok = await this.action.run(() =>
      what === 'vcpus' ? setVmVcpus(this.vm.id, value) : setVmMemory(this.vm.id, value),
    );
    if (!ok) return;
    this.saved = what === 'vcpus' ? `${value} vCPUs.` : `${value} MiB.`;
    this.dispatchEvent(new Event('qx-saved', { bubbles: true, composed: true }));
  }

  override render() {
    const vm = this.vm;
    const vcpus = vmCpuCount(vm);
    const maxVcpus = Math.max(vm.maxVcpus, vcpus);
    const maxMemory = Math.max(vm.maxMemoryMib, vm.memoryMib);
    const vErr = this.action.fieldError('vcpus');
    const mErr = this.action.fieldError('memory_mib') ?? this.action.fieldError('memoryMib');
    return html`<form
      class="card"
      style="max-width:640px"
      aria-label="CPU and memory now"
      @submit=${(e: Event) => e.preventDefault()}
    >
      <h3 style="margin-top:0">CPU and memory now</h3>
      <p class="muted">
        Changed at once${vm.state === 'shutoff' ? '' : ' while it runs'}: up to ${maxVcpus} vCPUs and ${maxMemory} MiB
        (Max vCPUs and Max memory above, set while ${vm.name} is shut off). A running VM gains vCPUs but does not give
        them back; memory moves both ways through the balloon.
      </p>
      ${this.action.errorNotice(['vcpus', 'memory_mib', 'memoryMib'])}
      ${this.saved ? html`<div class="notice ok" role="status">Now ${this.saved}</div>` : nothing}
      <fieldset ?disabled=${this.action.busy} style="border:0;padding:0;margin:0">
        <div class="row">
          ${formField(
            'vCPUs',
            'liveVcpus',
            html`<input
              id="liveVcpus"
              type="number"
              min=${vm.cores}
              max=${maxVcpus}
              step=${vm.cores}
              .value=${String(vcpus)}
              aria-invalid=${!!vErr}
            />`,
            vErr,
          )}
          <div class="field" style="flex:0 0 auto;justify-content:flex-end">
            <button type="button" data-action="set-vcpus" @click=${() => this.apply('vcpus')}>Apply vCPUs</button>
          </div>
          ${formField(
            'Memory (MiB)',
            'liveMemoryMib',
            html`<input
              id="liveMemoryMib"
              type="number"
              min="16"
              max=${maxMemory}
              .value=${String(vm.memoryMib)}
              aria-invalid=${!!mErr}
            />`,
            mErr,
          )}
          <div class="field" style="flex:0 0 auto;justify-content:flex-end">
            <button type="button" data-action="set-memory" @click=${() => this.apply('memory')}>Apply memory</button>
          </div>
        </div>
      </fieldset>
    </form>`;
  }
}
customElements.define('qx-vm-resize', QxVmResize);
