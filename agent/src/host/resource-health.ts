// Pools and networks that change behind the agent's back (`virsh pool-destroy`, a loop device or
// mount that vanished, `virsh net-destroy`): a poll every few seconds while somebody watches
// compares each one's state with the last poll and publishes the changed ones on the WatchBus.
// A pool that looks failed or a network that looks stopped is published only when the next poll
// still sees it so: the agent's own stop or delete passes through such a state for a moment.
import { PoolState, type Pool } from '@quantix/proto/v1/storage.js';
import type { WatchEvent } from '@quantix/proto/v1/host.js';
import type { AgentContext, WatchBus } from '../context.js';
import { getNetwork } from '../network/host-networks.js';
import { networkNames } from '../network/network-libvirt.js';
import { log } from '../log.js';

/** Pools have no libvirt event for a vanished mount: a poll catches both kinds of change alike. */
export const HEALTH_POLL_MS = 5_000;

/** What a pool's published state depends on: state and error (figures change all the time). */
const poolKey = (p: Pool) => `${p.state}|${p.error}`;

class ResourceHealthPoller {
  users = 0;
  /** Per pool the state last published (or first seen) and a failure seen once, to confirm. */
  private readonly pools = new Map<string, string>();
  private readonly suspectPools = new Map<string, string>();
  private networksActive: Set<string> | undefined;
  private readonly suspectNetworks = new Set<string>();
  private readonly timer: NodeJS.Timeout;
  private polling = false;

  constructor(private readonly ctx: Pick<AgentContext, 'virsh' | 'bus' | 'pools' | 'config'>) {
    this.timer = setInterval(() => void this.poll(), HEALTH_POLL_MS);
    this.timer.unref();
    ctx.bus.on('event', this.onPublished);
    void this.poll();
  }

  /**
   * What the agent publishes (a pool made, started or stopped; a network made or deleted) is what
   * the next poll compares with: a pool destroyed from outside right after its creation, before
   * any poll saw it active, is still a failure, not a first sight.
   */
  private readonly onPublished = ({ event }: WatchEvent): void => {
    if (event?.$case === 'pool' && event.value.pool) {
      const { pool, removed } = event.value;
      if (removed) this.pools.delete(pool.name);
      else this.pools.set(pool.name, poolKey(pool));
    } else if (event?.$case === 'network' && event.value.network && this.networksActive) {
      const { network, removed } = event.value;
      if (!removed && network.active) this.networksActive.add(network.spec?.name ?? '');
      else this.networksActive.delete(network.spec?.name ?? '');
    }
  };

  private async poll(): Promise<void> {
    if (this.polling) return;
    this.polling = true;
    try {
      await Promise.all([this.pollPools(), this.pollNetworks()]);
    } catch (err) {
      log.warn('pool/network health poll failed', { error: (err as Error).message });
    } finally {
      this.polling = false;
    }
  }

  private async pollPools(): Promise<void> {
    const pools = await this.ctx.pools.list();
    const seen = new Set<string>();
    for (const p of pools) {
      seen.add(p.name);
      const before = this.pools.get(p.name);
      const key = poolKey(p);
      // The first poll is the baseline; creations and deletions are published where they happen.
      if (before === undefined) this.pools.set(p.name, key);
      if (before === undefined || before === key) {
        this.suspectPools.delete(p.name);
        continue;
      }
      if (p.state === PoolState.POOL_STATE_FAILED && this.suspectPools.get(p.name) !== key) {
        this.suspectPools.set(p.name, key);
        continue;
      }
      this.suspectPools.delete(p.name);
      this.pools.set(p.name, key);
      this.ctx.bus.publish({ event: { $case: 'pool', value: { pool: p, removed: false } } });
    }
    for (const name of this.pools.keys()) if (!seen.has(name)) this.pools.delete(name);
    for (const name of this.suspectPools.keys()) if (!seen.has(name)) this.suspectPools.delete(name);
  }

  private async pollNetworks(): Promise<void> {
    const { all, active } = await networkNames(this.ctx.virsh);
    const before = this.networksActive;
    if (!before) {
      this.networksActive = active;
      return;
    }
    const known = new Set(active);
    for (const name of all) {
      if (before.has(name) === active.has(name)) {
        this.suspectNetworks.delete(name);
        continue;
      }
      if (!active.has(name) && !this.suspectNetworks.has(name)) {
        // Stopped: confirmed at the next poll (a delete stops the network before undefining it).
        this.suspectNetworks.add(name);
        known.add(name);
        continue;
      }
      this.suspectNetworks.delete(name);
      const network = await getNetwork(this.ctx, name).catch(() => undefined);
      if (network) this.ctx.bus.publish({ event: { $case: 'network', value: { network, removed: false } } });
    }
    for (const name of this.suspectNetworks) if (!all.includes(name)) this.suspectNetworks.delete(name);
    // A suspect still counts as active, so that the next poll sees the change again.
    this.networksActive = known;
  }

  stop(): void {
    clearInterval(this.timer);
    this.ctx.bus.off('event', this.onPublished);
  }
}

const pollers = new WeakMap<WatchBus, ResourceHealthPoller>();

/** Polls pool and network health onto `ctx.bus` while the caller needs it; returns the release. */
export function watchResourceHealth(ctx: Pick<AgentContext, 'virsh' | 'bus' | 'pools' | 'config'>): () => void {
  let p = pollers.get(ctx.bus);
  if (!p) {
    p = new ResourceHealthPoller(ctx);
    pollers.set(ctx.bus, p);
  }
  const poller = p;
  poller.users += 1;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    poller.users -= 1;
    if (poller.users === 0) {
      pollers.delete(ctx.bus);
      poller.stop();
    }
  };
}
