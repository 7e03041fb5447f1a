// A minimal NBD client that only writes: fixed-newstyle handshake with NBD_OPT_EXPORT_NAME, then
// pipelined NBD_CMD_WRITE requests (bounded bytes in flight), FLUSH and DISC. Used to write a decoded
// disk straight into an image that qemu-nbd serves (qcow2-target.ts).
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import {
  CMD_DISC,
  CMD_FLUSH,
  CMD_WRITE,
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  IHAVEOPT,
  SIMPLE_REPLY_MAGIC,
  greetingFlags,
  requestHeader,
} from '../nbd/protocol.js';

const OPT_EXPORT_NAME = 1;
/** One request's payload at most (qemu-nbd accepts 32 MiB). */
const MAX_REQUEST = 4 * 1024 * 1024;

/** Positional writes into an NBD export; `close()` flushes and disconnects. */
export class NbdWriter {
  /** The export's size in bytes, as the server announced it. */
  size = 0;
  private buffered: Buffer = Buffer.alloc(0);
  private waiter: (() => void) | undefined;
  private failure: Error | undefined;
  private readonly pending = new Map<bigint, { bytes: number; done: (err?: Error) => void }>();
  private nextHandle = 1n;
  private inFlight = 0;
  private run: { at: number; parts: Buffer[]; bytes: number } | undefined;
  private closed = false;

  private constructor(
    private readonly socket: Socket,
    private readonly maxInFlight: number,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
      if (this.waiter) this.waiter();
      else this.takeReplies();
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the NBD server closed the connection')));
  }

  /** Connects to the Unix socket `path` and negotiates the default export. */
  static async connect(path: string, maxInFlight = 8 * 1024 * 1024): Promise<NbdWriter> {
    const socket = connect(path);
    await once(socket, 'connect');
    const w = new NbdWriter(socket, maxInFlight);
    try {
      await w.handshake();
    } catch (err) {
      socket.destroy();
      throw err;
    }
    return w;
  }

  /** Queues `data` for byte offset `at`; contiguous writes are joined into one request. */
  async write(data: Buffer, at: number): Promise<void> {
    this.check();
    if (at + data.length > this.size) throw new Error(`NBD write at ${at} + ${data.length} beyond ${this.size} bytes`);
    const r = this.run;
    if (r && r.at + r.bytes === at && r.bytes + data.length <= MAX_REQUEST) {
      r.parts.push(data);
      r.bytes += data.length;
    } else {
      this.send();
      this.run = { at, parts: [data], bytes: data.length };
    }
    if (this.run!.bytes >= MAX_REQUEST) this.send();
    while (this.inFlight > this.maxInFlight) await this.oneReply();
    this.check();
  }

  /** Sends what is queued, waits for every write, flushes and disconnects. */
  async close(): Promise<void> {
    this.send();
    await this.request(CMD_FLUSH, 0, 0);
    while (this.pending.size) await this.oneReply();
    this.check();
    this.closed = true;
    this.socket.end(requestHeader(CMD_DISC, 0n, 0, 0));
    await once(this.socket, 'close').catch(() => undefined);
  }

  /** Drops the connection (on failure; the server then discards nothing already written). */
  destroy(): void {
    this.closed = true;
    this.socket.destroy();
  }

  private async handshake(): Promise<void> {
    const flags = greetingFlags(await this.read(18));
    const noZeroes = (flags & FLAG_NO_ZEROES) !== 0;
    const opt = Buffer.alloc(20);
    opt.writeUInt32BE(FLAG_FIXED_NEWSTYLE | (noZeroes ? FLAG_NO_ZEROES : 0), 0);
    opt.writeBigUInt64BE(IHAVEOPT, 4);
    opt.writeUInt32BE(OPT_EXPORT_NAME, 12);
    opt.writeUInt32BE(0, 16); // the default export ("")
    this.socket.write(opt);
    const info = await this.read(noZeroes ? 10 : 134);
    this.size = Number(info.readBigUInt64BE(0));
  }

  private async read(n: number): Promise<Buffer> {
    while (this.buffered.length < n) {
      this.check();
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
    }
    const out = this.buffered.subarray(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  private send(): void {
    const r = this.run;
    if (!r) return;
    this.run = undefined;
    void this.request(CMD_WRITE, r.at, r.bytes, r.parts);
  }

  private request(type: number, at: number, length: number, parts: Buffer[] = []): Promise<void> {
    const handle = this.nextHandle++;
    const bytes = parts.reduce((n, p) => n + p.length, 0);
    this.inFlight += bytes;
    const done = new Promise<void>((resolve, reject) => {
      this.pending.set(handle, { bytes, done: (err) => (err ? reject(err) : resolve()) });
    });
    done.catch(() => undefined); // surfaced through `failure`
    this.socket.cork();
    this.socket.write(requestHeader(type, handle, at, length));
    for (const p of parts) this.socket.write(p);
    this.socket.uncork();
    return done;
  }

  /** Waits until at least one reply arrived (or the connection failed). */
  private async oneReply(): Promise<void> {
    const before = this.pending.size;
    while (this.pending.size === before && before > 0) {
      this.check();
      await new Promise<void>((resolve) => (this.waiter = resolve));
      this.waiter = undefined;
      this.takeReplies();
    }
    this.check();
  }

  private takeReplies(): void {
    while (this.buffered.length >= 16) {
      const magic = this.buffered.readUInt32BE(0);
      const error = this.buffered.readUInt32BE(4);
      const handle = this.buffered.readBigUInt64BE(8);
      this.buffered = this.buffered.subarray(16);
      const p = this.pending.get(handle);
      if (magic !== SIMPLE_REPLY_MAGIC || !p) {
        this.fail(new Error('unexpected NBD reply'));
        return;
      }
      this.pending.delete(handle);
      this.inFlight -= p.bytes;
      if (error) {
        this.fail(new Error(`NBD request failed with error ${error}`));
        return;
      }
      p.done();
    }
  }

  private fail(err: Error): void {
    if (this.closed && !this.pending.size) return;
    this.failure ??= err;
    for (const p of this.pending.values()) p.done(this.failure);
    this.pending.clear();
    this.waiter?.();
  }

  private check(): void {
    if (this.failure) throw this.failure;
  }
}
