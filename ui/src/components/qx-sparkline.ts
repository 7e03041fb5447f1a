// A small live SVG line chart of recent values (0–max), no chart library.
import { LitElement, css, html, svg } from 'lit';

export class QxSparkline extends LitElement {
  static override properties = { values: { attribute: false }, max: { type: Number }, label: { type: String } };
  declare values: number[];
  declare max: number;
  declare label: string;

  constructor() {
    super();
    this.values = [];
    this.max = 100;
    this.label = '';
  }

  static override styles = css`
    :host {
      display: block;
      color: var(--qx-accent);
    }
    svg {
      width: 100%;
      height: 48px;
      display: block;
    }
    .area {
      fill: currentColor;
      opacity: 0.15;
    }
    .line {
      fill: none;
      stroke: currentColor;
      stroke-width: 1.5;
      vector-effect: non-scaling-stroke;
    }
  `;

  override render() {
    const w = 100;
    const h = 40;
    const vals = this.values.length > 1 ? this.values : [this.values[0] ?? 0, this.values[0] ?? 0];
    const step = w / (vals.length - 1);
    const pts = vals.map(
      (v, i) => `${(i * step).toFixed(2)},${(h - (Math.min(v, this.max) / (this.max || 1)) * h).toFixed(2)}`,
    );
    return html`<svg viewBox="0 0 ${w} ${h}" preserveAspectRatio="none" role="img" aria-label=${this.label}>
      ${svg`<polygon class="area" points="0,${h} ${pts.join(' ')} ${w},${h}"></polygon>
      <polyline class="line" points=${pts.join(' ')}></polyline>`}
    </svg>`;
  }
}
customElements.define('qx-sparkline', QxSparkline);
