// The etcd3 client of a server configured with QX_STORE=etcd: endpoints, client TLS from files,
// and a deadline on every call that is not a stream (a call to a cluster without quorum fails
// after it instead of hanging a request).
import { readFileSync } from 'node:fs';
import { Etcd3, type IOptions } from 'etcd3';
import type { StoreConfig } from '../config.js';

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

/** A unary call to etcd fails after this long (a write without quorum, an unreachable member). */
export const ETCD_CALL_MS = 3000;

interface ConstantBackoff {
  duration: number;
  next(): ConstantBackoff;
}
const WATCH_BACKOFF: ConstantBackoff = { duration: 500, next: () => WATCH_BACKOFF };

/**
 * No circuit breaker per member: for a short-lived client making membership changes, where etcd
 * answers UNAVAILABLE ('unhealthy cluster') for a while after a promotion and the caller retries.
 */
const NO_BREAKER = {
  execute: <T>(fn: (context: { signal: AbortSignal }) => PromiseLike<T> | T) =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal })),
} as unknown as HostPolicy;

export function createEtcdClient(
  config: Extract<StoreConfig, { kind: 'etcd' }>,
  opts: { breaker?: boolean } = {},
): Etcd3 {
  const read = (path: string | undefined, what: string) => {
    if (!path) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`${what} ${path}: ${(err as Error).message}`, { cause: err });
    }
  };
  const ca = read(config.caFile, 'QX_ETCD_CA');
  return new Etcd3({
    hosts: config.endpoints,
    credentials: ca
      ? {
          rootCertificate: ca,
          certChain: read(config.certFile, 'QX_ETCD_CERT'),
          privateKey: read(config.keyFile, 'QX_ETCD_KEY'),
        }
      : undefined,
    dialTimeout: ETCD_CALL_MS,
    // Watches reconnect every 500 ms while etcd is away (the default backs off to 30 s, during
    // which another server's changes would not be seen after an outage).
    faultHandling: { watchBackoff: WATCH_BACKOFF, ...(opts.breaker === false ? { host: () => NO_BREAKER } : {}) },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + ETCD_CALL_MS }),
  });
}
