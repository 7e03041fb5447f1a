// Serial console / host shell terminal: xterm.js + fit over the console websocket, with resize,
// reconnect, copy/paste, full screen and pop-out. Loaded lazily (its own chunk with xterm).
import { LitElement, css, html, nothing, unsafeCSS } from 'lit';
import { Terminal } from '@xterm/xterm';
import { FitAddon } from '@xterm/addon-fit';
import xtermCss from '@xterm/xterm/css/xterm.css?inline';
import { ConsoleSocket, type SocketState } from '../../controllers/console-socket.js';
import { sharedStyles } from '../shared-styles.js';
import { consoleFrameStyles } from './console-frame-styles.js';

export class QxSerialConsole extends LitElement {
  static override properties = {
    connectUrl: { attribute: false },
    unavailable: { type: String },
    label: { type: String },
    popoutHref: { type: String },
    state: { state: true },
    reason: { state: true },
  };
  /** Fetches a fresh one-time ticket and returns the websocket URL. */
  declare connectUrl: (() => Promise<string>) | undefined;
  /** When set (VM off, host offline), shown instead of the terminal. */
  declare unavailable: string;
  declare label: string;
  declare popoutHref: string;
  declare state: SocketState;
  declare reason: string;
  private term?: Terminal;
  private fit?: FitAddon;
  private socket?: ConsoleSocket;
  private resizeObs?: ResizeObserver;

  constructor() {
    super();
    this.unavailable = '';
    this.label = 'Serial console';
    this.popoutHref = '';
    this.state = 'idle';
    this.reason = '';
  }

  static override styles = [
    sharedStyles,
    unsafeCSS(xtermCss),
    consoleFrameStyles,
    css`
      .term {
        flex: 1;
        min-height: 380px;
        background: #000;
        padding: 4px;
        border-radius: var(--qx-radius);
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
    `,
  ];

  override updated(changed: Map<string, unknown>): void {
    if (
      (changed.has('unavailable') || changed.has('connectUrl')) &&
      !this.unavailable &&
      this.connectUrl &&
      !this.term
    ) {
      this.open();
    }
    if (changed.has('unavailable') && this.unavailable) this.teardown();
  }

  override disconnectedCallback(): void {
    super.disconnectedCallback();
    this.teardown();
  }

  private open(): void {
    const el = this.renderRoot.querySelector<HTMLElement>('.term');
    if (!el || !this.connectUrl) return;
    const term = new Terminal({
      cursorBlink: true,
      fontFamily: 'DejaVu Sans Mono, monospace',
      fontSize: 14,
      scrollback: 5000,
      convertEol: false,
    });
    const fit = new FitAddon();
    term.loadAddon(fit);
    term.open(el);
    this.term = term;
    this.fit = fit;
    this.socket = new ConsoleSocket({
      connectUrl: this.connectUrl,
      onData: (d) => term.write(d),
      onState: (s, reason) => {
        this.state = s;
        this.reason = reason ?? '';
        if (s === 'open') this.refit();
      },
    });
    term.onData((d) => this.socket?.send(d));
    term.attachCustomKeyEventHandler((e) => {
      if (e.type === 'keydown' && e.ctrlKey && e.shiftKey && e.code === 'KeyC') {
        void this.copy();
        return false;
      }
      if (e.type === 'keydown' && e.ctrlKey && e.shiftKey && e.code === 'KeyV') {
        void this.paste();
        return false;
      }
      // The terminal takes Tab for the guest: this key lets a keyboard user leave it (no trap).
      if (e.type === 'keydown' && e.ctrlKey && e.shiftKey && e.code === 'KeyX') {
        this.renderRoot.querySelector<HTMLButtonElement>('.bar button')?.focus();
        return false;
      }
      return true;
    });
    this.resizeObs = new ResizeObserver(() => this.refit());
    this.resizeObs.observe(el);
    this.refit();
    void this.socket.connect();
    term.focus();
  }

  private refit(): void {
    if (!this.term || !this.fit) return;
    try {
      this.fit.fit();
    } catch {
      return;
    }
    this.socket?.resize(this.term.cols, this.term.rows);
  }

  private teardown(): void {
    this.resizeObs?.disconnect();
    this.socket?.dispose();
    this.term?.dispose();
    this.term = undefined;
    this.socket = undefined;
    this.state = 'idle';
  }

  private async copy(): Promise<void> {
    const sel = this.term?.getSelection();
    if (sel) await navigator.clipboard?.writeText(sel).catch(() => undefined);
  }

  private async paste(): Promise<void> {
    const text = await navigator.clipboard?.readText().catch(() => '');
    if (text) this.socket?.send(text);
    this.term?.focus();
  }

  private reconnect(): void {
    this.term?.reset();
    void this.socket?.connect();
    this.term?.focus();
  }

  private fullscreen(): void {
    if (document.fullscreenElement) void document.exitFullscreen();
    else void this.requestFullscreen().then(() => this.refit());
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
    return html`<div class="bar" role="toolbar" aria-label="${this.label} controls">
        <span class="status ${this.state}" role="status" data-state=${this.state}
          >${text[this.state]}${this.reason ? `: ${this.reason}` : ''}</span
        >
        <span class="spacer"></span>
        <button @click=${this.reconnect} ?disabled=${this.state === 'connecting'}>Reconnect</button>
        <button @click=${this.copy} title="Ctrl+Shift+C">Copy</button>
        <button @click=${this.paste} title="Ctrl+Shift+V">Paste</button>
        <button @click=${this.fullscreen}>Full screen</button>
        ${this.popoutHref ? html`<button @click=${() => window.open(this.popoutHref, '_blank', 'popup,width=900,height=600')}>Pop out</button>` : nothing}
      </div>
      <div class="term" aria-label=${this.label}></div>
      <p class="muted" style="font-size:.8rem;margin:.3rem 0 0">
        Ctrl+Shift+X leaves the terminal (Tab goes to the guest). The guest's serial line does not learn the window
        size: run <code>resize</code> in the guest after resizing.
      </p>`;
  }
}
customElements.define('qx-serial-console', QxSerialConsole);
