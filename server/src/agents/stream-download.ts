// A gRPC DataChunk stream (volume download, OVA export) as a plain byte stream for a response
// body, with backpressure; an agent error destroys it (mapped through the agent client).
import { PassThrough, type Readable } from 'node:stream';

/** gRPC DataChunk stream → byte stream (errors end the response). */
export function byteStream(src: Readable, mapError: (e: unknown) => Error): PassThrough {
  const out = new PassThrough();
  src.on('data', (c: { data: Buffer }) => {
    if (!out.write(c.data)) {
      src.pause();
      out.once('drain', () => src.resume());
    }
  });
  src.on('end', () => out.end());
  src.on('error', (e) => out.destroy(mapError(e)));
  out.on('close', () => src.destroy());
  return out;
}
