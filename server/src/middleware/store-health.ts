// While the configuration store cannot commit (etcd without quorum): every API reply carries
// `X-Quantix-Stale: <reason>` (reads are served from this server's last known state) and changes
// are refused up front with a 503 naming the cause, before a handler changes anything in memory.
import type { Context, Next } from 'koa';
import { unavailable } from '../errors.js';
import type { ConfigStore } from '../store/config-store.js';

export const STALE_HEADER = 'X-Quantix-Stale';
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function storeHealth(store: ConfigStore) {
  return async (ctx: Context, next: Next): Promise<void> => {
    const reason = store.unavailable;
    if (reason && ctx.path.startsWith('/api/')) {
      ctx.set(STALE_HEADER, reason.replace(/[^\x20-\x7e]/g, ' ').slice(0, 300));
      if (!READS.has(ctx.method))
        throw Object.assign(unavailable(`the configuration cannot be changed now: ${reason}`), { retryAfter: 5 });
    }
    await next();
  };
}
