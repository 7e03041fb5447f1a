// Loads one resource for an element: aborts the request when the element goes away or reloads,
// keeps the last value while refreshing, and says where it is as a status with a render helper
// (as @lit/task does), so pages do not hand-write their loading, error and empty states.
import { nothing, type ReactiveController, type ReactiveControllerHost } from 'lit';
import { emptyView, errorNotice, loadingView, messageOf } from '../components/status-views.js';

export const ResourceStatus = { initial: 'initial', pending: 'pending', complete: 'complete', error: 'error' } as const;
export type ResourceStatus = (typeof ResourceStatus)[keyof typeof ResourceStatus];

/** What to show in each status; `complete` also gets the last value while a reload is pending or failed. */
export interface ResourceRenderers<T> {
  complete: (value: T) => unknown;
  pending?: () => unknown;
  error?: (err: unknown) => unknown;
}

export class ResourceController<T> implements ReactiveController {
  value: T | undefined;
  error: unknown;
  status: ResourceStatus = ResourceStatus.initial;
  private abort?: AbortController;
  private readonly host: ReactiveControllerHost;
  private readonly load: (signal: AbortSignal) => Promise<T>;

  constructor(host: ReactiveControllerHost, load: (signal: AbortSignal) => Promise<T>) {
    this.host = host;
    this.load = load;
    host.addController(this);
  }

  hostConnected(): void {
    void this.reload();
  }

  hostDisconnected(): void {
    this.abort?.abort();
  }

  /** (Re)loads; a newer call supersedes an older one still in flight. */
  async reload(): Promise<void> {
    this.abort?.abort();
    const ac = new AbortController();
    this.abort = ac;
    this.status = ResourceStatus.pending;
    this.host.requestUpdate();
    try {
      const v = await this.load(ac.signal);
      if (ac.signal.aborted) return;
      this.value = v;
      this.error = undefined;
      this.status = ResourceStatus.complete;
    } catch (err) {
      if (ac.signal.aborted) return;
      this.error = err;
      this.status = ResourceStatus.error;
    }
    this.host.requestUpdate();
  }

  /** Replaces the value in place (a live event carried it), without a request. */
  set(value: T): void {
    this.value = value;
    this.host.requestUpdate();
  }

  /**
   * The value through `complete` once there is one (kept while reloading); until then "Loading…"
   * or the load error (defaults that `pending` and `error` replace).
   */
  render(r: ResourceRenderers<T>): unknown {
    if (this.value !== undefined) return r.complete(this.value);
    if (this.status === ResourceStatus.error) return r.error ? r.error(this.error) : this.errorNotice();
    return r.pending ? r.pending() : loadingView();
  }

  /** The alert for a failed (re)load, or nothing. */
  errorNotice() {
    return this.status === ResourceStatus.error ? errorNotice(messageOf(this.error)) : nothing;
  }

  /** `text` when the load completed and `shown` (default: the value) is an empty list, else nothing. */
  empty(text: unknown, shown: readonly unknown[] | undefined = this.value as readonly unknown[] | undefined) {
    return this.status === ResourceStatus.complete && shown?.length === 0 ? emptyView(text) : nothing;
  }
}
