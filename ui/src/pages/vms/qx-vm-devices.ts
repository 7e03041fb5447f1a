// Devices of a VM that change at once, running or not (hotplug): CD-ROM media inserted and
// ejected, disks attached and detached, and — while it runs — NICs added and removed (a shut-off
// VM's NICs are edited in the settings form). Each change answers the VM; "qx-saved" tells the page.
import { LitElement, html, nothing } from 'lit';
import type { NetworkDto } from '@dto/networks.js';
import type { PoolDto, VolumeDto } from '@dto/storage.js';
import type { VmDto } from '@dto/vms.js';
import { DISK_BUSES, NIC_MODELS, type DiskBus, type NicModel } from '@dto/enums.js';
import { attachVmDisk, attachVmNic, changeVmCdromMedia, detachVmDisk, detachVmNic } from '../../api/vms.js';
import { fetchHostPools, fetchVolumes } from '../../api/storage.js';
import { fetchNetworks } from '../../api/networks.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';
import { MAX_NICS, NEW_NIC_MODEL } from './vm-settings-nics.js';
import { hotplugRefusal, volumeChoices } from './vm-devices.js';

const FIELDS = ['index', 'pool', 'volume', 'bus', 'target', 'kind', 'source', 'model', 'mac'];

export class QxVmDevices extends LitElement {
  static override properties = { vm: { attribute: false }, pool: { state: true } };
  declare vm: VmDto;
  /** The pool whose volumes the attach and insert choices list. */
  declare pool: string;
  private pools = new ResourceController<PoolDto[]>(this, (s) => fetchHostPools(this.vm.hostId, s));
  private volumes = new ResourceController<VolumeDto[]>(this, (s) =>
    this.pool ? fetchVolumes(this.vm.hostId, this.pool, s) : Promise.resolve([]),
  );
  private networks = new ResourceController<NetworkDto[]>(this, (s) => fetchNetworks(this.vm.hostId, s));
  private action = new ActionController(this);

  static override styles = sharedStyles;

  constructor() {
    super();
    this.pool = '';
  }

  override updated(): void {
    // The first pool of the host until the operator picks one.
    const first = this.pools.value?.[0]?.name;
    if (!this.pool && first) {
      this.pool = first;
      void this.volumes.reload();
    }
  }

  private async change(key: string, fn: () => Promise<VmDto>): Promise<void> {
    if (await this.action.run(fn, key)) this.dispatchEvent(new Event('qx-saved', { bubbles: true, composed: true }));
  }

  private value(id: string): string {
    return (this.renderRoot.querySelector(`#${id}`) as HTMLSelectElement | null)?.value ?? '';
  }

  override render() {
    const vm = this.vm;
    const running = vm.state !== 'shutoff';
    return html`<section class="card" style="max-width:640px" aria-label="Devices">
      <h3 style="margin-top:0">Devices</h3>
      <p class="muted">
        ${
          running
            ? `These change ${vm.name} at once, while it runs, and stay in its definition.`
            : `These change the definition of ${vm.name}.`
        }
      </p>
      ${this.action.errorNotice(FIELDS)}
      <fieldset ?disabled=${this.action.busy} style="border:0;padding:0;margin:0">
        ${this.renderPoolChoice()} ${this.renderCdroms()} ${this.renderDisks(running)}
        ${running ? this.renderNics() : nothing}
      </fieldset>
    </section>`;
  }

  private renderPoolChoice() {
    const pools = this.pools.value ?? [];
    return formField(
      'Volumes from pool',
      'dev-pool',
      html`<select
        id="dev-pool"
        .value=${this.pool}
        @change=${(e: Event) => {
          this.pool = (e.target as HTMLSelectElement).value;
          void this.volumes.reload();
        }}
      >
        ${pools.map((p) => html`<option ?selected=${p.name === this.pool}>${p.name}</option>`)}
      </select>`,
    );
  }

  private renderCdroms() {
    const vm = this.vm;
    const isos = volumeChoices(this.volumes.value ?? [], vm, 'iso');
    return html`<h4>CD-ROM drives</h4>
      ${vm.cdroms.length ? nothing : html`<p class="muted">No CD-ROM drive.</p>`}
      ${vm.cdroms.map(
        (c, i) =>
          html`<div class="row" data-cdrom=${i}>
            <p style="flex:1">
              Drive ${i + 1}:
              ${c.pool ? html`<span class="mono">${c.pool}/${c.volume}</span>` : html`<span class="muted">empty</span>`}
            </p>
            ${formField(
              `Image for drive ${i + 1}`,
              `cd${i}`,
              html`<select id="cd${i}">
                ${isos.map((v) => html`<option value=${v.name}>${v.name}</option>`)}
              </select>`,
            )}
            <div class="field" style="flex:0 0 auto;justify-content:flex-end">
              <button
                type="button"
                data-action="insert-cdrom"
                ?disabled=${!isos.length}
                @click=${() =>
                  this.change('cd', () =>
                    changeVmCdromMedia(vm.id, i, { pool: this.pool, volume: this.value(`cd${i}`) }),
                  )}
              >
                Insert
              </button>
              <button
                type="button"
                data-action="eject-cdrom"
                ?disabled=${!c.pool}
                @click=${() => this.change('cd', () => changeVmCdromMedia(vm.id, i, {}))}
              >
                Eject
              </button>
            </div>
          </div>`,
      )}`;
  }

  private renderDisks(running: boolean) {
    const vm = this.vm;
    const free = volumeChoices(this.volumes.value ?? [], vm, 'disk');
    return html`<h4>Disks</h4>
      <ul>
        ${vm.disks.map((d, i) => {
          const target = vm.diskTargets[i] ?? '';
          const refusal = hotplugRefusal(running, d.bus);
          return html`<li data-disk=${target}>
            <span class="mono">${target}</span> ${d.pool}/${d.volume} (${d.bus})
            <button
              type="button"
              data-action="detach-disk"
              ?disabled=${!target || !!refusal}
              title=${refusal ?? ''}
              aria-label="Detach disk ${target}"
              @click=${() => this.change('disk', () => detachVmDisk(vm.id, target))}
            >
              Detach
            </button>
            ${refusal ? html`<span class="muted">${refusal}</span>` : nothing}
          </li>`;
        })}
      </ul>
      <div class="row">
        ${formField(
          'Attach volume',
          'disk-volume',
          html`<select id="disk-volume">
            ${free.map((v) => html`<option value=${v.name}>${v.name}</option>`)}
          </select>`,
          this.action.fieldError('volume'),
        )}
        ${formField(
          'Bus',
          'disk-bus',
          html`<select id="disk-bus">
            ${DISK_BUSES.map((b) => html`<option ?selected=${b === 'virtio'}>${b}</option>`)}
          </select>`,
          this.action.fieldError('bus'),
          running ? 'A running VM takes virtio or scsi disks' : undefined,
        )}
        <div class="field" style="flex:0 0 auto;justify-content:flex-end">
          <button
            type="button"
            data-action="attach-disk"
            ?disabled=${!free.length}
            @click=${() =>
              this.change('disk', () =>
                attachVmDisk(vm.id, {
                  pool: this.pool,
                  volume: this.value('disk-volume'),
                  bus: this.value('disk-bus') as DiskBus,
                }),
              )}
          >
            Attach
          </button>
        </div>
      </div>`;
  }

  private renderNics() {
    const vm = this.vm;
    const nets = this.networks.value ?? [];
    return html`<h4>Network interfaces</h4>
      <ul>
        ${vm.nics.map(
          (n) =>
            html`<li data-nic-mac=${n.mac}>
              <span class="mono">${n.mac}</span> ${n.kind} ${n.source} (${n.model})
              <button
                type="button"
                data-action="detach-nic"
                aria-label="Remove NIC ${n.mac}"
                @click=${() => this.change('nic', () => detachVmNic(vm.id, n.mac))}
              >
                Remove
              </button>
            </li>`,
        )}
      </ul>
      <div class="row">
        ${formField(
          'Add on network',
          'nic-net',
          html`<select id="nic-net">
            ${nets.map((n) => html`<option>${n.name}</option>`)}
          </select>`,
          this.action.fieldError('source'),
        )}
        ${formField(
          'Model',
          'nic-model',
          html`<select id="nic-model">
            ${NIC_MODELS.map((m) => html`<option ?selected=${m === NEW_NIC_MODEL}>${m}</option>`)}
          </select>`,
        )}
        <div class="field" style="flex:0 0 auto;justify-content:flex-end">
          <button
            type="button"
            data-action="attach-nic"
            ?disabled=${!nets.length || vm.nics.length >= MAX_NICS}
            @click=${() =>
              this.change('nic', () =>
                attachVmNic(vm.id, {
                  kind: 'network',
                  source: this.value('nic-net'),
                  model: this.value('nic-model') as NicModel,
                }),
              )}
          >
            Add network interface
          </button>
        </div>
      </div>`;
  }
}
customElements.define('qx-vm-devices', QxVmDevices);
