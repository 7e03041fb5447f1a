// First start: the local host gets a loop pool "local" (like Proxmox's "local") when it has no
// pool at all, sized from the free space of the data filesystem the local agent keeps its pools
// on. Decided once per server data dir (a marker file): a pool the admin deletes is not remade.
import { statfs, writeFile, access } from 'node:fs/promises';
import { join } from 'node:path';
import type { HostDto } from '../dto/hosts.js';
import type { AgentPool } from '../agents/agent-pool.js';
import type { EventHub } from './event-hub.js';
import type { StorageService } from './storage-service.js';
import { log } from '../log.js';

export const DEFAULT_POOL_NAME = 'local';
const GIB = 1024 ** 3;
/** Share of the free space the pool takes: the rest stays for the server's and agent's own data. */
export const DEFAULT_POOL_SHARE = 0.8;
const MARKER = 'default-pool.done';

/**
 * The rule: 80% of the space free on the data filesystem, rounded down to whole GiB, so at least a
 * fifth stays for the configuration, history logs, metrics and upload staging; none below 1 GiB.
 */
export function defaultPoolSize(freeBytes: number): number {
  const bytes = Math.floor((freeBytes * DEFAULT_POOL_SHARE) / GIB) * GIB;
  return bytes >= GIB ? bytes : 0;
}

/** `auto`: the rule over the local agent's data filesystem; a number: that many bytes (tests). */
export type DefaultPoolSetting = 'off' | 'auto' | number;

export interface DefaultPoolOptions {
  setting: DefaultPoolSetting;
  serverDataDir: string;
  /** The local agent's data dir: its pools directory lives on this filesystem. */
  agentDataDir: string;
}

export class DefaultPool {
  private running = false;
  private done = false;
  private listener: ((name: string, data: unknown) => void) | undefined;

  constructor(
    private readonly opts: DefaultPoolOptions,
    private readonly hub: EventHub,
    private readonly agents: AgentPool,
    private readonly storage: StorageService,
  ) {}

  /** Waits for the local host to come online, then makes the pool once if it has none. */
  async start(): Promise<void> {
    if (this.opts.setting === 'off') return;
    if (await exists(join(this.opts.serverDataDir, MARKER))) return;
    const listener = (this.listener = (name: string, data: unknown) => {
      const h = data as HostDto;
      if (name !== 'host' || this.done || this.running || !h.local || h.status !== 'online') return;
      this.running = true;
      void this.ensure(h.id).finally(() => (this.running = false));
    });
    this.hub.on('event', listener);
    const local = this.agents.all().find((c) => this.agents.isOwnAppliance(c.record) && c.online);
    if (local) listener('host', { id: local.record.id, local: true, status: 'online' });
  }

  private async ensure(hostId: string): Promise<void> {
    try {
      const c = this.agents.get(hostId);
      await c.syncPools();
      if (c.pools.size === 0) {
        const sizeBytes = await this.size();
        if (!sizeBytes) {
          log.warn('no default pool: less than 1 GiB would fit on the data filesystem', {
            dir: this.opts.agentDataDir,
          });
        } else {
          await this.storage.createPool(hostId, { name: DEFAULT_POOL_NAME, kind: 'loop', sizeBytes }, 'system');
          log.info('first start: creating the default pool', { pool: DEFAULT_POOL_NAME, sizeBytes });
        }
      }
      this.done = true;
      if (this.listener) this.hub.off('event', this.listener);
      await writeFile(join(this.opts.serverDataDir, MARKER), `${new Date().toISOString()}\n`);
    } catch (err) {
      // Tried again the next time the local host comes online.
      log.warn('default pool not created', { error: (err as Error).message });
    }
  }

  private async size(): Promise<number> {
    if (typeof this.opts.setting === 'number') return this.opts.setting;
    const s = await statfs(this.opts.agentDataDir);
    return defaultPoolSize(s.bavail * s.bsize);
  }
}

function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
