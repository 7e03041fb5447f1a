// The pop-out console window (#/vms/:id/console): only the terminal, filling the window.
import { LitElement, css, html } from 'lit';
import type { VmDto } from '@dto/vms.js';
import { createConsoleTicket, fetchVm, socketUrl, vmIsOn } from '../../api/vms.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { EventsController } from '../../controllers/events-controller.js';
import '../../components/console/qx-serial-console.js';

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
    qx-serial-console {
      height: 100%;
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
    document.title = `${vm.name} console · Quantix-vDC`;
    const unavailable = !vm.hostOnline
      ? `The host ${vm.hostName} is offline.`
      : vmIsOn(vm.state)
        ? ''
        : `${vm.name} is ${vm.state}. Start it to use the console.`;
    return html`<qx-serial-console
      .label=${`Serial console of ${vm.name}`}
      .unavailable=${unavailable}
      .connectUrl=${async () => socketUrl((await createConsoleTicket(vm.id)).url)}
    ></qx-serial-console>`;
  }
}
customElements.define('qx-vm-console-window', QxVmConsoleWindow);
