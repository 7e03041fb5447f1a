// A VM's console area: a Graphical/Serial switch over the graphical console (noVNC) and the serial
// console (xterm.js), each loaded lazily on first use. Used by the VM page and the pop-out window.
import { LitElement, css, html, nothing } from 'lit';
import type { VmDto } from '@dto/vms.js';
import { createConsoleTicket, createGraphicsTicket, socketUrl, vmIsOn } from '../../api/vms.js';
import { sharedStyles } from '../../components/shared-styles.js';
import './qx-vm-video-setting.js';

export const CONSOLE_KINDS = ['graphics', 'serial'] as const;
export type ConsoleKind = (typeof CONSOLE_KINDS)[number];

/** The VM has a video device and a graphical console (when running). */
export const hasGraphics = (vm: VmDto) => vm.vnc && vm.videoModel !== 'none';

const loaders: Record<ConsoleKind, () => Promise<unknown>> = {
  graphics: () => import('../../components/console/qx-vnc-console.js'),
  serial: () => import('../../components/console/qx-serial-console.js'),
};

export class QxVmConsoleArea extends LitElement {
  static override properties = {
    vm: { attribute: false },
    offline: { type: String },
    popout: { type: Boolean },
    kind: { type: String },
    loaded: { state: true },
  };
  declare vm: VmDto | undefined;
  /** Set when the VM's host is offline: shown instead of either console. */
  declare offline: string;
  /** Offer a pop-out window. */
  declare popout: boolean;
  /** The console shown; unset = graphical when the VM has a video device, else serial. */
  declare kind: ConsoleKind | '';
  declare loaded: ReadonlySet<ConsoleKind>;

  constructor() {
    super();
    this.offline = '';
    this.popout = false;
    this.kind = '';
    this.loaded = new Set();
  }

  static override styles = [
    sharedStyles,
    css`
      :host {
        display: flex;
        flex-direction: column;
        height: 100%;
      }
      .switch {
        display: flex;
        gap: 0.3rem;
        margin-bottom: 0.5rem;
      }
      .switch button[aria-pressed='true'] {
        font-weight: 600;
      }
      qx-vnc-console,
      qx-serial-console {
        flex: 1;
      }
    `,
  ];

  private get shown(): ConsoleKind {
    if (this.kind) return this.kind;
    return this.vm && hasGraphics(this.vm) ? 'graphics' : 'serial';
  }

  override willUpdate(): void {
    const k = this.shown;
    if (!this.loaded.has(k)) void loaders[k]().then(() => (this.loaded = new Set([...this.loaded, k])));
  }

  override render() {
    const vm = this.vm;
    if (!vm) return nothing;
    const kind = this.shown;
    return html`<div class="switch" role="group" aria-label="Console type">
        ${CONSOLE_KINDS.map(
          (k) =>
            html`<button aria-pressed=${k === kind} @click=${() => (this.kind = k)}>
              ${k === 'graphics' ? 'Graphical' : 'Serial'}
            </button>`,
        )}
      </div>
      ${
        !this.loaded.has(kind)
          ? html`<p class="muted">Loading console…</p>`
          : kind === 'graphics'
            ? this.renderGraphics(vm)
            : this.renderSerial(vm)
      }
      <qx-vm-video-setting .vm=${vm}></qx-vm-video-setting>`;
  }

  private renderGraphics(vm: VmDto) {
    const unavailable =
      this.offline ||
      (!hasGraphics(vm)
        ? `${vm.name} has no video device: use its serial console, or choose a video device below.`
        : !vmIsOn(vm.state)
          ? `${vm.name} is ${vm.state}. Start the VM to use its graphical console.`
          : '');
    return html`<qx-vnc-console
      .unavailable=${unavailable}
      .label=${`Graphical console of ${vm.name}`}
      .popoutHref=${this.popout ? `#/vms/${encodeURIComponent(vm.id)}/graphics` : ''}
      .connectUrl=${async () => socketUrl((await createGraphicsTicket(vm.id)).url)}
    ></qx-vnc-console>`;
  }

  private renderSerial(vm: VmDto) {
    const unavailable =
      this.offline || (!vmIsOn(vm.state) ? `${vm.name} is ${vm.state}. Start the VM to use its serial console.` : '');
    return html`<qx-serial-console
      .unavailable=${unavailable}
      .label=${`Serial console of ${vm.name}`}
      .popoutHref=${this.popout ? `#/vms/${encodeURIComponent(vm.id)}/console` : ''}
      .connectUrl=${async () => socketUrl((await createConsoleTicket(vm.id)).url)}
    ></qx-serial-console>`;
  }
}
customElements.define('qx-vm-console-area', QxVmConsoleArea);
