// Where one OVA disk's bytes go while the OVA streams past: a streamOptimized VMDK (when the OVF
// declares VMDK) is decoded at once into a sparse raw file (vmdk-stream.ts), so the VMDK is never
// stored and its decompression overlaps the upload; anything else is written as it comes, for
// qemu-img (which needs random access) to convert afterwards.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { streamVmdkHeader, VmdkStreamDecoder, type StreamVmdkHeader } from './vmdk-stream.js';

/** Bytes looked at before choosing (the VMDK header is the first 512). */
const SNIFF = 512;

export class DiskSink extends Writable {
  /** Set once the disk is being decoded: the stored file is then raw of this capacity. */
  decoded: StreamVmdkHeader | undefined;
  private inner: Writable | undefined;
  private head: Buffer[] = [];
  private headLength = 0;

  constructor(
    private readonly path: string,
    private readonly label: string,
    private readonly decodeVmdk: boolean,
  ) {
    super({ highWaterMark: 1024 * 1024 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.forward(chunk).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    (async () => {
      if (!this.inner) await this.choose();
      const inner = this.inner!;
      inner.end();
      await finished(inner);
    })().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.inner?.destroy();
    cb(err);
  }

  private async forward(chunk: Buffer): Promise<void> {
    if (!this.inner) {
      this.head.push(chunk);
      this.headLength += chunk.length;
      if (this.headLength < SNIFF) return;
      await this.choose();
      return;
    }
    await this.push_(chunk);
  }

  private async choose(): Promise<void> {
    const head = Buffer.concat(this.head);
    this.head = [];
    const header = this.decodeVmdk ? streamVmdkHeader(head) : undefined;
    this.decoded = header;
    this.inner = header
      ? new VmdkStreamDecoder(this.path, header, this.label)
      : createWriteStream(this.path, { flags: 'wx', mode: 0o600, highWaterMark: 1024 * 1024 });
    this.inner.on('error', (err) => this.destroy(err));
    if (head.length) await this.push_(head);
  }

  private async push_(chunk: Buffer): Promise<void> {
    const inner = this.inner!;
    if (!inner.write(chunk)) await once(inner, 'drain'); // rejects on the inner stream's 'error'
  }
}
