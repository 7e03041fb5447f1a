// Where a decoder (vmdk-stream.ts) puts a disk's decoded bytes: positional writes of data (holes are
// never written), then `finish` once the disk is complete or `abort` on failure. This file holds the
// plain one: a sparse raw file; qcow2-target.ts writes into a qcow2 through qemu-nbd.
import { constants } from 'node:fs';
import { open, unlink } from 'node:fs/promises';
import { PositionalWriter } from '../storage/positional-writer.js';

/** Positional writes into a disk image of a known capacity. */
export interface RawTarget {
  write(data: Buffer, at: number): Promise<void>;
  /** Waits for every write; the image is complete and closed afterwards. */
  finish(): Promise<void>;
  /** Stops and removes what was written (any state, also after a failed write). */
  abort(): Promise<void>;
}

/** Creates the target for a disk of `capacityBytes`. */
export type OpenRawTarget = (capacityBytes: number) => Promise<RawTarget>;

/** Writes in flight before a decoder waits for the disk. */
const MAX_IN_FLIGHT = 8 * 1024 * 1024;

/** A sparse raw file at `path` (created 0600, never replacing a file), exactly the capacity long. */
export function rawFileTarget(path: string): OpenRawTarget {
  return async (capacityBytes) => {
    const fh = await open(
      path,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      0o600,
    );
    const writer = new PositionalWriter(fh, MAX_IN_FLIGHT);
    return {
      write: (data, at) => writer.write(data, at),
      finish: async () => {
        try {
          await writer.drain();
          await fh.truncate(capacityBytes);
          await fh.sync();
        } finally {
          await fh.close();
        }
      },
      abort: async () => {
        await writer.settle();
        await fh.close().catch(() => undefined);
        await unlink(path).catch(() => undefined);
      },
    };
  };
}
