// Login form; shows "session expired" and lockout messages; emits qx-session with the user.
import { LitElement, css, html, nothing } from 'lit';
import { ActionController } from '../../controllers/action-controller.js';
import { login } from '../../api/session.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

export class QxLoginPage extends LitElement {
  static override properties = { notice: { type: String } };
  declare notice: string;
  private action = new ActionController(this);

  static override styles = [
    sharedStyles,
    css`
      :host {
        display: grid;
        place-items: center;
        min-height: 100vh;
      }
      .card {
        width: 340px;
        padding: 1.8rem;
      }
      .brand {
        font-size: 1.4rem;
        font-weight: 700;
        margin-bottom: 0.2rem;
      }
      .brand span {
        color: var(--qx-accent);
      }
      button.primary {
        width: 100%;
        padding: 0.5rem;
        margin-top: 0.4rem;
      }
      input {
        width: 100%;
        box-sizing: border-box;
      }
    `,
  ];

  private async onSubmit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    await this.action.run(async () => {
      const s = await login({ username: String(f.get('username')), password: String(f.get('password')) });
      this.dispatchEvent(new CustomEvent('qx-session', { detail: s.user, bubbles: true, composed: true }));
    });
  }

  override render() {
    const uErr = this.action.fieldError('username');
    const pErr = this.action.fieldError('password');
    return html`<form class="card" @submit=${this.onSubmit} aria-labelledby="title">
      <div class="brand" id="title">Quantix<span>-vDC</span></div>
      <p class="muted">Log in to manage your hosts and virtual machines.</p>
      ${this.notice ? html`<div class="notice info" role="status">${this.notice}</div>` : nothing}
      ${this.action.errorNotice(['username', 'password'])}
      ${formField('Username', 'username', html`<input id="username" name="username" autocomplete="username" required autofocus aria-invalid=${!!uErr} />`, uErr)}
      ${formField('Password', 'password', html`<input id="password" name="password" type="password" autocomplete="current-password" required aria-invalid=${!!pErr} />`, pErr)}
      <button class="primary" type="submit" ?disabled=${this.action.busy}>
        ${this.action.busy ? 'Logging in…' : 'Log in'}
      </button>
    </form>`;
  }
}
customElements.define('qx-login-page', QxLoginPage);
