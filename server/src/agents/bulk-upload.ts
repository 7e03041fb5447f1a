// The local agent's fast path for upload bytes (#26): the body goes as it is to the agent's private
// bulk socket (no gRPC framing, no TLS), after the 32-byte ticket that the UploadVolumeLocal call
// carries; the call itself (over the local gRPC socket) returns the volume or the agent's refusal.
import { connect, type Socket } from 'node:net';
import type { Readable } from 'node:stream';
import { noteBulkBytes } from '@quantix/proto/bulk/transfer-gc.js';
import { checkPrivateSocket } from '@quantix/proto/fs/private-socket.js';

/** How often (in bytes) the running total is reported. */
const REPORT_BYTES = 8 * 1024 * 1024;

export interface BulkPipe {
  socket: Socket;
  /** Resolves once the body was sent whole; otherwise with which side broke off first. */
  done: Promise<{ broke?: 'body' | 'agent'; error?: Error }>;
}

/** Connects to `path` (checked private first), sends `ticket`, then pipes `body`; `onBytes` hears the total. */
export async function pipeToBulkSocket(
  path: string,
  ticket: Buffer,
  body: Readable,
  onBytes: (total: number) => void,
): Promise<BulkPipe> {
  await checkPrivateSocket(path);
  const socket = connect(path);
  let total = 0;
  let reported = 0;
  let corked = false;
  body.on('data', (c: Buffer) => {
    // TLS hands over one 16 KiB record per 'data', several in one go: corked until the tick ends,
    // they leave in one writev instead of a write(2) each (registered before pipe() writes them).
    if (!corked) {
      corked = true;
      socket.cork();
      process.nextTick(() => {
        corked = false;
        socket.uncork();
      });
    }
    total += c.length;
    noteBulkBytes(c.length);
    if (total - reported >= REPORT_BYTES) {
      reported = total;
      onBytes(total);
    }
  });
  // Not pipeline(): which side broke off decides the answer (the client's 400, or the agent's reason).
  const done = new Promise<{ broke?: 'body' | 'agent'; error?: Error }>((resolve) => {
    let settled = false;
    const finish = (r: { broke?: 'body' | 'agent'; error?: Error }) => {
      if (settled) return;
      settled = true;
      resolve(r);
    };
    const bodyBroke = (error: Error) => {
      socket.destroy();
      finish({ broke: 'body', error });
    };
    body.once('error', bodyBroke);
    body.once('aborted', () => bodyBroke(new Error('the client went away')));
    body.once('close', () => {
      if (!body.readableEnded) bodyBroke(new Error('the body ended early'));
    });
    socket.once('error', (error) => {
      body.unpipe(socket);
      finish({ broke: 'agent', error });
    });
    socket.once('close', () => finish({ broke: 'agent', error: new Error('the host closed the upload') }));
    socket.once('finish', () => {
      onBytes(total);
      finish({});
    });
  });
  socket.write(ticket);
  body.pipe(socket);
  return { socket, done };
}
