// Client side of volume transfers for tests and the benchmark: upload a file or any byte
// source through StorageService/UploadVolume (with write backpressure), download to a hash.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import type { ServiceError } from '@grpc/grpc-js';
import type { StorageServiceClient, UploadVolumeHeader, Volume } from '@quantix/proto/v1/storage.js';

export const UPLOAD_CHUNK = 256 * 1024;

/** Streams `chunks` after `header`; resolves with the agent's answer. */
export async function uploadChunks(
  client: StorageServiceClient,
  header: UploadVolumeHeader,
  chunks: AsyncIterable<Buffer> | Iterable<Buffer>,
): Promise<Volume> {
  let settle!: { resolve: (v: Volume) => void; reject: (e: ServiceError) => void };
  const answer = new Promise<Volume>((resolve, reject) => (settle = { resolve, reject }));
  const call = client.uploadVolume((err, res) => (err ? settle.reject(err) : settle.resolve(res)));
  call.on('error', () => undefined);
  call.write({ msg: { $case: 'header', value: header } });
  let finished = false;
  void answer.finally(() => (finished = true)).catch(() => undefined);
  for await (const chunk of chunks) {
    if (finished) break;
    if (!call.write({ msg: { $case: 'data', value: chunk } })) {
      await Promise.race([once(call, 'drain'), answer.catch(() => undefined)]);
    }
  }
  call.end();
  return answer;
}

export function uploadFile(
  client: StorageServiceClient,
  header: UploadVolumeHeader,
  path: string,
  chunkBytes = UPLOAD_CHUNK,
): Promise<Volume> {
  return uploadChunks(client, header, createReadStream(path, { highWaterMark: chunkBytes }));
}

/** Downloads `pool/name`; resolves with the byte count and the sha256 of the content. */
export function downloadDigest(
  client: StorageServiceClient,
  pool: string,
  name: string,
): Promise<{ bytes: number; sha256: string }> {
  return new Promise((resolve, reject) => {
    const hash = createHash('sha256');
    let bytes = 0;
    const call = client.downloadVolume({ pool, name });
    call.on('data', (chunk: { data: Buffer }) => {
      bytes += chunk.data.length;
      hash.update(chunk.data);
    });
    call.on('error', reject);
    call.on('end', () => resolve({ bytes, sha256: hash.digest('hex') }));
  });
}
