// "Edit" on a template card (operators): rename the template or change its description. Fires
// `qx-saved` with the updated template.
import { LitElement, html } from 'lit';
import type { TemplateDto } from '@dto/templates.js';
import { updateTemplate } from '../../api/images.js';
import { ActionController } from '../../controllers/action-controller.js';
import { formField } from '../../components/form-field.js';
import { sharedStyles } from '../../components/shared-styles.js';

export class QxTemplateEdit extends LitElement {
  static override properties = { template: { attribute: false }, open: { state: true } };
  declare template: TemplateDto;
  declare open: boolean;
  private action = new ActionController(this);

  static override styles = sharedStyles;

  constructor() {
    super();
    this.open = false;
  }

  private async onSubmit(e: SubmitEvent): Promise<void> {
    e.preventDefault();
    const f = new FormData(e.target as HTMLFormElement);
    const t = this.template;
    const name = String(f.get('name')).trim();
    const description = String(f.get('description'));
    const patch = {
      ...(name !== t.name ? { name } : {}),
      ...(description !== t.description ? { description } : {}),
    };
    await this.action.run(async () => {
      const saved = Object.keys(patch).length ? await updateTemplate(t.id, patch) : t;
      this.open = false;
      this.dispatchEvent(new CustomEvent('qx-saved', { detail: saved }));
    });
  }

  override render() {
    const t = this.template;
    if (!this.open) {
      return html`<button type="button" aria-label="Edit template ${t.name}" @click=${() => (this.open = true)}>
        Edit
      </button>`;
    }
    const err = (k: string) => this.action.fieldError(k);
    return html`<form @submit=${this.onSubmit} aria-label="Edit template ${t.name}">
      ${this.action.errorNotice(['name', 'description'])}
      ${formField(
        'Template name',
        `tpl-name-${t.id}`,
        html`<input id="tpl-name-${t.id}" name="name" required .value=${t.name} aria-invalid=${!!err('name')} />`,
        err('name'),
      )}
      ${formField(
        'Description',
        `tpl-desc-${t.id}`,
        html`<textarea
          id="tpl-desc-${t.id}"
          name="description"
          rows="2"
          maxlength="1024"
          .value=${t.description}
        ></textarea>`,
        err('description'),
      )}
      <div class="toolbar">
        <button class="primary" type="submit" ?disabled=${this.action.busy}>
          ${this.action.busy ? 'Saving…' : 'Save'}
        </button>
        <button type="button" @click=${() => (this.open = false)}>Cancel</button>
      </div>
    </form>`;
  }
}
customElements.define('qx-template-edit', QxTemplateEdit);
