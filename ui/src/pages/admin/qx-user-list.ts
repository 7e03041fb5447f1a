// Users (admin): list, create with a role, change role, disable, delete.
import { LitElement, html, nothing } from 'lit';
import type { UserDto } from '@dto/auth.js';
import { ROLES, type Role } from '@dto/enums.js';
import { createUser, deleteUser, fetchUsers, updateUser } from '../../api/users.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { formatTime } from '../../app/format.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

export class QxUserList extends LitElement {
  static override properties = { user: { attribute: false } };
  declare user: UserDto | undefined;
  private users = new ResourceController<UserDto[]>(this, fetchUsers);
  /** The new-user form. */
  private create = new ActionController(this);
  /** Role changes, disable and delete in the table. */
  private rowAction = new ActionController(this);

  static override styles = sharedStyles;

  private async onCreate(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const form = e.target as HTMLFormElement;
    const f = new FormData(form);
    await this.create.run(async () => {
      await createUser({
        username: String(f.get('username')).trim(),
        password: String(f.get('password')),
        role: String(f.get('role')) as Role,
      });
      form.reset();
      void this.users.reload();
    });
  }

  private async run(fn: () => Promise<unknown>): Promise<void> {
    await this.rowAction.run(fn);
    void this.users.reload();
  }

  override render() {
    const err = (k: string) => this.create.fieldError(k);
    return html`<h1>Users</h1>
      <form class="card" style="margin-bottom:1rem" @submit=${this.onCreate} aria-label="New user">
        <h2 style="margin-top:0">New user</h2>
        ${this.create.errorNotice(['username', 'password', 'role'])}
        <div class="row">
          ${formField('Username', 'new-username', html`<input id="new-username" name="username" required autocomplete="off" aria-invalid=${!!err('username')} />`, err('username'))}
          ${formField('Password', 'new-password', html`<input id="new-password" name="password" type="password" required minlength="12" autocomplete="new-password" aria-invalid=${!!err('password')} />`, err('password'), 'At least 12 characters.')}
          ${formField(
            'Role',
            'new-role',
            html`<select id="new-role" name="role">
              ${ROLES.map((r) => html`<option ?selected=${r === 'viewer'}>${r}</option>`)}
            </select>`,
            err('role'),
          )}
        </div>
        <button class="primary" type="submit">Create user</button>
      </form>
      ${this.rowAction.errorNotice()} ${this.users.errorNotice()}
      <table>
        <thead>
          <tr>
            <th>User</th>
            <th>Role</th>
            <th>Status</th>
            <th>Created</th>
            <th>Last login</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          ${(this.users.value ?? []).map(
            (u) =>
              html`<tr>
                <td>${u.username}${u.id === this.user?.id ? html` <span class="muted">(you)</span>` : nothing}</td>
                <td>
                  <label class="sr-only" for="role-${u.id}">Role of ${u.username}</label>
                  <select
                    id="role-${u.id}"
                    ?disabled=${u.id === this.user?.id}
                    @change=${(e: Event) => this.run(() => updateUser(u.id, { role: (e.target as HTMLSelectElement).value as Role }))}
                  >
                    ${ROLES.map((r) => html`<option ?selected=${u.role === r}>${r}</option>`)}
                  </select>
                </td>
                <td>${u.disabled ? html`<span class="error">disabled</span>` : 'active'}</td>
                <td>${formatTime(u.createdAt)}</td>
                <td>${formatTime(u.lastLoginAt ?? undefined)}</td>
                <td>
                  ${
                    u.id === this.user?.id
                      ? nothing
                      : html` <button @click=${() => this.run(() => updateUser(u.id, { disabled: !u.disabled }))}>
                            ${u.disabled ? 'Enable' : 'Disable'}
                          </button>
                          <button
                            class="danger"
                            @click=${() => confirm(`Delete user ${u.username}?`) && this.run(() => deleteUser(u.id))}
                          >
                            Delete
                          </button>`
                  }
                </td>
              </tr>`,
          )}
        </tbody>
      </table>`;
  }
}
customElements.define('qx-user-list', QxUserList);
