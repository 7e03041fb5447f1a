// Decodes a streamOptimized VMDK as it arrives, front to back, into a disk image (raw-target.ts: a sparse
// raw file, or a qcow2 through qemu-nbd): each grain
// marker carries its LBA, so the footer's grain directory is never needed and the VMDK itself is
// never stored. Only this file's own grains are read (no descriptor extents are followed); memory
// is one grain at a time whatever the header claims. Layout: VMware "Virtual Disk Format 5.0",
// "Stream-Optimized Compressed Sparse Extents" (markers, zlib grains, sector padding).
import { Writable } from 'node:stream';
import { inflateSync } from 'node:zlib';
import { AgentError, ErrorCode } from '../errors.js';
import { MAX_IMAGE_BYTES } from './disk-inspect.js';
import type { OpenRawTarget, RawTarget } from './raw-target.js';

const SECTOR = 512;
const MAGIC = 0x564d444b; // "KDMV" read little-endian
const FLAG_COMPRESSED = 1 << 16;
const FLAG_MARKERS = 1 << 17;
const COMPRESSION_DEFLATE = 1;
/** Grains between 4 KiB and 1 MiB (VMware writes 64 KiB; qemu refuses more than 2 MiB). */
const MIN_GRAIN_SECTORS = 8n;
const MAX_GRAIN_SECTORS = 2048n;
/** Largest header offset of the first grain (descriptor and padding before it): 64 MiB. */
const MAX_OVERHEAD_SECTORS = 131_072n;
const MARKER_EOS = 0;

/** What the header of a streamOptimized VMDK says, or undefined for any other VMDK kind. */
export interface StreamVmdkHeader {
  capacityBytes: number;
  grainBytes: number;
  /** Byte offset of the first marker. */
  dataOffset: number;
}

/**
 * The header if `head` (the first bytes of a disk) is a streamOptimized VMDK this decoder reads:
 * version 3, compressed grains with markers, deflate. Anything else: undefined (qemu-img's path).
 */
export function streamVmdkHeader(head: Buffer): StreamVmdkHeader | undefined {
  if (head.length < SECTOR || head.readUInt32LE(0) !== MAGIC) return undefined;
  const version = head.readUInt32LE(4);
  const flags = head.readUInt32LE(8);
  const capacity = head.readBigUInt64LE(12);
  const grain = head.readBigUInt64LE(20);
  const overhead = head.readBigUInt64LE(64);
  const compression = head.readUInt16LE(77);
  if (version !== 3 || (flags & FLAG_COMPRESSED) === 0 || (flags & FLAG_MARKERS) === 0) return undefined;
  if (compression !== COMPRESSION_DEFLATE || capacity === 0n) return undefined;
  if (grain < MIN_GRAIN_SECTORS || grain > MAX_GRAIN_SECTORS || (grain & (grain - 1n)) !== 0n) return undefined;
  if (overhead < 1n || overhead > MAX_OVERHEAD_SECTORS) return undefined;
  // Beyond the judge's bound: left to qemu-img's path, which refuses it with the usual message.
  const capacityBytes = capacity * BigInt(SECTOR);
  if (capacityBytes > BigInt(MAX_IMAGE_BYTES)) return undefined;
  return {
    capacityBytes: Number(capacityBytes),
    grainBytes: Number(grain) * SECTOR,
    dataOffset: Number(overhead) * SECTOR,
  };
}

function bad(label: string, why: string): AgentError {
  return new AgentError(
    ErrorCode.InvalidArgument,
    `disk "${label}" is not a valid streamOptimized VMDK: ${why}`,
    'disk',
  );
}

/**
 * A Writable taking the VMDK's bytes that writes the disk into the target `open` creates (with the
 * header's capacity). Zero grains are never written (holes); a failure aborts the target.
 */
export class VmdkStreamDecoder extends Writable {
  /** Bytes of decoded (non-hole) data written. */
  dataBytes = 0;
  private target: RawTarget | undefined;
  private position = 0;
  private skip = 0;
  private carry: Buffer = Buffer.alloc(0);
  private ended = false;
  private readonly maxCompressed: number;

  constructor(
    private readonly open: OpenRawTarget,
    private readonly header: StreamVmdkHeader,
    private readonly label: string,
  ) {
    super({ highWaterMark: 1024 * 1024 });
    // Deflate of incompressible data grows by a few bytes per 16 KiB block, far less than this.
    this.maxCompressed = header.grainBytes + header.grainBytes / 8 + 1024;
    this.skip = header.dataOffset;
  }

  override _construct(cb: (err?: Error | null) => void): void {
    this.open(this.header.capacityBytes).then((target) => {
      this.target = target;
      cb();
    }, cb);
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.consume(chunk).then(() => cb(), cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.finish().then(() => cb(), cb);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    const target = this.target;
    this.target = undefined;
    void Promise.resolve(target?.abort()) // unfinished: stop qemu-nbd, drop the partial image
      .then(
        () => cb(err),
        () => cb(err),
      );
  }

  private async consume(chunk: Buffer): Promise<void> {
    let rest = chunk;
    // An unfinished record is completed from the front of the chunk alone: joining whole chunks
    // to it copied every byte of the disk once more (and made as much garbage).
    while (this.carry.length > 0 && rest.length > 0) {
      const take = Math.min(rest.length, Math.max(1, this.recordBytes(this.carry) - this.carry.length));
      const joined = Buffer.concat([this.carry, rest.subarray(0, take)]);
      this.carry = Buffer.alloc(0);
      rest = rest.subarray(take);
      await this.decode(joined);
    }
    if (rest.length > 0) await this.decode(rest);
  }

  /** Bytes of the record `head` begins (as far as its first bytes tell: 16 until they are there). */
  private recordBytes(head: Buffer): number {
    if (head.length < 16) return 16;
    const size = head.readUInt32LE(8);
    if (size === 0) return SECTOR;
    return size > this.maxCompressed ? 16 : 12 + size; // record() refuses the oversized grain
  }

  /** Decodes what `buf` holds; an unfinished record at its end is kept in `carry`. */
  private async decode(buf: Buffer): Promise<void> {
    let pos = 0;
    while (pos < buf.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, buf.length - pos);
        this.skip -= n;
        pos += n;
        this.position += n;
        continue;
      }
      if (this.ended) {
        pos = buf.length; // bytes after the end-of-stream marker (tar padding, trailing zeros)
        break;
      }
      const used = await this.record(buf, pos);
      if (used === 0) break; // the record is not complete yet
      pos += used;
    }
    // Only the unfinished record is kept (bounded by one grain plus its marker).
    if (pos < buf.length) this.carry = Buffer.from(buf.subarray(pos));
  }

  /** Handles the marker at `pos`; returns the bytes it used, 0 when more are needed. */
  private async record(buf: Buffer, pos: number): Promise<number> {
    if (this.position % SECTOR !== 0) throw bad(this.label, `marker at byte ${this.position} is not sector-aligned`);
    if (buf.length - pos < 16) return 0;
    const lba = buf.readBigUInt64LE(pos);
    const size = buf.readUInt32LE(pos + 8);
    if (size === 0) {
      // Metadata marker: one sector, then `lba` sectors of grain table, directory or footer.
      if (buf.length - pos < SECTOR) return 0;
      const type = buf.readUInt32LE(pos + 12);
      this.position += SECTOR;
      if (type === MARKER_EOS) {
        this.ended = true;
        return SECTOR;
      }
      if (type > 3) throw bad(this.label, `unknown marker type ${type} at byte ${this.position - SECTOR}`);
      if (lba > 1n << 32n) throw bad(this.label, `metadata of ${lba} sectors`);
      this.skip = Number(lba) * SECTOR;
      return SECTOR;
    }
    if (size > this.maxCompressed)
      throw bad(this.label, `a grain of ${size} compressed bytes (grain size ${this.header.grainBytes})`);
    if (buf.length - pos < 12 + size) return 0;
    const offset = lba * BigInt(SECTOR);
    if (offset >= BigInt(this.header.capacityBytes))
      throw bad(this.label, `grain at sector ${lba} lies beyond the capacity of ${this.header.capacityBytes} bytes`);
    let data: Buffer;
    try {
      // One output buffer with room to spare: zlib then ends in one call. With Node's default 16 KiB
      // chunks a 64 KiB grain took five allocations and a join (8192 grains: 360-420 ms, now 160-220).
      data = inflateSync(buf.subarray(pos + 12, pos + 12 + size), {
        maxOutputLength: this.header.grainBytes,
        chunkSize: this.header.grainBytes + SECTOR,
      });
    } catch (err) {
      throw bad(this.label, `grain at sector ${lba}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const at = Number(offset);
    const room = this.header.capacityBytes - at;
    if (data.length > room) data = data.subarray(0, room); // the last grain may run past the end
    await this.write_(data, at);
    const padded = Math.ceil((12 + size) / SECTOR) * SECTOR;
    const here = Math.min(padded, buf.length - pos);
    this.position += here;
    this.skip = padded - here; // padding not arrived yet
    return here;
  }

  /** Writes `data` at `at` unless it is all zeros (a hole already). */
  private async write_(data: Buffer, at: number): Promise<void> {
    if (isZero(data)) return;
    this.dataBytes += data.length;
    await this.target!.write(data, at);
  }

  private async finish(): Promise<void> {
    // qemu-img writes no end-of-stream marker (its tables sit in front): the end of the tar entry
    // is then the end, but never inside a marker, a grain or its padding.
    if (!this.ended && (this.carry.length > 0 || this.skip > 0))
      throw bad(this.label, `the stream ends inside a grain or table at byte ${this.position} (truncated?)`);
    await this.target!.finish();
    this.target = undefined;
  }
}

const ZERO = Buffer.alloc(64 * 1024);

function isZero(b: Buffer): boolean {
  for (let i = 0; i < b.length; i += ZERO.length) {
    const part = b.subarray(i, Math.min(b.length, i + ZERO.length));
    if (!part.equals(ZERO.subarray(0, part.length))) return false;
  }
  return true;
}
