// The control-plane section of the Appliance page (admin): where the configuration lives, the etcd
// members; form a control plane on this appliance, issue a join token, join another one's, or remove
// the member of an appliance that is gone for good.
import { LitElement, html, nothing } from 'lit';
import type { ControlPlaneDto, ControlPlaneJoinTokenDto } from '@dto/controlplane.js';
import {
  createControlPlaneJoinToken,
  fetchControlPlane,
  formControlPlane,
  joinControlPlane,
  removeControlPlaneMember,
} from '../../api/controlplane.js';
import { ResourceController } from '../../controllers/resource-controller.js';
import { ActionController } from '../../controllers/action-controller.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';
import { formatTime } from '../../app/format.js';

/** Optional text fields: absent when left empty (the server picks its defaults). */
const given = (form: FormData, name: string) => String(form.get(name) ?? '').trim() || undefined;

export class QxControlPlane extends LitElement {
  static override properties = { token: { state: true }, message: { state: true } };
  declare token: ControlPlaneJoinTokenDto | undefined;
  declare message: string;
  private readonly status = new ResourceController<ControlPlaneDto>(this, fetchControlPlane);
  private readonly action = new ActionController(this);

  static override styles = sharedStyles;

  constructor() {
    super();
    this.message = '';
  }

  private async switchOver(e: SubmitEvent, kind: 'form' | 'join'): Promise<void> {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const member = { memberName: given(f, 'memberName'), memberAddress: given(f, 'memberAddress') };
    const what =
      kind === 'form'
        ? 'Move this appliance’s configuration into a new control plane? The server restarts.'
        : 'Join that control plane? Its configuration replaces this appliance’s, and the server restarts.';
    if (!confirm(what)) return;
    await this.action.run(async () => {
      const r =
        kind === 'form'
          ? await formControlPlane(member)
          : await joinControlPlane({
              ...member,
              address: String(f.get('address') ?? '').trim(),
              fingerprint: String(f.get('fingerprint') ?? '').trim(),
              token: String(f.get('token') ?? '').trim(),
            });
      this.message = `${r.message}. Sign in again in a few seconds.`;
    }, kind);
  }

  private async removeMember(m: ControlPlaneDto['members'][number]): Promise<void> {
    const name = m.name || `${m.id} (never started)`;
    if (!confirm(`Remove member ${name} from the control plane? Its appliance no longer serves it.`)) return;
    await this.action.run(async () => this.status.set(await removeControlPlaneMember(m.id)), 'remove');
  }

  private memberFields() {
    return html`${formField('Member name', 'cp-name', html`<input id="cp-name" name="memberName" placeholder="this appliance's hostname" />`, this.action.fieldError('memberName'))}
    ${formField('Member address', 'cp-address', html`<input id="cp-address" name="memberAddress" placeholder="its first management address" />`, this.action.fieldError('memberAddress'))}`;
  }

  override render() {
    const s = this.status.value;
    return html`<section aria-labelledby="cp-h">
      <h2 id="cp-h">Control plane</h2>
      ${this.status.errorNotice()}
      ${this.action.errorNotice(['memberName', 'memberAddress', 'address', 'fingerprint', 'token'])}
      ${this.message ? html`<p role="status">${this.message}</p>` : nothing}
      ${
        s
          ? html`<p data-testid="cp-store">
                ${s.store === 'etcd' ? `On an etcd control plane${s.memberName ? ` (this appliance is member ${s.memberName})` : ''}.` : 'This appliance alone (embedded store).'}
                ${s.unavailable ? html`<span class="error">${s.unavailable}</span>` : nothing}
                ${s.memberProblem ? html`<span class="error">${s.memberProblem}</span>` : nothing}
              </p>
              <p class="muted">This server's certificate: <span class="mono">${s.serverFingerprint}</span></p>
              ${s.store === 'etcd' ? this.renderMembers(s) : this.renderSingle()}`
          : nothing
      }
    </section>`;
  }

  private renderMembers(s: ControlPlaneDto) {
    return html`<table>
        <thead>
          <tr>
            <th>Member</th>
            <th>Peer URL</th>
            <th>Client URL</th>
            <th>State</th>
            <th><span class="sr-only">Actions</span></th>
          </tr>
        </thead>
        <tbody>
          ${s.members.map(
            (m) =>
              html`<tr data-member=${m.name}>
                <td>${m.name || html`<span class="muted">starting</span>`}</td>
                <td class="mono">${m.peerUrls.join(', ')}</td>
                <td class="mono">${m.clientUrls.join(', ')}</td>
                <td>${m.leader ? 'leader' : m.learner ? 'catching up' : 'follower'}</td>
                <td>
                  ${
                    m.name && m.name === s.memberName
                      ? nothing
                      : html`<button
                          ?disabled=${this.action.busy}
                          aria-label=${`Remove member ${m.name || m.id}`}
                          @click=${() => this.removeMember(m)}
                        >
                          Remove
                        </button>`
                  }
                </td>
              </tr>`,
          )}
        </tbody>
      </table>
      <div class="toolbar">
        <button
          ?disabled=${this.action.busy}
          @click=${() => this.action.run(async () => (this.token = await createControlPlaneJoinToken()), 'token')}
        >
          Issue a join token
        </button>
      </div>
      ${
        this.token
          ? html`<dl data-testid="cp-token">
                <dt>Token (one-time)</dt>
                <dd class="mono">${this.token.token}</dd>
                <dt>Fingerprint</dt>
                <dd class="mono">${this.token.serverFingerprint}</dd>
                <dt>Valid until</dt>
                <dd>${formatTime(this.token.expiresAt)}</dd>
              </dl>
              <p class="muted">On the joining appliance: this server's address, the fingerprint and the token.</p>`
          : nothing
      }`;
  }

  private renderSingle() {
    return html`<form aria-label="Form a control plane" @submit=${(e: SubmitEvent) => this.switchOver(e, 'form')}>
        <h3>Form a control plane here</h3>
        <p class="muted">
          This appliance runs the first etcd member; its configuration moves into it, nothing is lost.
        </p>
        ${this.memberFields()}
        <button type="submit" ?disabled=${this.action.busy}>Form control plane</button>
      </form>
      <form aria-label="Join a control plane" @submit=${(e: SubmitEvent) => this.switchOver(e, 'join')}>
        <h3>Join another appliance's control plane</h3>
        ${formField('Its address', 'cp-join-address', html`<input id="cp-join-address" name="address" required placeholder="10.0.0.5 or 10.0.0.5:443" />`, this.action.fieldError('address'))}
        ${formField('Its fingerprint', 'cp-join-fp', html`<input id="cp-join-fp" name="fingerprint" required />`, this.action.fieldError('fingerprint'))}
        ${formField('Join token', 'cp-join-token', html`<input id="cp-join-token" name="token" required autocomplete="off" />`, this.action.fieldError('token'))}
        ${this.memberFields()}
        <button type="submit" ?disabled=${this.action.busy}>Join control plane</button>
      </form>`;
  }
}
customElements.define('qx-control-plane', QxControlPlane);
