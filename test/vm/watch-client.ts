// A test client for HostService/Watch: keeps every event and waits for one that matches.
import type { ClientReadableStream } from '@grpc/grpc-js';
import type { WatchEvent } from '@quantix/proto/v1/host.js';

export class WatchClient {
  readonly events: WatchEvent[] = [];
  private waiters: (() => void)[] = [];

  constructor(readonly call: ClientReadableStream<WatchEvent>) {
    call.on('data', (e: WatchEvent) => {
      this.events.push(e);
      for (const w of this.waiters) w();
    });
    call.on('error', () => undefined);
  }

  waitFor(what: string, match: (e: WatchEvent) => boolean, timeoutMs = 30_000): Promise<WatchEvent> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== check);
        reject(new Error(`watch: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const check = () => {
        const hit = this.events.find(match);
        if (!hit) return;
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== check);
        resolve(hit);
      };
      this.waiters.push(check);
      check();
    });
  }

  /** A vm_state event for VM `name` whose reason starts with `reason`. */
  vmState(name: string, reason: string, timeoutMs?: number): Promise<WatchEvent> {
    return this.waitFor(
      `vm_state ${reason} for ${name}`,
      (e) => e.event?.$case === 'vmState' && e.event.value.name === name && e.event.value.reason.startsWith(reason),
      timeoutMs,
    );
  }

  close(): void {
    this.call.cancel();
  }
}
