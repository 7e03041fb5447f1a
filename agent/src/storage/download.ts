// Volume download as a stream of chunks read from the file at the pace the receiver takes them
// (write() backpressure), so memory stays flat whatever the volume size.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import type { PoolManager } from './pool-manager.js';
import type { Volumes } from './volumes.js';

const CHUNK = 1024 * 1024;

export interface ChunkSink {
  /** False when the sink wants the writer to wait for `waitDrain()`. */
  write(data: Buffer): boolean;
  waitDrain(): Promise<void>;
  cancelled(): boolean;
}

/** Streams the volume `pool/name` into `sink`; resolves when all bytes were handed over. */
export async function sendDownload(
  pools: PoolManager,
  volumes: Volumes,
  poolName: string,
  name: string,
  sink: ChunkSink,
): Promise<void> {
  const pool = await pools.activeRecord(poolName);
  const path = await volumes.resolve(pool, name);
  const release = pools.beginTransfer(pool, `a download of volume ${name} from it`);
  try {
    const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      for (;;) {
        if (sink.cancelled()) return;
        const buf = Buffer.allocUnsafe(CHUNK);
        const { bytesRead } = await fh.read(buf, 0, CHUNK, null);
        if (bytesRead === 0) return;
        if (!sink.write(buf.subarray(0, bytesRead))) await sink.waitDrain();
      }
    } finally {
      await fh.close();
    }
  } finally {
    release();
  }
}
