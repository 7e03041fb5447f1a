// The VM page's "More actions" menu (operators): reset, pause/resume, clone (full or linked, then
// to the new VM) and export as OVA (a download link). Power on/off stay on the toolbar itself.
import { LitElement, css, html, nothing } from 'lit';
import type { VmDto } from '@dto/vms.js';
import { cloneVm, pauseVm, resetVm, resumeVm, vmExportUrl } from '../../api/vms.js';
import { createdVmId } from '../../api/tasks.js';
import { ActionController } from '../../controllers/action-controller.js';
import { TaskController } from '../../controllers/task-controller.js';
import { navigate } from '../../app/routes.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

export class QxVmMoreActions extends LitElement {
  static override properties = { vm: { attribute: false }, open: { state: true }, cloning: { state: true } };
  declare vm: VmDto;
  declare open: boolean;
  /** The clone form is shown. */
  declare cloning: boolean;
  private action = new ActionController(this);
  private task = new TaskController(this);

  static override styles = [
    sharedStyles,
    css`
      :host {
        position: relative;
        display: inline-block;
      }
      .menu {
        position: absolute;
        right: 0;
        z-index: 5;
        display: flex;
        flex-direction: column;
        min-width: 13rem;
        padding: 0.3rem;
        background: var(--qx-surface, #fff);
        border: 1px solid var(--qx-border, #ccc);
        border-radius: 4px;
        box-shadow: 0 2px 8px rgb(0 0 0 / 20%);
      }
      .menu > * {
        text-align: left;
      }
      form {
        padding: 0.3rem;
      }
    `,
  ];

  constructor() {
    super();
    this.open = false;
    this.cloning = false;
  }

  private async power(key: string, fn: (id: string) => ReturnType<typeof resetVm>): Promise<void> {
    if (key === 'reset' && !confirm(`Reset ${this.vm.name}? The guest restarts at once, unsaved data is lost.`)) return;
    this.open = false;
    await this.action.run(async () => this.task.follow(await fn(this.vm.id)), key);
  }

  private async onClone(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const ok = await this.action.run(async () => {
      const done = await this.task.follow(
        await cloneVm(this.vm.id, { name: String(f.get('name')).trim(), linked: f.get('linked') === 'on' }),
      );
      const id = createdVmId(done);
      if (id) navigate(`/vms/${encodeURIComponent(id)}`);
    }, 'clone');
    if (ok) this.cloning = this.open = false;
  }

  private onKey(e: KeyboardEvent): void {
    if (e.key !== 'Escape' || !this.open) return;
    this.open = this.cloning = false;
    this.renderRoot.querySelector<HTMLButtonElement>('#more')?.focus();
  }

  override render() {
    const vm = this.vm;
    const busy = this.action.busy;
    return html`<div @keydown=${this.onKey}>
      <button
        id="more"
        aria-haspopup="true"
        aria-expanded=${this.open}
        aria-controls="vm-more-menu"
        @click=${() => (this.open = !this.open)}
      >
        More actions ▾
      </button>
      ${this.open ? this.renderMenu(vm, busy) : nothing}
      ${this.task.progressText ? html`<span class="muted" role="status">${this.task.progressText}</span>` : nothing}
      ${this.action.errorNotice(['name'])}
    </div>`;
  }

  private renderMenu(vm: VmDto, busy: boolean) {
    const running = vm.state === 'running';
    return html`<div class="menu" id="vm-more-menu" role="group" aria-label="More actions for ${vm.name}">
      <button ?disabled=${!running || busy} @click=${() => this.power('reset', resetVm)}>Reset</button>
      ${
        vm.state === 'paused'
          ? html`<button ?disabled=${busy} @click=${() => this.power('resume', resumeVm)}>Resume</button>`
          : html`<button ?disabled=${!running || busy} @click=${() => this.power('pause', pauseVm)}>Pause</button>`
      }
      <button ?disabled=${busy} aria-expanded=${this.cloning} @click=${() => (this.cloning = !this.cloning)}>
        Clone…
      </button>
      ${this.cloning ? this.renderCloneForm(vm, busy) : nothing}
      <a class="button" href=${vmExportUrl(vm.id)} download="${vm.name}.ova">Export as OVA</a>
    </div>`;
  }

  private renderCloneForm(vm: VmDto, busy: boolean) {
    return html`<form @submit=${this.onClone} aria-label="Clone ${vm.name}">
      ${formField(
        'Name of the clone',
        'clone-name',
        html`<input
          id="clone-name"
          name="name"
          required
          .value=${`${vm.name}-clone`}
          aria-invalid=${this.action.fieldError('name') ? 'true' : 'false'}
        />`,
        this.action.fieldError('name'),
      )}
      <label><input type="checkbox" name="linked" /> Linked clone (shares the disks' data, faster, smaller)</label>
      <div class="toolbar">
        <button class="primary" type="submit" ?disabled=${busy}>
          ${this.action.running === 'clone' ? 'Cloning…' : 'Clone'}
        </button>
      </div>
    </form>`;
  }
}
customElements.define('qx-vm-more-actions', QxVmMoreActions);
