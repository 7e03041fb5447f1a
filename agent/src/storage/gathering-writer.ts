// A file written from a socket in few, large writes (#26): the local bulk socket delivers the upload
// in chunks of 16–64 KiB, and each file write is a hand-off to libuv's thread pool (a write and two
// futex calls, ~65,000 per GiB as strace counted). The chunks are gathered and written with one
// writev per `batchBytes`, without copying them; at most that much waits in memory.
// 1 MiB, not more: the kernel's copy into the page cache reads the chunks again, and a batch that
// still sits in the CPU caches costs less to copy. Upload bench (curl → server → agent, 1 GiB,
// 4 rounds, twice each): agent 1.45–1.63 CPU s/GiB and 314–395 MB/s with 1 MiB batches,
// 2.35–2.38 s and 293–298 MB/s with 4 MiB (perf: 16% of all samples in copy_folio_from_iter_atomic).
import { writev } from 'node:fs';
import { Writable } from 'node:stream';

const MiB = 2 ** 20;
/** Buffers per writev at most (libuv splits beyond IOV_MAX, but a flood of tiny chunks stays bounded). */
const MAX_BUFFERS = 1024;

export interface GatheringWriterOptions {
  /** Written once this much has gathered (default 1 MiB). */
  batchBytes?: number;
  /** More than this many bytes in all fails the stream with `tooMuch()`. */
  maxBytes: number;
  tooMuch: () => Error;
  /** Called after each write lands (e.g. to flush behind it). */
  onWritten?: () => void;
}

export class GatheringFileWriter extends Writable {
  /** Bytes taken so far (written once the stream has finished). */
  received = 0;
  private batch: Buffer[] = [];
  private batched = 0;
  private position = 0;
  private readonly batchBytes: number;

  /** `fd` is written from offset 0 and left open (the caller syncs and closes it). */
  constructor(
    private readonly fd: number,
    private readonly o: GatheringWriterOptions,
  ) {
    const batchBytes = o.batchBytes ?? MiB;
    super({ highWaterMark: batchBytes });
    this.batchBytes = batchBytes;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.received += chunk.length;
    if (this.received > this.o.maxBytes) return cb(this.o.tooMuch());
    this.batch.push(chunk);
    this.batched += chunk.length;
    if (this.batched < this.batchBytes && this.batch.length < MAX_BUFFERS) return cb();
    this.flush().then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.flush().then(() => cb(), cb);
  }

  /** Writes what has gathered at the current position (libuv retries partial writes itself). */
  private flush(): Promise<void> {
    const buffers = this.batch;
    const length = this.batched;
    this.batch = [];
    this.batched = 0;
    if (!length) return Promise.resolve();
    const at = this.position;
    this.position += length;
    return new Promise((resolve, reject) =>
      writev(this.fd, buffers, at, (err, written) => {
        if (err) reject(err);
        else if (written !== length) reject(new Error(`short write at ${at}: ${written} of ${length} bytes`));
        else {
          this.o.onWritten?.();
          resolve();
        }
      }),
    );
  }
}
