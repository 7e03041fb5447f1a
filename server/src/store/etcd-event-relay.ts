// Live events across the servers of one etcd control plane: each server puts what its EventHub
// publishes (sealed) on its own key /quantix/events/<server id>, under a lease so that a dead
// server's key goes away, and watches the others' keys: every put is one event, republished on
// the local hub as remote (for SSE only: this server's services do not act on it), so SSE clients of any server see the changes made through every server.
import type { Etcd3, Lease, Watcher } from 'etcd3';
import type { EventHub, EventName } from '../services/event-hub.js';
import { log } from '../log.js';
import type { SecretBox } from './secret-box.js';

const PREFIX = '/quantix/events/';
const LEASE_SECONDS = 30;
/** Per-server events not worth a round trip through etcd. */
const LOCAL_ONLY = new Set<EventName>(['hello']);

export class EtcdEventRelay {
  private lease: Lease;
  private watching: Promise<Watcher | undefined>;
  /** Puts in publish order, one at a time. */
  private sending: Promise<unknown> = Promise.resolve();
  private failing = false;
  private closed = false;
  private readonly listener = (name: EventName, data: unknown) => this.send(name, data);

  constructor(
    private readonly client: Etcd3,
    private readonly box: SecretBox,
    private readonly hub: EventHub,
    private readonly serverId: string,
  ) {
    this.lease = this.newLease();
    hub.on('event', this.listener);
    this.watching = this.watchOthers();
  }

  /** A watch etcd cancels (it fell behind a compaction) is replaced: live events go on from now. */
  private watchOthers(): Promise<Watcher | undefined> {
    return this.client
      .watch()
      .prefix(PREFIX)
      .create()
      .then((w) => {
        w.on('put', (kv) => this.received(kv.key.toString(), kv.value.toString()));
        w.on('error', (err) => {
          if (this.closed) return;
          log.warn("the watch on the other servers' events was cancelled: watching again", { error: err.message });
          this.watching = this.watchOthers();
        });
        return w;
      })
      .catch((err: Error) => {
        log.error('events of the other servers are not relayed', { error: err.message });
        return undefined;
      });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.hub.off('event', this.listener);
    await this.sending;
    await (await this.watching)?.cancel().catch(() => undefined);
    await this.lease.revoke().catch(() => undefined);
  }

  private newLease(): Lease {
    const lease = this.client.lease(LEASE_SECONDS, { autoKeepAlive: true });
    lease.on('lost', () => {
      this.lease = this.newLease();
    });
    return lease;
  }

  private send(name: EventName, data: unknown): void {
    if (LOCAL_ONLY.has(name)) return;
    const value = this.box.seal(JSON.stringify({ name, data }));
    this.sending = this.sending.then(() =>
      this.lease
        .put(PREFIX + this.serverId)
        .value(value)
        .exec()
        .then(
          () => (this.failing = false),
          (err: Error) => {
            // Without quorum events stay local; say so once, not per event.
            if (!this.failing) log.warn('events not relayed to the other servers', { error: err.message });
            this.failing = true;
          },
        ),
    );
  }

  private received(key: string, sealed: string): void {
    if (key === PREFIX + this.serverId) return;
    const { name, data } = JSON.parse(this.box.open(sealed, key)) as { name: EventName; data: unknown };
    this.hub.publishRemote(name, data);
  }
}
