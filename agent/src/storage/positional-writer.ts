// Positional writes with several in flight (uploads, decoded OVA disks): the network or decoder
// keeps going while the disk writes, and memory stays bounded by the bytes allowed in flight.
import type { FileHandle } from 'node:fs/promises';

/**
 * Writes at explicit offsets with several writes in flight (up to `maxInFlight` bytes, 4 MiB by default), so the
 * network keeps receiving while the disk writes; memory stays bounded by the same limit.
 */
export class PositionalWriter {
  private readonly pending = new Set<Promise<void>>();
  private inFlight = 0;
  private failure: unknown;

  constructor(
    private readonly fh: FileHandle,
    private readonly maxInFlight = 4 * 1024 * 1024,
  ) {}

  async write(data: Buffer, position: number): Promise<void> {
    this.check();
    const length = data.length;
    this.inFlight += length;
    const p: Promise<void> = this.fh.write(data, 0, length, position).then(
      ({ bytesWritten }) => {
        if (bytesWritten !== length)
          this.failure ??= new Error(`short write at ${position}: ${bytesWritten} of ${length} bytes`);
      },
      (err: unknown) => {
        this.failure ??= err;
      },
    );
    this.pending.add(p);
    void p.finally(() => {
      this.pending.delete(p);
      this.inFlight -= length;
    });
    while (this.inFlight > this.maxInFlight && this.pending.size) await Promise.race(this.pending);
    this.check();
  }

  /** Waits for every write; throws the first write error. */
  async drain(): Promise<void> {
    await this.settle();
    this.check();
  }

  /** Waits for every write, ignoring errors (before closing the file on any path). */
  async settle(): Promise<void> {
    while (this.pending.size) await Promise.allSettled([...this.pending]);
  }

  private check(): void {
    if (this.failure !== undefined) throw this.failure;
  }
}
