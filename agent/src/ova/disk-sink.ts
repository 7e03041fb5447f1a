// Where one OVA disk's bytes go while the OVA streams past: a streamOptimized VMDK (when the OVF
// declares VMDK) is decoded at once (vmdk-stream.ts) into a sparse raw file or straight into a qcow2
// (qcow2-target.ts), so the VMDK is never stored and nothing is converted afterwards; anything else is
// written as it comes, for qemu-img (which needs random access) to convert afterwards.
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { streamVmdkHeader, VmdkStreamDecoder, type StreamVmdkHeader } from './vmdk-stream.js';
import { rawFileTarget } from './raw-target.js';
import { qcow2Target } from './qcow2-target.js';

/** What a decoded streamOptimized VMDK becomes. */
export type DecodeFormat = 'raw' | 'qcow2';

/** Bytes looked at before choosing (the VMDK header is the first 512). */
const SNIFF = 512;

export class DiskSink extends Writable {
  /** Set once the disk is being decoded: the stored file is then `decodeTo` of this capacity. */
  decoded: StreamVmdkHeader | undefined;
  private inner: Writable | undefined;
  private head: Buffer[] = [];
  private headLength = 0;

  constructor(
    private readonly path: string,
    private readonly label: string,
    private readonly decodeTo: DecodeFormat | undefined,
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

  /** Closes only once the inner stream has: its file and any qemu-nbd are gone by then. */
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const inner = this.inner;
    if (!inner || inner.closed) return cb(err);
    inner.once('close', () => cb(err));
    inner.destroy();
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
    const header = this.decodeTo ? streamVmdkHeader(head) : undefined;
    this.decoded = header;
    const target = this.decodeTo === 'qcow2' ? qcow2Target(this.path) : rawFileTarget(this.path);
    this.inner = header
      ? new VmdkStreamDecoder(target, header, this.label)
      : createWriteStream(this.path, { flags: 'wx', mode: 0o600, highWaterMark: 1024 * 1024 });
    this.inner.on('error', (err) => this.destroy(err));
    if (head.length) await this.push_(head);
  }

  private async push_(chunk: Buffer): Promise<void> {
    const inner = this.inner!;
    if (!inner.write(chunk)) await once(inner, 'drain'); // rejects on the inner stream's 'error'
  }
}
