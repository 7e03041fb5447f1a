// The settings tab of a VM: CPU, memory, firmware, boot order and its NICs — re-pointed, added or removed
// (the server takes these only while the VM is shut off; they apply at its next boot) — then the
// devices, vCPUs and memory that change at once, running or not (qx-vm-devices, qx-vm-resize), and
// autostart (qx-vm-autostart).
import { LitElement, html, nothing, type PropertyValues } from 'lit';
import type { NetworkDto } from '@dto/networks.js';
import type { VmDto } from '@dto/vms.js';
import { FIRMWARES, NIC_MODELS, type NicModel } from '@dto/enums.js';
import { updateVm } from '../../api/vms.js';
import { fetchNetworks } from '../../api/networks.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';
import './qx-vm-devices.js';
import './qx-vm-autostart.js';
import './qx-vm-resize.js';
import type { HostDto } from '@dto/hosts.js';
import { fetchHost } from '../../api/hosts.js';
import { hardwareFields, hardwarePatch } from './vm-hardware-fields.js';
import {
  MAX_NICS,
  addNicRow,
  changeNicRow,
  nicsPatch,
  removeNicRow,
  sourceKey,
  sourceOptions,
  type NicRow,
} from './vm-settings-nics.js';
import { BOOT_LABELS, bootOrderOf, bootRows, moveBootRow, toggleBootRow, type BootRow } from './vm-boot-order.js';

const FIELDS = [
  'sockets',
  'cores',
  'memoryMib',
  'firmware',
  'nics',
  'cpuMode',
  'cpuModel',
  'secureBoot',
  'machine',
  'tpm',
  'bootOrder',
  'maxVcpus',
  'maxMemoryMib',
  'spec.max_vcpus',
  'spec.max_memory_mib',
];

export class QxVmSettings extends LitElement {
  static override properties = {
    vm: { attribute: false },
    saved: { state: true },
    nics: { state: true },
    boot: { state: true },
  };
  declare vm: VmDto;
  declare saved: boolean;
  /** The NICs as edited (saved with the form). */
  declare nics: NicRow[];
  /** The boot order as edited (saved with the form). */
  declare boot: BootRow[];
  private networks = new ResourceController<NetworkDto[]>(this, (s) => fetchNetworks(this.vm.hostId, s));
  private action = new ActionController(this);
  /** The VM's host: which CPU models it can run. */
  private host = new ResourceController<HostDto>(this, (s) => fetchHost(this.vm.hostId, s));

  static override styles = sharedStyles;

  constructor() {
    super();
    this.nics = [];
    this.boot = [];
  }

  override willUpdate(changed: PropertyValues<this>): void {
    // A new VM, or its NICs changed on the server (saved, or by someone else): start from them.
    const old = changed.get('vm') as VmDto | undefined;
    if (
      changed.has('vm') &&
      (!old || old.id !== this.vm.id || JSON.stringify(old.nics) !== JSON.stringify(this.vm.nics))
    ) {
      this.nics = this.vm.nics.map((n) => ({ ...n }));
    }
    if (changed.has('vm') && (!old || old.id !== this.vm.id || old.bootOrder.join() !== this.vm.bootOrder.join())) {
      this.boot = bootRows(this.vm.bootOrder);
    }
  }

  private async onSubmit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    this.saved = false;
    await this.action.run(async () => {
      await updateVm(this.vm.id, {
        sockets: Number(f.get('sockets')),
        cores: Number(f.get('cores')),
        memoryMib: Number(f.get('memoryMib')),
        maxVcpus: Number(f.get('maxVcpus')),
        maxMemoryMib: Number(f.get('maxMemoryMib')),
        firmware: f.get('firmware') === 'uefi' ? 'uefi' : 'bios',
        nics: nicsPatch(this.nics),
        bootOrder: bootOrderOf(this.boot),
        ...hardwarePatch(this.vm, f),
      });
      this.saved = true;
      this.dispatchEvent(new Event('qx-saved'));
    });
  }

  override render() {
    const vm = this.vm;
    const err = (k: string) => this.action.fieldError(k);
    const nets = this.networks.value ?? [];
    const off = vm.state === 'shutoff';
    const fields = [...FIELDS, ...this.nics.map((_, i) => `nics[${i}].source`)];
    return html`<form class="card" @submit=${this.onSubmit} style="max-width:640px" aria-label="VM settings">
        <p class="muted" style="margin-top:0">
          ${
            off
              ? `Changes take effect at the next boot of ${vm.name}.`
              : `The form needs ${vm.name} shut down (firmware, CPU model, maxima, boot order, the networks of existing NICs). vCPUs and memory within their maxima, CD-ROMs, disks, added or removed NICs and autostart change at once, below.`
          }
        </p>
        ${this.action.errorNotice(fields)}
        ${this.saved ? html`<div class="notice ok" role="status">Saved.</div>` : nothing}
        <fieldset ?disabled=${this.action.busy} style="border:0;padding:0;margin:0">
          <div class="row">
            ${formField('Sockets', 'sockets', html`<input id="sockets" name="sockets" type="number" min="1" max="256" .value=${String(vm.sockets)} aria-invalid=${!!err('sockets')} />`, err('sockets'))}
            ${formField('Cores per socket', 'cores', html`<input id="cores" name="cores" type="number" min="1" max="256" .value=${String(vm.cores)} aria-invalid=${!!err('cores')} />`, err('cores'))}
            ${formField('Memory (MiB)', 'memoryMib', html`<input id="memoryMib" name="memoryMib" type="number" min="16" .value=${String(vm.memoryMib)} aria-invalid=${!!err('memoryMib')} />`, err('memoryMib'))}
            ${formField(
              'Firmware',
              'firmware',
              html`<select id="firmware" name="firmware">
                ${FIRMWARES.map((f) => html`<option value=${f} ?selected=${vm.firmware === f}>${f.toUpperCase()}</option>`)}
              </select>`,
              err('firmware'),
            )}
          </div>
          <div class="row">
            ${formField('Max vCPUs (hotplug)', 'maxVcpus', html`<input id="maxVcpus" name="maxVcpus" type="number" min="0" max="256" .value=${String(vm.maxVcpus)} aria-invalid=${!!(err('maxVcpus') ?? err('spec.max_vcpus'))} />`, err('maxVcpus') ?? err('spec.max_vcpus'), '0 = no growth; else a multiple of the cores.')}
            ${formField('Max memory (MiB, hotplug)', 'maxMemoryMib', html`<input id="maxMemoryMib" name="maxMemoryMib" type="number" min="0" .value=${String(vm.maxMemoryMib)} aria-invalid=${!!(err('maxMemoryMib') ?? err('spec.max_memory_mib'))} />`, err('maxMemoryMib') ?? err('spec.max_memory_mib'), '0 = no growth; the guest needs virtio_balloon.')}
          </div>
          ${hardwareFields(vm, this.host.value, err)} ${this.renderBoot()}
          ${this.nics.map((n, i) => this.renderNic(n, i, nets, off))}
          ${this.nics.length ? nothing : html`<p class="muted" data-testid="no-nics">No network interfaces.${err('nics') ? html` <span class="field-error" role="alert">${err('nics')}</span>` : nothing}</p>`}
          <p>
            <button
              type="button"
              data-action="add-nic"
              ?disabled=${!off || !nets.length || this.nics.length >= MAX_NICS}
              @click=${() => (this.nics = addNicRow(this.nics, nets[0]!.name))}
            >
              Add network interface
            </button>
            ${off ? (nets.length ? nothing : html`<span class="muted">The host of ${vm.name} has no networks.</span>`) : html`<span class="muted">While ${vm.name} runs, add or remove network interfaces under Devices.</span>`}
          </p>
          <button class="primary" type="submit">Save</button>
        </fieldset>
      </form>
      <qx-vm-resize .vm=${vm}></qx-vm-resize>
      <qx-vm-devices .vm=${vm}></qx-vm-devices>
      <qx-vm-autostart .vm=${vm}></qx-vm-autostart>`;
  }

  /** Boot devices in order, each switched on or off and moved with buttons (keyboard-friendly). */
  private renderBoot() {
    const rows = this.boot;
    const e = this.action.fieldError('bootOrder');
    return html`<fieldset style="border:0;padding:0;margin:0 0 0.8rem" aria-describedby="boot-hint">
      <legend>Boot order</legend>
      <ol style="margin:0.3rem 0;padding-left:1.4rem" data-testid="boot-order">
        ${rows.map(
          (r, i) =>
            html`<li data-boot=${r.dev}>
              <label
                ><input
                  type="checkbox"
                  .checked=${r.on}
                  @change=${(ev: Event) => (this.boot = toggleBootRow(rows, i, (ev.target as HTMLInputElement).checked))}
                />
                ${BOOT_LABELS[r.dev]}</label
              >
              <button
                type="button"
                aria-label="Move ${BOOT_LABELS[r.dev]} up"
                ?disabled=${i === 0}
                @click=${() => (this.boot = moveBootRow(rows, i, -1))}
              >
                ↑
              </button>
              <button
                type="button"
                aria-label="Move ${BOOT_LABELS[r.dev]} down"
                ?disabled=${i === rows.length - 1}
                @click=${() => (this.boot = moveBootRow(rows, i, 1))}
              >
                ↓
              </button>
            </li>`,
        )}
      </ol>
      <span class="muted" id="boot-hint">Takes effect at the next boot; none checked boots from the hard disk.</span>
      ${e ? html`<span class="field-error" role="alert">${e}</span>` : nothing}
    </fieldset>`;
  }

  private renderNic(n: NicRow, i: number, nets: NetworkDto[], off: boolean) {
    const current = sourceKey(n);
    const e = this.action.fieldError(`nics[${i}].source`) ?? (i === 0 ? this.action.fieldError('nics') : undefined);
    return html`<div class="row" data-nic=${i}>
      ${formField(
        `NIC ${i + 1} (${n.mac || 'new'}) network`,
        `nic${i}`,
        html`<select
          id="nic${i}"
          .value=${current}
          aria-invalid=${!!e}
          @change=${(ev: Event) => (this.nics = changeNicRow(this.nics, i, { key: (ev.target as HTMLSelectElement).value }))}
        >
          ${sourceOptions(n, nets).map((o) => html`<option value=${o} ?selected=${o === current}>${o.replace(':', ' ')}</option>`)}
        </select>`,
        e,
      )}
      ${formField(
        'Model',
        `model${i}`,
        html`<select
          id="model${i}"
          .value=${n.model}
          @change=${(ev: Event) => (this.nics = changeNicRow(this.nics, i, { model: (ev.target as HTMLSelectElement).value as NicModel }))}
        >
          ${NIC_MODELS.map((m) => html`<option ?selected=${m === n.model}>${m}</option>`)}
        </select>`,
      )}
      <div class="field" style="flex:0 0 auto;min-width:0;justify-content:flex-end">
        <button
          type="button"
          data-action="remove-nic"
          ?disabled=${!off}
          aria-label="Remove NIC ${i + 1}"
          @click=${() => (this.nics = removeNicRow(this.nics, i))}
        >
          Remove
        </button>
      </div>
    </div>`;
  }
}
customElements.define('qx-vm-settings', QxVmSettings);
