// First-run setup: with the one-time setup code from the appliance console, create the admin
// account (password ≥ 12 characters), then log in as it.
import { LitElement, css, html } from 'lit';
import { ApiError } from '../../api/client.js';
import { ActionController } from '../../controllers/action-controller.js';
import { completeSetup, fetchSession } from '../../api/session.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

export const MIN_PASSWORD = 12;

export class QxSetupPage extends LitElement {
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
        width: 400px;
        padding: 1.8rem;
      }
      input {
        width: 100%;
        box-sizing: border-box;
      }
      button.primary {
        width: 100%;
        padding: 0.5rem;
      }
    `,
  ];

  private async onSubmit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const setupCode = String(f.get('setupCode')).trim();
    const username = String(f.get('username')).trim();
    const password = String(f.get('password'));
    if (password.length < MIN_PASSWORD) {
      this.action.fail(new ApiError(400, `The password needs at least ${MIN_PASSWORD} characters.`, 'password'));
      return;
    }
    if (password !== String(f.get('confirm'))) {
      this.action.fail(new ApiError(400, 'The two passwords differ.', 'confirm'));
      return;
    }
    await this.action.run(async () => {
      const s = (await completeSetup({ username, password, setupCode })) ?? (await fetchSession());
      this.dispatchEvent(new CustomEvent('qx-session', { detail: s?.user, bubbles: true, composed: true }));
    });
  }

  override render() {
    const fields = ['setupCode', 'username', 'password', 'confirm'];
    const err = (f: string) => this.action.fieldError(f);
    return html`<form class="card" @submit=${this.onSubmit} aria-labelledby="title">
      <h1 id="title">Welcome to Quantix-vDC</h1>
      <p class="muted">Create the administrator account to finish the first-run setup.</p>
      ${this.action.errorNotice(fields)}
      ${formField('Setup code', 'setupCode', html`<input id="setupCode" name="setupCode" required autocomplete="off" spellcheck="false" placeholder="XXXX-XXXX" aria-invalid=${!!err('setupCode')} />`, err('setupCode'), 'Shown on the appliance console (and printed by make run / make dev).')}
      ${formField('Admin username', 'username', html`<input id="username" name="username" value="admin" required autocomplete="username" aria-invalid=${!!err('username')} />`, err('username'))}
      ${formField('Password', 'password', html`<input id="password" name="password" type="password" required autocomplete="new-password" aria-invalid=${!!err('password')} />`, err('password'), `At least ${MIN_PASSWORD} characters.`)}
      ${formField('Confirm password', 'confirm', html`<input id="confirm" name="confirm" type="password" required autocomplete="new-password" aria-invalid=${!!err('confirm')} />`, err('confirm'))}
      <button class="primary" type="submit" ?disabled=${this.action.busy}>
        ${this.action.busy ? 'Creating…' : 'Create admin and log in'}
      </button>
    </form>`;
  }
}
customElements.define('qx-setup-page', QxSetupPage);
