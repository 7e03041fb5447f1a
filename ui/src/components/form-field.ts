// A labelled form field with its error message right under it (aria-invalid + aria-describedby).
import { html, nothing, type TemplateResult } from 'lit';

/** Wraps `control` (an input/select rendered by the caller with id=`id`) with label and error. */
export function formField(
  label: string,
  id: string,
  control: TemplateResult,
  error?: string,
  hint?: string,
): TemplateResult {
  return html`<div class="field">
    <label for=${id}>${label}</label>
    ${control} ${hint && !error ? html`<span class="muted" id=${`${id}-hint`}>${hint}</span>` : nothing}
    ${error ? html`<span class="field-error" id=${`${id}-error`} role="alert">${error}</span>` : nothing}
  </div>`;
}
