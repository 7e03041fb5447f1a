// A VM's video device (virtio-vga, standard VGA, QXL or none), shown under its console; changed
// while the VM is shut off (the agent redefines it), effective at the next power-on.
import { LitElement, css, html, nothing } from 'lit';
import { VIDEO_MODELS, type VideoModel } from '@dto/enums.js';
import type { VmDto } from '@dto/vms.js';
import { updateVm } from '../../api/vms.js';
import { ActionController } from '../../controllers/action-controller.js';
import { messageOf } from '../../components/status-views.js';
import { sharedStyles } from '../../components/shared-styles.js';
import { VIDEO_LABELS } from './vm-presets.js';

export class QxVmVideoSetting extends LitElement {
  static override properties = { vm: { attribute: false } };
  declare vm: VmDto | undefined;
  private action = new ActionController(this);

  static override styles = [
    sharedStyles,
    css`
      :host {
        display: flex;
        gap: 0.5rem;
        align-items: center;
        flex-wrap: wrap;
        margin-top: 0.5rem;
        font-size: 0.9rem;
      }
    `,
  ];

  private async apply(): Promise<void> {
    const vm = this.vm;
    const select = this.renderRoot.querySelector('select');
    if (!vm || !select) return;
    const videoModel = select.value as VideoModel;
    await this.action.run(async () => {
      // The page hears the change as an SSE "vm" event too.
      this.vm = await updateVm(vm.id, { videoModel, vnc: videoModel !== 'none' });
    });
  }

  override render() {
    const vm = this.vm;
    if (!vm) return nothing;
    const off = vm.state === 'shutoff';
    const current: VideoModel = vm.vnc ? vm.videoModel : 'none';
    return html`<label for="video">Video device</label>
      <select id="video" ?disabled=${!off || this.action.busy}>
        ${VIDEO_MODELS.map((m) => html`<option value=${m} ?selected=${m === current}>${VIDEO_LABELS[m]}</option>`)}
      </select>
      <button @click=${this.apply} ?disabled=${!off || this.action.busy}>Apply</button>
      <span class="muted">${off ? 'Takes effect at the next power-on.' : 'Shut the VM down to change it.'}</span>
      ${this.action.error ? html`<span class="field-error" role="alert">${messageOf(this.action.error)}</span>` : nothing}`;
  }
}
customElements.define('qx-vm-video-setting', QxVmVideoSetting);
