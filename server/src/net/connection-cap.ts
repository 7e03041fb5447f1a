// A cap on open connections per source address (an IPv6 client counts per /64): the connection
// over the cap is destroyed as it is accepted, before TLS or HTTP spend anything on it. Also keeps
// every accepted socket so a stopping server can drop half-done TLS handshakes too.
import type { Server, Socket } from 'node:net';

export class ConnectionCap {
  private readonly open = new Map<string, number>();
  private readonly sockets = new Set<Socket>();

  /** `onRefused` is called once per connection closed for being over the cap. */
  constructor(
    private readonly max: number,
    private readonly onRefused: (address: string) => void = () => undefined,
  ) {}

  /** Runs ahead of `server`'s own connection handling (the TLS wrapper, the HTTP parser). */
  attach(server: Server): void {
    server.prependListener('connection', (socket: Socket) => this.admit(socket));
  }

  /** Open connections from `address` (for tests). */
  count(address: string): number {
    return this.open.get(sourceKey(address)) ?? 0;
  }

  /** Destroys every connection still open (server shutdown). */
  destroyAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  private admit(socket: Socket): void {
    const key = sourceKey(socket.remoteAddress ?? '');
    const n = this.open.get(key) ?? 0;
    if (n >= this.max) {
      socket.destroy();
      this.onRefused(key);
      return;
    }
    this.open.set(key, n + 1);
    this.sockets.add(socket);
    socket.once('close', () => {
      this.sockets.delete(socket);
      const left = (this.open.get(key) ?? 1) - 1;
      if (left > 0) this.open.set(key, left);
      else this.open.delete(key);
    });
  }
}

/** IPv4 (also IPv4-mapped IPv6) as is; IPv6 as its /64 prefix, since one client holds a whole /64. */
export function sourceKey(raw: string): string {
  const address = raw.replace(/%.*$/, ''); // a link-local zone (fe80::1%eth0)
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (!address.includes(':')) return address;
  const [head = '', tail = ''] = address.toLowerCase().split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
