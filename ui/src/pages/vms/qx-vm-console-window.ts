// The pop-out console window (#/vms/:id/console serial, #/vms/:id/graphics graphical): only the
// console area, filling the window.
import { LitElement, css, html } from 'lit';
import type { VmDto } from '@dto/vms.js';
import { fetchVm } from '../../api/vms.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import './qx-vm-console-area.js';

export class QxVmConsoleWindow extends LitElement {
  static override properties = { params: { attribute: false } };
  declare params: { id: string };
  private vm = new ResourceController<VmDto>(this, (s) => fetchVm(this.params.id, s));

  static override styles = css`
    :host {
      display: block;
      height: 100vh;
      box-sizing: border-box;
      padding: 0.5rem;
    }
  `;

  constructor() {
    super();
    new EventsController(this, { vm: (d) => (d as { id?: string })?.id === this.params.id && void this.vm.reload() });
  }

  override render() {
    return this.vm.render({ complete: (vm) => this.renderConsole(vm) });
  }

  private renderConsole(vm: VmDto) {
    const graphics = location.hash.endsWith('/graphics');
    document.title = `${vm.name} ${graphics ? 'graphical console' : 'console'} · Quantix-vDC`;
    const offline = vm.hostOnline ? '' : `The host ${vm.hostName} is offline.`;
    return html`<qx-vm-console-area
      .vm=${vm}
      .offline=${offline}
      .kind=${graphics ? 'graphics' : 'serial'}
    ></qx-vm-console-area>`;
  }
}
customElements.define('qx-vm-console-window', QxVmConsoleWindow);
