// How a page shows loading, an error and an empty list: one look for every page and controller.
import { html, nothing, type TemplateResult } from 'lit';

/** The message of anything thrown (ApiError, Error, a string). */
export const messageOf = (err: unknown): string => (err instanceof Error ? err.message : String(err));

export const loadingView = (): TemplateResult => html`<p class="muted">Loading…</p>`;

/** An alert box with the message, or nothing when there is none. */
export const errorNotice = (message: string | undefined) =>
  message ? html`<div class="notice error" role="alert">${message}</div>` : nothing;

export const emptyView = (text: unknown): TemplateResult => html`<p class="empty">${text}</p>`;
