// Styles shared by pages and components inside their shadow roots: buttons, tables, forms, cards.
import { css } from 'lit';

export const sharedStyles = css`
  :host {
    display: block;
    color: var(--qx-text);
    font-family: var(--qx-font);
  }
  h1 {
    font-size: 1.35rem;
    margin: 0 0 1rem;
    font-weight: 600;
  }
  h2 {
    font-size: 1.05rem;
    margin: 1.2rem 0 0.6rem;
    font-weight: 600;
  }
  a {
    color: var(--qx-accent);
  }
  .toolbar {
    display: flex;
    gap: 0.5rem;
    align-items: center;
    flex-wrap: wrap;
    margin-bottom: 0.8rem;
  }
  .toolbar .spacer {
    flex: 1;
  }
  button,
  .button {
    font: inherit;
    border: 1px solid var(--qx-border);
    background: var(--qx-surface);
    color: var(--qx-text);
    border-radius: var(--qx-radius);
    padding: 0.35rem 0.8rem;
    cursor: pointer;
    text-decoration: none;
    display: inline-block;
  }
  button:hover:not(:disabled) {
    background: var(--qx-surface-2);
  }
  button.primary {
    background: var(--qx-accent);
    color: var(--qx-accent-text);
    border-color: var(--qx-accent);
  }
  button.primary:hover:not(:disabled) {
    filter: brightness(1.08);
    background: var(--qx-accent);
  }
  button.danger {
    color: var(--qx-danger);
    border-color: var(--qx-danger);
  }
  button:disabled {
    opacity: 0.5;
    cursor: default;
  }
  button:focus-visible,
  input:focus-visible,
  select:focus-visible,
  textarea:focus-visible,
  a:focus-visible {
    outline: none;
    box-shadow: var(--qx-focus);
  }
  input,
  select,
  textarea {
    font: inherit;
    color: var(--qx-text);
    background: var(--qx-surface);
    border: 1px solid var(--qx-border);
    border-radius: var(--qx-radius);
    padding: 0.35rem 0.5rem;
    min-width: 0;
  }
  input[aria-invalid='true'],
  select[aria-invalid='true'] {
    border-color: var(--qx-danger);
  }
  .card {
    background: var(--qx-surface);
    border: 1px solid var(--qx-border);
    border-radius: var(--qx-radius);
    padding: 1rem;
  }
  table {
    width: 100%;
    border-collapse: collapse;
    background: var(--qx-surface);
    border: 1px solid var(--qx-border);
    border-radius: var(--qx-radius);
  }
  th,
  td {
    text-align: left;
    padding: 0.45rem 0.7rem;
    border-bottom: 1px solid var(--qx-border);
    vertical-align: middle;
  }
  th {
    font-weight: 600;
    color: var(--qx-text-muted);
    font-size: 0.85rem;
    background: var(--qx-surface-2);
  }
  th button.sort {
    border: 0;
    background: none;
    padding: 0;
    font-weight: 600;
    color: inherit;
  }
  button.link {
    border: 0;
    background: none;
    padding: 0;
    color: var(--qx-accent);
    text-decoration: underline;
    text-underline-offset: 2px;
  }
  button.link:hover:not(:disabled) {
    background: none;
    text-decoration-thickness: 2px;
  }
  tr:last-child td {
    border-bottom: 0;
  }
  td.num,
  th.num {
    text-align: right;
    font-variant-numeric: tabular-nums;
  }
  .muted {
    color: var(--qx-text-muted);
  }
  .mono {
    font-family: var(--qx-mono);
    font-size: 0.9em;
  }
  .empty {
    padding: 1.5rem;
    text-align: center;
    color: var(--qx-text-muted);
  }
  .error {
    color: var(--qx-danger);
  }
  .notice {
    padding: 0.6rem 0.8rem;
    border-radius: var(--qx-radius);
    margin-bottom: 0.8rem;
    border: 1px solid;
  }
  .notice.error {
    background: color-mix(in srgb, var(--qx-danger) 10%, transparent);
    border-color: var(--qx-danger);
  }
  .notice.info {
    background: color-mix(in srgb, var(--qx-info) 10%, transparent);
    border-color: var(--qx-info);
    color: var(--qx-text);
  }
  .notice.ok {
    background: color-mix(in srgb, var(--qx-ok) 10%, transparent);
    border-color: var(--qx-ok);
    color: var(--qx-text);
  }
  form .field {
    display: flex;
    flex-direction: column;
    gap: 0.25rem;
    margin-bottom: 0.8rem;
  }
  form .field > label {
    font-weight: 500;
    font-size: 0.9rem;
  }
  .field-error {
    color: var(--qx-danger);
    font-size: 0.85rem;
  }
  .row {
    display: flex;
    gap: 1rem;
    flex-wrap: wrap;
  }
  .row > * {
    flex: 1;
    min-width: 12rem;
  }
  .grid {
    display: grid;
    grid-template-columns: repeat(auto-fill, minmax(220px, 1fr));
    gap: 0.8rem;
  }
  dl.props {
    display: grid;
    grid-template-columns: max-content 1fr;
    gap: 0.35rem 1.2rem;
    margin: 0;
  }
  dl.props dt {
    color: var(--qx-text-muted);
  }
  dl.props dd {
    margin: 0;
  }
  .tabs {
    display: flex;
    gap: 0.2rem;
    border-bottom: 1px solid var(--qx-border);
    margin-bottom: 1rem;
  }
  .tabs button {
    border: 0;
    border-bottom: 2px solid transparent;
    border-radius: 0;
    background: none;
    padding: 0.5rem 0.9rem;
  }
  .tabs button[aria-selected='true'] {
    border-bottom-color: var(--qx-accent);
    color: var(--qx-accent);
    font-weight: 600;
  }
  .sr-only {
    position: absolute;
    width: 1px;
    height: 1px;
    overflow: hidden;
    clip: rect(0 0 0 0);
    white-space: nowrap;
  }
`;
