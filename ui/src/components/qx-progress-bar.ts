// A labelled progress bar (role=progressbar) with an optional phase text.
import { LitElement, css, html } from 'lit';

export class QxProgressBar extends LitElement {
  static override properties = {
    value: { type: Number },
    label: { type: String },
    phase: { type: String },
    tone: { type: String },
  };
  declare value: number;
  declare label: string;
  declare phase: string;
  declare tone: string;

  static override styles = css`
    :host {
      display: block;
    }
    .top {
      display: flex;
      justify-content: space-between;
      font-size: 0.85rem;
      margin-bottom: 0.2rem;
      gap: 1rem;
    }
    .track {
      height: 8px;
      background: var(--qx-surface-2);
      border-radius: 4px;
      overflow: hidden;
      border: 1px solid var(--qx-border);
    }
    .fill {
      height: 100%;
      background: var(--qx-accent);
      transition: width 0.2s;
    }
    .fill.ok {
      background: var(--qx-ok);
    }
    .fill.danger {
      background: var(--qx-danger);
    }
  `;

  override render() {
    const v = Math.max(0, Math.min(100, this.value ?? 0));
    return html`<div class="top">
        <span>${this.label}${this.phase ? ` — ${this.phase}` : ''}</span><span>${Math.round(v)}%</span>
      </div>
      <div
        class="track"
        role="progressbar"
        aria-label=${this.label}
        aria-valuemin="0"
        aria-valuemax="100"
        aria-valuenow=${Math.round(v)}
      >
        <div class="fill ${this.tone ?? ''}" style="width:${v}%"></div>
      </div>`;
  }
}
customElements.define('qx-progress-bar', QxProgressBar);
