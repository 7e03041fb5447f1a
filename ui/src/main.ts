// UI entry point.
import { LitElement, html } from 'lit';

class QxApp extends LitElement {
  override render() {
    return html`<h1>Quantix-vDC</h1>`;
  }
}
customElements.define('qx-app', QxApp);
