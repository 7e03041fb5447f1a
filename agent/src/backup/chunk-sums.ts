// SHA-256 of every 4 MiB chunk of a stored backup file: written into the manifest when the
// backup completes and re-read by verify, which names the disk and offset of a chunk that differs.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export const CHUNK_BYTES = 4 * 1024 * 1024;

/** The hex SHA-256 of each CHUNK_BYTES piece of `path` (the last one may be shorter). */
export async function chunkSums(path: string, signal?: AbortSignal): Promise<{ sums: string[]; bytes: number }> {
  const sums: string[] = [];
  let hash = createHash('sha256');
  let inChunk = 0;
  let bytes = 0;
  const stream = createReadStream(path, { highWaterMark: 1024 * 1024, ...(signal ? { signal } : {}) });
  for await (const piece of stream as AsyncIterable<Buffer>) {
    let at = 0;
    while (at < piece.length) {
      const take = Math.min(CHUNK_BYTES - inChunk, piece.length - at);
      hash.update(piece.subarray(at, at + take));
      at += take;
      inChunk += take;
      if (inChunk === CHUNK_BYTES) {
        sums.push(hash.digest('hex'));
        hash = createHash('sha256');
        inChunk = 0;
      }
    }
    bytes += piece.length;
  }
  if (inChunk > 0 || bytes === 0) sums.push(hash.digest('hex'));
  return { sums, bytes };
}

/** Offsets of the chunks whose sums differ from `expected` (a missing or extra chunk counts too). */
export function differingChunks(expected: readonly string[], actual: readonly string[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < Math.max(expected.length, actual.length); i++) {
    if (expected[i] !== actual[i]) out.push(i * CHUNK_BYTES);
  }
  return out;
}
