// A minimal NBD client over a Unix socket for pull-mode backups: fixed-newstyle handshake,
// structured replies, meta contexts (base:allocation, qemu:dirty-bitmap:*), pipelined READ and
// BLOCK_STATUS. Only what reading a libvirt/QEMU backup export needs; no writes.
import { connect, type Socket } from 'node:net';
import {
  CMD_BLOCK_STATUS,
  CMD_DISC,
  CMD_READ,
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  IHAVEOPT,
  SIMPLE_REPLY_MAGIC,
  greetingFlags,
  requestHeader,
} from '../nbd/protocol.js';

const OPT_REPLY_MAGIC = 0x3e889045565a9n;
const STRUCTURED_REPLY_MAGIC = 0x668e33ef;

const OPT_GO = 7;
const OPT_STRUCTURED_REPLY = 8;
const OPT_SET_META_CONTEXT = 10;
const REP_ACK = 1;
const REP_INFO = 3;
const REP_META_CONTEXT = 4;
const INFO_EXPORT = 0;

const REPLY_FLAG_DONE = 1;
const REPLY_OFFSET_DATA = 1;
const REPLY_OFFSET_HOLE = 2;
const REPLY_BLOCK_STATUS = 5;
const REPLY_ERROR_BIT = 0x8000;

/** base:allocation flags. */
export const STATE_HOLE = 1;
export const STATE_ZERO = 2;
/** qemu:dirty-bitmap flag. */
export const STATE_DIRTY = 1;

/** One socket read takes up to this much (Node's default is 64 KiB: many more wake-ups). */
const READ_BUFFER_BYTES = 4 * 2 ** 20;
/** Longest BLOCK_STATUS request (its length is 32 bits); QEMU may answer for less. */
const MAX_STATUS_BYTES = 2 ** 31;
/** Replies are buffered whole: no payload larger than one read plus headers is accepted. */
const MAX_PAYLOAD_BYTES = 33 * 2 ** 20;

export interface Extent {
  offset: number;
  length: number;
  flags: number;
}

interface Pending {
  kind: 'read' | 'status';
  offset: number;
  buffer?: Buffer;
  extents: Map<number, Extent[]>;
  resolve: () => void;
  reject: (err: Error) => void;
  error?: Error;
}

/** Buffers a socket's bytes so a caller can await exactly n of them. */
class ByteReader {
  private chunks: Buffer[] = [];
  private length = 0;
  private waiter: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  private failed: Error | undefined;

  push(b: Buffer): void {
    this.chunks.push(b);
    this.length += b.length;
    this.wake();
  }

  fail(err: Error): void {
    this.failed ??= err;
    const w = this.waiter;
    this.waiter = undefined;
    w?.reject(err);
  }

  read(n: number): Promise<Buffer> {
    if (this.length >= n) return Promise.resolve(this.take(n));
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.waiter = { n, resolve, reject };
    });
  }

  private wake(): void {
    if (this.waiter && this.length >= this.waiter.n) {
      const w = this.waiter;
      this.waiter = undefined;
      w.resolve(this.take(w.n));
    }
  }

  private take(n: number): Buffer {
    const first = this.chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.length -= n;
    return out;
  }
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function str(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  return Buffer.concat([u32(b.length), b]);
}

/** One connection to one export; requests may be issued concurrently (replies matched by handle). */
export class NbdClient {
  /** Export size in bytes. */
  size = 0;
  private readonly contexts = new Map<string, number>();
  private readonly pending = new Map<number, Pending>();
  private nextHandle = 1;
  private closed: Error | undefined;

  private constructor(
    private readonly socket: Socket,
    private readonly reader: ByteReader,
  ) {}

  /** Connects, negotiates structured replies and `metaContexts`, and opens `exportName`. */
  static async connect(path: string, exportName: string, metaContexts: readonly string[]): Promise<NbdClient> {
    const reader = new ByteReader();
    const ref: { client?: NbdClient } = {};
    // Bytes go straight from one reused read buffer to where they belong (a read's destination):
    // no per-chunk allocation, one copy, far fewer wake-ups than 64 KiB socket reads.
    const socket = connect({
      path,
      onread: {
        buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
        callback: (n: number, buf: Uint8Array) => {
          const bytes = Buffer.from(buf.buffer, buf.byteOffset, n);
          if (ref.client?.transmitting) ref.client.feed(bytes);
          else reader.push(Buffer.from(bytes));
          return true;
        },
      },
    });
    const fail = (e: Error) => {
      reader.fail(e);
      ref.client?.failAll(e);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error(`NBD server at ${path} closed the connection`)));
    const client = (ref.client = new NbdClient(socket, reader));
    try {
      await client.handshake(exportName, metaContexts);
    } catch (err) {
      socket.destroy();
      throw new Error(`NBD export ${exportName} at ${path}: ${(err as Error).message}`, { cause: err });
    }
    client.transmitting = true;
    return client;
  }

  private async handshake(exportName: string, metaContexts: readonly string[]): Promise<void> {
    const serverFlags = greetingFlags(await this.reader.read(18));
    // FIXED_NEWSTYLE | NO_ZEROES (when offered).
    this.socket.write(u32(FLAG_FIXED_NEWSTYLE | (serverFlags & FLAG_NO_ZEROES)));
    await this.option(OPT_STRUCTURED_REPLY, Buffer.alloc(0));
    if (metaContexts.length) {
      const body = Buffer.concat([str(exportName), u32(metaContexts.length), ...metaContexts.map(str)]);
      for (const r of await this.option(OPT_SET_META_CONTEXT, body)) {
        if (r.type === REP_META_CONTEXT) this.contexts.set(r.data.subarray(4).toString('utf8'), r.data.readUInt32BE(0));
      }
      for (const c of metaContexts) if (!this.contexts.has(c)) throw new Error(`the server offers no ${c}`);
    }
    const go = Buffer.concat([str(exportName), Buffer.from([0, 0])]);
    for (const r of await this.option(OPT_GO, go)) {
      if (r.type === REP_INFO && r.data.readUInt16BE(0) === INFO_EXPORT) this.size = Number(r.data.readBigUInt64BE(2));
    }
  }

  /** Sends an option and collects its replies up to the ACK; an error reply throws. */
  private async option(opt: number, data: Buffer): Promise<{ type: number; data: Buffer }[]> {
    const head = Buffer.alloc(16);
    head.writeBigUInt64BE(IHAVEOPT, 0);
    head.writeUInt32BE(opt, 8);
    head.writeUInt32BE(data.length, 12);
    this.socket.write(Buffer.concat([head, data]));
    const out: { type: number; data: Buffer }[] = [];
    for (;;) {
      const h = await this.reader.read(20);
      if (h.readBigUInt64BE(0) !== OPT_REPLY_MAGIC) throw new Error('bad option reply');
      const type = h.readUInt32BE(12);
      const len = h.readUInt32BE(16);
      if (len > MAX_PAYLOAD_BYTES) throw new Error(`option reply of ${len} bytes`);
      const body = len ? await this.reader.read(len) : Buffer.alloc(0);
      if (type & 0x80000000) throw new Error(`option ${opt} refused (${type & 0x7fffffff}): ${body.toString('utf8')}`);
      if (type === REP_ACK) return out;
      out.push({ type, data: body });
    }
  }

  /** Reply parsing state: bytes still to collect into `acc` for the current step. */
  transmitting = false;
  private step: 'magic' | 'simple' | 'structured' | 'dataOffset' | 'payload' = 'magic';
  private acc = Buffer.alloc(20);
  private accLen = 0;
  private need = 4;
  private chunkHead = { flags: 0, type: 0, handle: 0, length: 0 };
  private payload: Buffer | undefined;
  /** An OFFSET_DATA chunk's bytes still to copy into `dataTarget` at `dataAt`. */
  private dataLeft = 0;
  private dataTarget: Buffer | undefined;
  private dataAt = 0;

  /** Parses reply bytes as they arrive; a protocol error fails every request and the socket. */
  private feed(buf: Buffer): void {
    try {
      let at = 0;
      while (at < buf.length) {
        if (this.dataLeft > 0) {
          const k = Math.min(this.dataLeft, buf.length - at);
          buf.copy(this.dataTarget!, this.dataAt, at, at + k);
          this.dataAt += k;
          this.dataLeft -= k;
          at += k;
          if (this.dataLeft === 0) this.endChunk();
          continue;
        }
        const into = this.payload ?? this.acc;
        const k = Math.min(this.need - this.accLen, buf.length - at);
        buf.copy(into, this.accLen, at, at + k);
        this.accLen += k;
        at += k;
        if (this.accLen === this.need) this.advance();
      }
    } catch (err) {
      this.failAll(err as Error);
    }
  }

  private expect(step: NbdClient['step'], need: number): void {
    this.step = step;
    this.need = need;
    this.accLen = 0;
  }

  /** The current step's bytes are all there: act on them and set up the next step. */
  private advance(): void {
    const a = this.acc;
    switch (this.step) {
      case 'magic': {
        const magic = a.readUInt32BE(0);
        if (magic === SIMPLE_REPLY_MAGIC) return this.expect('simple', 12);
        if (magic !== STRUCTURED_REPLY_MAGIC) throw new Error(`bad NBD reply magic ${magic.toString(16)}`);
        return this.expect('structured', 16);
      }
      case 'simple': {
        const error = a.readUInt32BE(0);
        const p = this.settle(Number(a.readBigUInt64BE(4)));
        if (error) p.reject(new Error(`NBD request failed with error ${error}`));
        else p.resolve();
        return this.expect('magic', 4);
      }
      case 'structured': {
        const h = {
          flags: a.readUInt16BE(0),
          type: a.readUInt16BE(2),
          handle: Number(a.readBigUInt64BE(4)),
          length: a.readUInt32BE(12),
        };
        if (h.length > MAX_PAYLOAD_BYTES) throw new Error(`NBD reply chunk of ${h.length} bytes`);
        const p = this.pending.get(h.handle);
        if (!p) throw new Error(`NBD reply for unknown handle ${h.handle}`);
        this.chunkHead = h;
        if (h.type === REPLY_OFFSET_DATA && p.buffer && h.length >= 8) return this.expect('dataOffset', 8);
        if (h.length === 0) {
          this.chunk(p, h.type, Buffer.alloc(0));
          return this.endChunk();
        }
        this.payload = Buffer.allocUnsafe(h.length);
        return this.expect('payload', h.length);
      }
      case 'dataOffset': {
        const p = this.pending.get(this.chunkHead.handle)!;
        const at = Number(a.readBigUInt64BE(0)) - p.offset;
        const len = this.chunkHead.length - 8;
        if (at < 0 || at + len > p.buffer!.length) throw new Error('NBD read reply outside the request');
        this.dataTarget = p.buffer;
        this.dataAt = at;
        this.dataLeft = len;
        this.accLen = 0;
        if (len === 0) this.endChunk();
        return;
      }
      case 'payload': {
        const body = this.payload!;
        this.payload = undefined;
        this.chunk(this.pending.get(this.chunkHead.handle)!, this.chunkHead.type, body);
        return this.endChunk();
      }
    }
  }

  /** A structured chunk is complete: settle its request if it was the last one. */
  private endChunk(): void {
    this.dataTarget = undefined;
    const { flags, handle } = this.chunkHead;
    if (flags & REPLY_FLAG_DONE) {
      const p = this.settle(handle);
      if (p.error) p.reject(p.error);
      else p.resolve();
    }
    this.expect('magic', 4);
  }

  private failAll(err: Error): void {
    this.closed ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    this.socket.destroy();
  }

  private settle(handle: number): Pending {
    const p = this.pending.get(handle);
    if (!p) throw new Error(`NBD reply for unknown handle ${handle}`);
    this.pending.delete(handle);
    return p;
  }

  private chunk(p: Pending, type: number, body: Buffer): void {
    if (type & REPLY_ERROR_BIT) {
      const msgLen = body.length >= 6 ? body.readUInt16BE(4) : 0;
      p.error ??= new Error(`NBD error ${body.readUInt32BE(0)}: ${body.subarray(6, 6 + msgLen).toString('utf8')}`);
    } else if (type === REPLY_OFFSET_DATA && p.buffer) {
      const at = Number(body.readBigUInt64BE(0)) - p.offset;
      body.copy(p.buffer, at, 8);
    } else if (type === REPLY_OFFSET_HOLE && p.buffer) {
      const at = Number(body.readBigUInt64BE(0)) - p.offset;
      p.buffer.fill(0, at, at + body.readUInt32BE(8));
    } else if (type === REPLY_BLOCK_STATUS) {
      const id = body.readUInt32BE(0);
      const list = p.extents.get(id) ?? [];
      let offset = p.offset + list.reduce((s, e) => s + e.length, 0);
      for (let i = 4; i + 8 <= body.length; i += 8) {
        const length = body.readUInt32BE(i);
        list.push({ offset, length, flags: body.readUInt32BE(i + 4) });
        offset += length;
      }
      p.extents.set(id, list);
    }
  }

  private request(type: number, offset: number, length: number, p: Omit<Pending, 'resolve' | 'reject'>): Promise<void> {
    if (this.closed) return Promise.reject(this.closed);
    const handle = this.nextHandle++;
    const head = requestHeader(type, BigInt(handle), offset, length);
    return new Promise((resolve, reject) => {
      this.pending.set(handle, { ...p, resolve, reject });
      this.socket.write(head);
    });
  }

  /** `length` bytes at `offset` (holes come back as zeros), into `into` when given (reused buffers). */
  async read(offset: number, length: number, into?: Buffer): Promise<Buffer> {
    const buffer = into ? into.subarray(0, length) : Buffer.allocUnsafe(length);
    if (buffer.length !== length) throw new Error(`read of ${length} bytes into a ${into!.length}-byte buffer`);
    await this.request(CMD_READ, offset, length, { kind: 'read', offset, buffer, extents: new Map() });
    return buffer;
  }

  /** The extents of meta context `context` covering [offset, offset+length), in order. */
  async blockStatus(context: string, offset: number, length: number): Promise<Extent[]> {
    const id = this.contexts.get(context);
    if (id === undefined) throw new Error(`meta context ${context} was not negotiated`);
    const out: Extent[] = [];
    let at = offset;
    const end = offset + length;
    while (at < end) {
      const extents = new Map<number, Extent[]>();
      await this.request(CMD_BLOCK_STATUS, at, Math.min(end - at, MAX_STATUS_BYTES), {
        kind: 'status',
        offset: at,
        extents,
      });
      const got = extents.get(id) ?? [];
      if (!got.length) throw new Error(`no block status for ${context} at ${at}`);
      for (const e of got) {
        const length = Math.min(e.length, end - e.offset);
        if (length > 0) out.push({ ...e, length });
      }
      at = got.at(-1)!.offset + got.at(-1)!.length;
    }
    return out;
  }

  /** Tells the server goodbye and closes the socket. */
  close(): void {
    if (!this.closed) this.socket.end(requestHeader(CMD_DISC, 0n, 0, 0));
    this.closed ??= new Error('NBD connection closed');
  }
}
