// A coloured pill for a VM/host/task state.
import { LitElement, css, html } from 'lit';

const TONE: Record<string, string> = {
  running: 'ok',
  online: 'ok',
  succeeded: 'ok',
  applied: 'ok',
  active: 'ok',
  stopped: 'off',
  shutoff: 'off',
  'shut off': 'off',
  cancelled: 'off',
  inactive: 'off',
  paused: 'warn',
  maintenance: 'warn',
  queued: 'warn',
  pending: 'warn',
  starting: 'info',
  stopping: 'info',
  connecting: 'info',
  failed: 'danger',
  offline: 'danger',
  crashed: 'danger',
  error: 'danger',
  warning: 'warn',
  info: 'info',
};

export class QxStateBadge extends LitElement {
  static override properties = { state: { type: String } };
  declare state: string;

  static override styles = css`
    :host {
      display: inline-block;
    }
    span {
      display: inline-flex;
      align-items: center;
      gap: 0.35rem;
      padding: 0.05rem 0.55rem;
      border-radius: 999px;
      font-size: 0.8rem;
      font-weight: 500;
      border: 1px solid currentColor;
      white-space: nowrap;
    }
    span::before {
      content: '';
      width: 0.5rem;
      height: 0.5rem;
      border-radius: 50%;
      background: currentColor;
    }
    .ok {
      color: var(--qx-ok);
    }
    .off {
      color: var(--qx-text-muted);
    }
    .warn {
      color: var(--qx-warn);
    }
    .info {
      color: var(--qx-info);
    }
    .danger {
      color: var(--qx-danger);
    }
  `;

  override render() {
    const s = this.state ?? 'unknown';
    return html`<span class=${TONE[s] ?? 'off'}>${s}</span>`;
  }
}
customElements.define('qx-state-badge', QxStateBadge);
