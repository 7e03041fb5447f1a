// A minimal RFB 3.8 client for benchmarks: no security, raw encoding, key events and incremental
// update requests, on any Duplex (QEMU's VNC Unix socket, or the vDC's graphics websocket as a
// stream). Counts framebuffer updates that change pixels and tells when the next one arrives. Keys
// go as QEMU extended key events (scancode and keysym) once the server offers them, as noVNC sends
// them, so that the benchmark compares paths and not key messages.
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';

const DESKTOP_SIZE = -223;
const QEMU_EXTENDED_KEY = -258;

export class RfbClient {
  private buf: Buffer = Buffer.alloc(0);
  private wanted: { n: number; resolve: (b: Buffer) => void } | undefined;
  private frameWaiters: ((at: number) => void)[] = [];
  width = 0;
  height = 0;
  private bpp = 4;
  /** Framebuffer updates with at least one changed rectangle. */
  frames = 0;
  /** The server acknowledged the QEMU extended key event pseudo-encoding. */
  extendedKeys = false;

  private constructor(private readonly sock: Duplex) {
    sock.on('data', (d: Buffer) => {
      this.buf = this.buf.length ? Buffer.concat([this.buf, d]) : d;
      this.pump();
    });
  }

  /** Connects to the VNC socket at `path` and completes the handshake (security type None). */
  static async open(path: string): Promise<RfbClient> {
    const sock = connect(path);
    await new Promise<void>((resolve, reject) => sock.once('connect', resolve).once('error', reject));
    return RfbClient.over(sock);
  }

  /** Completes the handshake (security type None) on an open byte stream. */
  static async over(sock: Duplex): Promise<RfbClient> {
    const c = new RfbClient(sock);
    const version = (await c.read(12)).toString('latin1');
    if (!version.startsWith('RFB 003.008')) throw new Error(`unexpected RFB version ${JSON.stringify(version)}`);
    sock.write('RFB 003.008\n');
    const types = await c.read((await c.read(1))[0]!);
    if (!types.includes(1)) throw new Error('the VNC server wants authentication');
    sock.write(Buffer.from([1]));
    if ((await c.read(4)).readUInt32BE(0) !== 0) throw new Error('VNC security handshake failed');
    sock.write(Buffer.from([1])); // shared
    const init = await c.read(24);
    c.width = init.readUInt16BE(0);
    c.height = init.readUInt16BE(2);
    c.bpp = init[4]! / 8;
    await c.read(init.readUInt32BE(20));
    // SetEncodings: raw, DesktopSize, QEMU extended key events.
    const encodings = [0, DESKTOP_SIZE, QEMU_EXTENDED_KEY];
    const enc = Buffer.alloc(4 + 4 * encodings.length);
    enc.writeUInt8(2, 0);
    enc.writeUInt16BE(encodings.length, 2);
    encodings.forEach((e, i) => enc.writeInt32BE(e, 4 + 4 * i));
    sock.write(enc);
    void c.loop();
    c.request(false);
    return c;
  }

  /** FramebufferUpdateRequest for the whole screen. */
  request(incremental = true): void {
    const m = Buffer.alloc(10);
    m.writeUInt8(3, 0);
    m.writeUInt8(incremental ? 1 : 0, 1);
    m.writeUInt16BE(this.width, 6);
    m.writeUInt16BE(this.height, 8);
    this.sock.write(m);
  }

  /** Presses (`down`) or releases the key `keysym` (`scancode`: its XT scancode, for the extended event). */
  key(keysym: number, down: boolean, scancode?: number): void {
    if (this.extendedKeys && scancode !== undefined) {
      const m = Buffer.alloc(12);
      m.writeUInt8(255, 0); // QEMU client message
      m.writeUInt8(0, 1); // extended key event
      m.writeUInt16BE(down ? 1 : 0, 2);
      m.writeUInt32BE(keysym, 4);
      m.writeUInt32BE(scancode, 8);
      this.sock.write(m);
      return;
    }
    const m = Buffer.alloc(8);
    m.writeUInt8(4, 0);
    m.writeUInt8(down ? 1 : 0, 1);
    m.writeUInt32BE(keysym, 4);
    this.sock.write(m);
  }

  /** Resolves with performance.now() when the next changed frame has been read whole. */
  nextFrame(): Promise<number> {
    return new Promise((resolve) => this.frameWaiters.push(resolve));
  }

  close(): void {
    this.sock.destroy();
  }

  private read(n: number): Promise<Buffer> {
    return new Promise((resolve) => {
      this.wanted = { n, resolve };
      this.pump();
    });
  }

  private pump(): void {
    const w = this.wanted;
    if (!w || this.buf.length < w.n) return;
    this.wanted = undefined;
    const out = this.buf.subarray(0, w.n);
    this.buf = this.buf.subarray(w.n);
    w.resolve(out);
  }

  /** Server messages: framebuffer updates (then the next incremental request), colour maps, bell, cut text. */
  private async loop(): Promise<void> {
    for (;;) {
      const type = (await this.read(1))[0];
      if (type === 0) {
        const rects = (await this.read(3)).readUInt16BE(1);
        let changed = false;
        for (let i = 0; i < rects; i++) {
          const h = await this.read(12);
          const [w, hh, enc] = [h.readUInt16BE(4), h.readUInt16BE(6), h.readInt32BE(8)];
          if (enc === 0) {
            await this.read(w * hh * this.bpp);
            if (w && hh) changed = true;
          } else if (enc === DESKTOP_SIZE) {
            this.width = w;
            this.height = hh;
            changed = true;
          } else if (enc === QEMU_EXTENDED_KEY) {
            this.extendedKeys = true;
          } else throw new Error(`unexpected encoding ${enc}`);
        }
        if (changed) {
          this.frames++;
          const at = performance.now();
          for (const f of this.frameWaiters.splice(0)) f(at);
        }
        this.request(true);
      } else if (type === 1) {
        const n = (await this.read(5)).readUInt16BE(3);
        await this.read(n * 6);
      } else if (type === 2) continue;
      else if (type === 3) await this.read((await this.read(7)).readUInt32BE(3));
      else throw new Error(`unexpected RFB message ${type}`);
    }
  }
}
