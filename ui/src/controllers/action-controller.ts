// Runs a user's action (an API call, maybe followed by its task) for an element: the button is
// disabled while it runs, the error is kept for the form (its message, or the field it names).
import type { ReactiveControllerHost } from 'lit';
import { fieldError, formError } from '../api/client.js';
import { errorNotice, messageOf } from '../components/status-views.js';

/** Needs no lifecycle: it only re-renders its host when an action starts, ends or fails. */
export class ActionController {
  /** The key of the action running ('' when none): which button says "Creating…". */
  running = '';
  /** Why the last action failed (ApiError with `field`, Error), undefined after a success. */
  error: unknown;
  private readonly host: ReactiveControllerHost;

  constructor(host: ReactiveControllerHost) {
    this.host = host;
  }

  get busy(): boolean {
    return this.running !== '';
  }

  /**
   * Runs `fn` as action `key`: clears the last error, sets `running` until it settles and keeps
   * the error when it throws (an aborted action is not an error). Resolves true when it succeeded.
   */
  async run(fn: () => Promise<unknown>, key = 'action'): Promise<boolean> {
    this.running = key;
    this.error = undefined;
    this.host.requestUpdate();
    try {
      await fn();
      return true;
    } catch (err) {
      if ((err as Error)?.name !== 'AbortError') this.error = err;
      return false;
    } finally {
      this.running = '';
      this.host.requestUpdate();
    }
  }

  /** Shows an error found before anything was sent (a client-side check). */
  fail(err: unknown): void {
    this.error = err;
    this.host.requestUpdate();
  }

  clear(): void {
    this.error = undefined;
    this.host.requestUpdate();
  }

  /** The message for `field`, shown next to it. */
  fieldError(field: string): string | undefined {
    return fieldError(this.error, field);
  }

  /** The message for the top of the form: errors not bound to one of `fields` (all when omitted). */
  formError(fields: readonly string[] = []): string | undefined {
    return formError(this.error, fields);
  }

  /** The alert with the form-level message, or nothing. */
  errorNotice(fields: readonly string[] = []) {
    return errorNotice(this.formError(fields));
  }

  /** The error message, '' when the last action succeeded. */
  get message(): string {
    return this.error === undefined ? '' : messageOf(this.error);
  }
}
