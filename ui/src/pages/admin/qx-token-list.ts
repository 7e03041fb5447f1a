// API tokens: your tokens (admins see all); create one (the secret is shown once), revoke.
import { LitElement, html, nothing } from 'lit';
import type { CreatedTokenDto, TokenDto } from '@dto/users.js';
import type { UserDto } from '@dto/auth.js';
import { ROLES, type Role } from '@dto/enums.js';
import { createToken, fetchTokens, qxClientUrl, revokeToken } from '../../api/users.js';
import { canMutate } from '../../api/session.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { formatTime } from '../../app/format.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

export class QxTokenList extends LitElement {
  static override properties = { user: { attribute: false }, created: { state: true } };
  declare user: UserDto | undefined;
  declare created: CreatedTokenDto | undefined;
  private tokens = new ResourceController<TokenDto[]>(this, fetchTokens);
  private action = new ActionController(this);

  static override styles = sharedStyles;

  private async onCreate(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    await this.action.run(async () => {
      const days = Number(f.get('expiresInDays'));
      this.created = await createToken({
        name: String(f.get('name')).trim(),
        role: String(f.get('role')) as Role,
        ...(days ? { expiresInDays: days } : {}),
      });
      form.reset();
      void this.tokens.reload();
    });
  }

  private async revoke(t: TokenDto): Promise<void> {
    if (!confirm(`Revoke token ${t.name}? Programs using it stop working at once.`)) return;
    await this.action.run(() => revokeToken(t.id));
    void this.tokens.reload();
  }

  override render() {
    const mutate = canMutate(this.user);
    const err = (k: string) => this.action.fieldError(k);
    const myRoles = ROLES.slice(0, ROLES.indexOf(this.user?.role ?? 'viewer') + 1);
    return html`<h1>API tokens</h1>
      ${this.action.errorNotice(['name', 'role', 'expiresInDays'])}
      ${
        mutate
          ? html`<form class="card" style="margin-bottom:1rem" @submit=${this.onCreate} aria-label="New API token">
              <div class="row">
                ${formField('Token name', 'tok-name', html`<input id="tok-name" name="name" required aria-invalid=${!!err('name')} />`, err('name'))}
                ${formField(
                  'Role',
                  'tok-role',
                  html`<select id="tok-role" name="role">
                    ${myRoles.map((r) => html`<option ?selected=${r === this.user?.role}>${r}</option>`)}
                  </select>`,
                  err('role'),
                )}
                ${formField('Expires in (days, 1–365; empty = 90)', 'tok-exp', html`<input id="tok-exp" name="expiresInDays" type="number" min="1" max="365" aria-invalid=${!!err('expiresInDays')} />`, err('expiresInDays'))}
              </div>
              <button class="primary" type="submit">Create token</button>
            </form>`
          : nothing
      }
      ${
        this.created
          ? html`<div class="notice ok" role="status">
              <p style="margin-top:0">
                Token <strong>${this.created.token.name}</strong> created. Copy the secret now: it is not shown again.
              </p>
              <p class="mono" style="word-break:break-all" data-testid="token-secret">${this.created.secret}</p>
              <button @click=${() => navigator.clipboard?.writeText(this.created!.secret)}>Copy</button>
              <button @click=${() => (this.created = undefined)}>Done</button>
            </div>`
          : nothing
      }
      <p data-testid="qx-client">
        Command line: <a href=${qxClientUrl()} download="qx.mjs">download qx.mjs</a> (Node 20 or later), then
        <code class="mono">node qx.mjs login ${location.origin} --token &lt;secret&gt;</code> and
        <code class="mono">node qx.mjs vm list</code>.
      </p>
      <table>
        <thead>
          <tr>
            <th>Name</th>
            <th>Owner</th>
            <th>Role</th>
            <th>Prefix</th>
            <th>Created</th>
            <th>Expires</th>
            <th>Last used</th>
            ${mutate ? html`<th></th>` : nothing}
          </tr>
        </thead>
        <tbody>
          ${(this.tokens.value ?? []).map(
            (t) =>
              html`<tr>
                <td>${t.name}</td>
                <td>${t.username}</td>
                <td>${t.role}</td>
                <td class="mono">${t.prefix}…</td>
                <td>${formatTime(t.createdAt)}</td>
                <td>${formatTime(t.expiresAt)}</td>
                <td>${formatTime(t.lastUsedAt ?? undefined)}</td>
                ${mutate ? html`<td><button class="danger" @click=${() => this.revoke(t)}>Revoke</button></td>` : nothing}
              </tr>`,
          )}
        </tbody>
      </table>
      ${this.tokens.empty('No API tokens.')}`;
  }
}
customElements.define('qx-token-list', QxTokenList);
