// Streams an incoming byte stream (an HTTP request body) into a gRPC client stream as
// `data` messages, honouring backpressure on both sides so nothing is buffered in memory.
import type { Readable } from 'node:stream';
import type { ClientWritableStream } from '@grpc/grpc-js';

const MAX_CHUNK = 1024 * 1024;

export async function pumpBytes<T>(
  source: Readable,
  call: ClientWritableStream<T>,
  wrap: (data: Buffer) => T,
  onBytes: (total: number) => void,
): Promise<number> {
  let total = 0;
  for await (const chunk of source) {
    const buf = chunk as Buffer;
    for (let off = 0; off < buf.length; off += MAX_CHUNK) {
      const part = buf.subarray(off, off + MAX_CHUNK);
      total += part.length;
      if (!call.write(wrap(part))) await drained(call);
    }
    onBytes(total);
  }
  call.end();
  return total;
}

/** Resolves on 'drain', rejects on 'error'; removes both listeners either way. */
function drained(call: NodeJS.EventEmitter): Promise<void> {
  return new Promise((resolve, reject) => {
    const onDrain = () => {
      call.off('error', onError);
      resolve();
    };
    const onError = (err: unknown) => {
      call.off('drain', onDrain);
      reject(err instanceof Error ? err : new Error(String(err)));
    };
    call.once('drain', onDrain);
    call.once('error', onError);
  });
}
