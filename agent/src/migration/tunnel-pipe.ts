// One tunnelled connection: a local socket and a gRPC Tunnel call carry each other's bytes, with
// backpressure both ways (a full socket pauses the call, a full call pauses the socket). Either
// side ending or failing closes the other: QEMU and libvirt then see the connection drop.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TunnelChunk } from '@quantix/proto/v1/migration.js';

/** The Tunnel call as either end sees it (client or server duplex stream). */
export type TunnelCall = Duplex & { cancel?: () => void };

export function pipeTunnel(sock: Socket, call: TunnelCall, onClose: () => void = () => undefined): void {
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    sock.destroy();
    if (!call.writableEnded) call.end();
    call.cancel?.();
    onClose();
  };
  sock.on('data', (b: Buffer) => {
    if (!call.write({ msg: { $case: 'data', value: b } } satisfies TunnelChunk)) sock.pause();
  });
  call.on('drain', () => sock.resume());
  call.on('data', (c: TunnelChunk) => {
    if (c.msg?.$case !== 'data' || c.msg.value.length === 0) return;
    if (!sock.write(c.msg.value)) call.pause();
  });
  sock.on('drain', () => call.resume());
  sock.on('end', close);
  sock.on('close', close);
  sock.on('error', close);
  call.on('end', close);
  call.on('close', close);
  call.on('error', close);
}
