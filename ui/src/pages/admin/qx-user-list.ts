// Users (admin): list, create with a role, change role, disable, delete.
import { LitElement, html, nothing } from 'lit';
import { createUser, deleteUser, fetchUsers, updateUser } from '../../api/users.js';
import { ROLES, type Role, type UserDto } from '../../api/session.js';
import { fieldError, formError } from '../../api/client.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { formatTime } from '../../app/format.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

export class QxUserList extends LitElement {
  static override properties = { user: { attribute: false }, error: { state: true }, rowError: { state: true } };
  declare user: UserDto | undefined;
  declare error: unknown;
  declare rowError: string;
  private users = new ResourceController<UserDto[]>(this, fetchUsers);

  static override styles = sharedStyles;

  private async onCreate(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    this.error = undefined;
    try {
      await createUser({ username: String(f.get('username')).trim(), password: String(f.get('password')), role: String(f.get('role')) as Role });
      form.reset();
      void this.users.reload();
    } catch (err) {
      this.error = err;
    }
  }

  private async run(fn: () => Promise<unknown>): Promise<void> {
    this.rowError = '';
    try {
      await fn();
    } catch (err) {
      this.rowError = (err as Error).message;
    }
    void this.users.reload();
  }

  override render() {
    const err = (k: string) => fieldError(this.error, k);
    const top = formError(this.error, ['username', 'password', 'role']);
    return html`<h1>Users</h1>
      <form class="card" style="margin-bottom:1rem" @submit=${this.onCreate} aria-label="New user">
        <h2 style="margin-top:0">New user</h2>
        ${top ? html`<div class="notice error" role="alert">${top}</div>` : nothing}
        <div class="row">
          ${formField('Username', 'new-username', html`<input id="new-username" name="username" required autocomplete="off" aria-invalid=${!!err('username')} />`, err('username'))}
          ${formField('Password', 'new-password', html`<input id="new-password" name="password" type="password" required minlength="12" autocomplete="new-password" aria-invalid=${!!err('password')} />`, err('password'), 'At least 12 characters.')}
          ${formField('Role', 'new-role', html`<select id="new-role" name="role">${ROLES.map((r) => html`<option ?selected=${r === 'viewer'}>${r}</option>`)}</select>`, err('role'))}
        </div>
        <button class="primary" type="submit">Create user</button>
      </form>
      ${this.rowError ? html`<div class="notice error" role="alert">${this.rowError}</div>` : nothing}
      <table><thead><tr><th>User</th><th>Role</th><th>Status</th><th>Created</th><th>Last login</th><th>Actions</th></tr></thead>
        <tbody>${(this.users.value ?? []).map((u) => html`<tr>
          <td>${u.username}${u.id === this.user?.id ? html` <span class="muted">(you)</span>` : nothing}</td>
          <td><label class="sr-only" for="role-${u.id}">Role of ${u.username}</label>
            <select id="role-${u.id}" ?disabled=${u.id === this.user?.id} @change=${(e: Event) => this.run(() => updateUser(u.id, { role: (e.target as HTMLSelectElement).value as Role }))}>
              ${ROLES.map((r) => html`<option ?selected=${u.role === r}>${r}</option>`)}</select></td>
          <td>${u.disabled ? html`<span class="error">disabled</span>` : 'active'}</td>
          <td>${formatTime(u.createdAt)}</td><td>${formatTime(u.lastLoginAt ?? undefined)}</td>
          <td>${u.id === this.user?.id ? nothing : html`
            <button @click=${() => this.run(() => updateUser(u.id, { disabled: !u.disabled }))}>${u.disabled ? 'Enable' : 'Disable'}</button>
            <button class="danger" @click=${() => confirm(`Delete user ${u.username}?`) && this.run(() => deleteUser(u.id))}>Delete</button>`}</td>
        </tr>`)}</tbody></table>`;
  }
}
customElements.define('qx-user-list', QxUserList);
