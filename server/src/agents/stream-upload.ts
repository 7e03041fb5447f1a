// Streams an incoming byte stream (an HTTP request body) into a gRPC client stream: a header
// message, then `data` messages, honouring backpressure on both sides so nothing is buffered.
import type { Readable } from 'node:stream';
import type { ClientWritableStream } from '@grpc/grpc-js';
import { HttpError } from '../errors.js';

/** Incoming HTTP chunks (~16–64 KiB) are coalesced into messages of this size: fewer, larger
 * gRPC messages cost far less per byte. Memory stays bounded by one message plus backpressure. */
const MESSAGE_BYTES = 256 * 1024;

/** A request of the agent's upload streams (UploadVolume, ImportOva): a header, then data. */
export interface Framed<H> {
  msg: { $case: 'header'; value: H } | { $case: 'data'; value: Buffer } | undefined;
}

/**
 * Writes `header`, then `body` as data messages, then ends the call; resolves with the byte
 * count. If the body breaks off (client gone, connection cut, idle timeout), the call is
 * cancelled (the agent drops what it received) and the promise rejects with a 400 saying so.
 */
export async function sendBody<H>(
  call: ClientWritableStream<Framed<H>>,
  header: H,
  body: Readable,
  onBytes: (total: number) => void,
): Promise<number> {
  call.write({ msg: { $case: 'header', value: header } });
  try {
    return await pumpBytes(body, call, (data) => ({ msg: { $case: 'data' as const, value: data } }), onBytes);
  } catch (err) {
    call.cancel();
    throw new HttpError(400, `the upload was interrupted: ${err instanceof Error ? err.message : String(err)}`);
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
