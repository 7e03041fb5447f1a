// Pools and networks that change behind the agent's back (`virsh pool-destroy`, a loop device or
// mount that vanished, `virsh net-destroy`): a poll every few seconds while somebody watches
// compares each one's state with the last poll and publishes the changed ones on the WatchBus.
import type { Pool } from '@quantix/proto/v1/storage.js';
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
  private readonly pools = new Map<string, string>();
  private networksActive: Set<string> | undefined;
  private readonly timer: NodeJS.Timeout;
  private polling = false;

  constructor(private readonly ctx: Pick<AgentContext, 'virsh' | 'bus' | 'pools' | 'config'>) {
    this.timer = setInterval(() => void this.poll(), HEALTH_POLL_MS);
    this.timer.unref();
    void this.poll();
  }

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
      this.pools.set(p.name, key);
      // The first poll is the baseline; creations and deletions are published where they happen.
      if (before !== undefined && before !== key)
        this.ctx.bus.publish({ event: { $case: 'pool', value: { pool: p, removed: false } } });
    }
    for (const name of this.pools.keys()) if (!seen.has(name)) this.pools.delete(name);
  }

  private async pollNetworks(): Promise<void> {
    const { all, active } = await networkNames(this.ctx.virsh);
    const before = this.networksActive;
    this.networksActive = active;
    if (!before) return;
    for (const name of all) {
      if (before.has(name) === active.has(name)) continue;
      const network = await getNetwork(this.ctx, name).catch(() => undefined);
      if (network) this.ctx.bus.publish({ event: { $case: 'network', value: { network, removed: false } } });
    }
  }

  stop(): void {
    clearInterval(this.timer);
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
