// Streams an incoming byte stream (an HTTP request body) into a gRPC client stream: a header
// message, then `data` messages, honouring backpressure on both sides so nothing is buffered.
import type { Readable } from 'node:stream';
import type { ClientWritableStream } from '@grpc/grpc-js';

/** Incoming HTTP chunks (~16–64 KiB) are coalesced into messages of this size: fewer, larger
 * gRPC messages cost far less per byte. Memory stays bounded by one message plus backpressure. */
const MESSAGE_BYTES = 256 * 1024;

/**
 * Writes `header`, then `body` as data messages, then ends the call; resolves with the byte
 * count. If the body fails, the call is cancelled (the agent drops what it received) and the
 * promise rejects with the body's error.
 */
export async function sendBody<T>(
  call: ClientWritableStream<T>,
  header: T,
  body: Readable,
  wrap: (data: Buffer) => T,
  onBytes: (total: number) => void,
): Promise<number> {
  call.write(header);
  try {
    return await pumpBytes(body, call, wrap, onBytes);
  } catch (err) {
    call.cancel();
    throw err;
  }
}

async function pumpBytes<T>(
  source: Readable,
  call: ClientWritableStream<T>,
  wrap: (data: Buffer) => T,
  onBytes: (total: number) => void,
): Promise<number> {
  let total = 0;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  const flush = async () => {
    if (!pendingBytes) return;
    const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    if (!call.write(wrap(data))) await drained(call);
  };
  for await (const chunk of source) {
    const buf = chunk as Buffer;
    pending.push(buf);
    pendingBytes += buf.length;
    total += buf.length;
    if (pendingBytes >= MESSAGE_BYTES) {
      await flush();
      onBytes(total);
    }
  }
  await flush();
  onBytes(total);
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
