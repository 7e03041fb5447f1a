// Graphical console: noVNC's RFB client over the graphics websocket (a fresh one-time ticket per
// connection), with Ctrl-Alt-Del, typing text as keystrokes, scaling, full screen, pop-out and
// reconnect. Loaded lazily: noVNC lands in this element's own chunk, never in the main bundle.
// Keyboard alone: Tab reaches the screen (its keys then go to the VM, Tab included); Ctrl+Shift+X
// leaves it for the toolbar, as in the serial console.
import { LitElement, css, html, nothing } from 'lit';
import RFB from '@novnc/novnc';
import type { SocketState } from '../../controllers/console-socket.js';
import { sharedStyles } from '../shared-styles.js';
import { consoleFrameStyles } from './console-frame-styles.js';
import { keysForText } from './paste-keys.js';

/** X11 keysyms and codes of the Ctrl and Shift keys (released when the keyboard leaves the screen). */
const MODIFIERS: readonly [number, string][] = [
  [0xffe3, 'ControlLeft'],
  [0xffe4, 'ControlRight'],
  [0xffe1, 'ShiftLeft'],
  [0xffe2, 'ShiftRight'],
];

export class QxVncConsole extends LitElement {
  static override properties = {
    connectUrl: { attribute: false },
    unavailable: { type: String },
    label: { type: String },
    popoutHref: { type: String },
    state: { state: true },
    reason: { state: true },
    scale: { state: true },
    typing: { state: true },
  };
  /** Fetches a fresh one-time ticket and returns the websocket URL. */
  declare connectUrl: (() => Promise<string>) | undefined;
  /** When set (VM off, no video device, host offline), shown instead of the screen. */
  declare unavailable: string;
  declare label: string;
  declare popoutHref: string;
  declare state: SocketState;
  declare reason: string;
  declare scale: boolean;
  /** The "Type text" panel is open. */
  declare typing: boolean;
  private rfb?: RFB;

  constructor() {
    super();
    this.unavailable = '';
    this.label = 'Graphical console';
    this.popoutHref = '';
    this.state = 'idle';
    this.reason = '';
    this.scale = true;
    this.typing = false;
  }

  static override styles = [
    sharedStyles,
    consoleFrameStyles,
    css`
      .screen {
        flex: 1;
        min-height: 480px;
        position: relative;
        background: #000;
        border-radius: var(--qx-radius);
        overflow: hidden;
      }
      /* noVNC's own screen element: sized from .screen even when .screen's height is not definite
         (its height: 100% would then be 0, and scaling would draw the canvas at 0 × 0). */
      .screen > div {
        position: absolute;
        inset: 0;
      }
      .status {
        font-size: 0.85rem;
      }
      .status.open {
        color: var(--qx-ok);
      }
      .status.error,
      .status.closed {
        color: var(--qx-danger);
      }
      .off {
        padding: 2rem;
        text-align: center;
        border: 1px dashed var(--qx-border);
        border-radius: var(--qx-radius);
      }
      .type {
        display: flex;
        gap: 0.5rem;
        margin-bottom: 0.5rem;
      }
      .type textarea {
        flex: 1;
        min-height: 3rem;
      }
    `,
  ];

  override updated(changed: Map<string, unknown>): void {
    // Only from idle: a new connectUrl on each parent render must not restart a live session.
    const idle = this.state === 'idle' && !this.rfb;
    if ((changed.has('unavailable') || changed.has('connectUrl')) && !this.unavailable && this.connectUrl && idle) {
      void this.connect();
    }
    if (changed.has('unavailable') && this.unavailable) this.teardown();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.teardown();
  }

  private async connect(): Promise<void> {
    this.teardown();
    const el = this.renderRoot.querySelector<HTMLElement>('.screen');
    if (!el || !this.connectUrl) return;
    this.setState('connecting');
    let url: string;
    try {
      url = await this.connectUrl();
    } catch (err) {
      this.setState('error', (err as Error).message);
      return;
    }
    if (!this.isConnected || this.unavailable) return;
    const rfb = new RFB(el, url, { shared: true });
    rfb.scaleViewport = this.scale;
    rfb.background = '#000';
    rfb.addEventListener('connect', () => {
      this.setState('open');
      rfb.focus();
    });
    rfb.addEventListener('disconnect', (e) => {
      if (this.rfb !== rfb) return;
      const clean = (e as CustomEvent<{ clean: boolean }>).detail?.clean;
      this.rfb = undefined;
      this.setState(clean ? 'closed' : 'error', clean ? 'the console was closed' : 'the connection was lost');
    });
    rfb.addEventListener('securityfailure', (e) =>
      this.setState('error', (e as CustomEvent<{ reason?: string }>).detail?.reason ?? 'refused by the VM'),
    );
    this.rfb = rfb;
  }

  private setState(s: SocketState, reason = ''): void {
    this.state = s;
    this.reason = reason;
  }

  private teardown(): void {
    const rfb = this.rfb;
    this.rfb = undefined;
    rfb?.disconnect();
    this.renderRoot?.querySelector('.screen')?.replaceChildren();
    this.state = 'idle';
  }

  private ctrlAltDel(): void {
    this.rfb?.sendCtrlAltDel();
    this.rfb?.focus();
  }

  private toggleScale(): void {
    this.scale = !this.scale;
    if (this.rfb) this.rfb.scaleViewport = this.scale;
  }

  /** Types the panel's text into the guest as key presses (clipboards do not reach a VGA console). */
  private typeText(): void {
    const area = this.renderRoot.querySelector<HTMLTextAreaElement>('.type textarea');
    const rfb = this.rfb;
    if (!area || !rfb) return;
    const { keys, skipped } = keysForText(area.value);
    for (const k of keys) {
      if (k.shift) rfb.sendKey(0xffe1, 'ShiftLeft', true);
      rfb.sendKey(k.keysym, k.code);
      if (k.shift) rfb.sendKey(0xffe1, 'ShiftLeft', false);
    }
    this.reason = skipped.length ? `not typed (no US key for): ${[...new Set(skipped)].join(' ')}` : '';
    area.value = '';
    this.typing = false;
    rfb.focus();
  }

  /**
   * Ctrl+Shift+X on the screen: focus the toolbar instead of sending the key to the VM. A capture
   * listener on the screen's container runs before noVNC's on its canvas, so the key never reaches it.
   */
  private readonly leaveKey = {
    capture: true,
    handleEvent: (e: KeyboardEvent) => {
      if (!(e.ctrlKey && e.shiftKey && e.code === 'KeyX')) return;
      e.preventDefault();
      e.stopPropagation();
      // noVNC already sent Ctrl and Shift down and releases keys only when the window loses focus:
      // release them, or the guest keeps them held (typed letters would arrive as Ctrl+letters).
      for (const [keysym, code] of MODIFIERS) this.rfb?.sendKey(keysym, code, false);
      this.renderRoot.querySelector<HTMLButtonElement>('.bar button:enabled')?.focus();
    },
  };

  private fullscreen(): void {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void this.requestFullscreen();
  }

  override render() {
    if (this.unavailable) return html`<div class="off" role="status">${this.unavailable}</div>`;
    const text: Record<SocketState, string> = {
      idle: 'Not connected',
      connecting: 'Connecting…',
      open: 'Connected',
      closed: 'Disconnected',
      error: 'Connection failed',
    };
    const open = this.state === 'open';
    return html`<div class="bar" role="toolbar" aria-label="${this.label} controls">
        <span class="status ${this.state}" role="status" data-state=${this.state}
          >${text[this.state]}${this.reason ? `: ${this.reason}` : ''}</span
        >
        <span class="spacer"></span>
        <button @click=${this.ctrlAltDel} ?disabled=${!open}>Ctrl-Alt-Del</button>
        <button @click=${() => (this.typing = !this.typing)} ?disabled=${!open} aria-expanded=${this.typing}>
          Type text…
        </button>
        <button @click=${this.toggleScale} aria-pressed=${this.scale}>Scale to fit</button>
        <button @click=${() => void this.connect()} ?disabled=${this.state === 'connecting'}>Reconnect</button>
        <button @click=${this.fullscreen}>Full screen</button>
        ${
          this.popoutHref
            ? html`<button @click=${() => window.open(this.popoutHref, '_blank', 'popup,width=1060,height=860')}>
                Pop out
              </button>`
            : nothing
        }
      </div>
      ${
        this.typing
          ? html`<div class="type">
              <textarea aria-label="Text to type into the VM" placeholder="Sent as key presses (US layout)"></textarea>
              <button @click=${this.typeText}>Type</button>
            </div>`
          : nothing
      }
      <div
        class="screen"
        tabindex="0"
        role="application"
        aria-label="${this.label}: keys go to the VM; Ctrl+Shift+X returns to the controls"
        @focus=${(e: FocusEvent) => e.target === e.currentTarget && this.rfb?.focus()}
        @keydown=${this.leaveKey}
      ></div>`;
  }
}
customElements.define('qx-vnc-console', QxVncConsole);
