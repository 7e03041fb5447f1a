// Loads one resource for an element: aborts the request when the element goes away or reloads,
// keeps the last value while refreshing, exposes error and loading state.
import type { ReactiveController, ReactiveControllerHost } from 'lit';

export class ResourceController<T> implements ReactiveController {
  value: T | undefined;
  error: unknown;
  loading = false;
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
    this.loading = true;
    this.host.requestUpdate();
    try {
      const v = await this.load(ac.signal);
      if (ac.signal.aborted) return;
      this.value = v;
      this.error = undefined;
    } catch (err) {
      if (ac.signal.aborted) return;
      this.error = err;
    } finally {
      if (!ac.signal.aborted) {
        this.loading = false;
        this.host.requestUpdate();
      }
    }
  }
}
