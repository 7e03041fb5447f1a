// Minimal ustar writer for OVA export: regular files only, names we choose ourselves (≤ 100
// bytes), data streamed from a source so nothing is held in memory.
import type { Writable } from 'node:stream';
import { once } from 'node:events';

const BLOCK = 512;

function octalField(value: number, len: number): string {
  return value.toString(8).padStart(len - 1, '0') + '\0';
}

/** A ustar header block for a regular file (mode 0644, owner 0/0 named "root"). */
export function tarHeader(name: string, size: number, mtimeSec: number): Buffer {
  if (Buffer.byteLength(name) > 100) throw new Error(`tar entry name too long: ${name}`);
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  h.write(octalField(0o644, 8), 100, 'ascii');
  h.write(octalField(0, 8), 108, 'ascii');
  h.write(octalField(0, 8), 116, 'ascii');
  if (size >= 8 ** 11) {
    // GNU base-256 for files of 8 GiB and more
    h[124] = 0x80;
    let v = BigInt(size);
    for (let i = 135; i > 124; i--) {
      h[i] = Number(v & 0xffn);
      v >>= 8n;
    }
  } else h.write(octalField(size, 12), 124, 'ascii');
  h.write(octalField(mtimeSec, 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'ascii');
  return h;
}

async function put(out: Writable, b: Buffer): Promise<void> {
  if (!out.write(b)) await once(out, 'drain');
}

/** Writes one entry; `data` must yield exactly `size` bytes. Returns after the padding. */
export async function writeTarEntry(
  out: Writable,
  name: string,
  size: number,
  data: AsyncIterable<Buffer>,
): Promise<void> {
  await put(out, tarHeader(name, size, Math.floor(Date.now() / 1000)));
  let n = 0;
  for await (const c of data) {
    n += c.length;
    await put(out, c);
  }
  if (n !== size) throw new Error(`tar entry ${name}: expected ${size} bytes, got ${n}`);
  const pad = (BLOCK - (size % BLOCK)) % BLOCK;
  if (pad) await put(out, Buffer.alloc(pad));
}

/** The end-of-archive marker (two zero blocks). */
export async function writeTarEnd(out: Writable): Promise<void> {
  await put(out, Buffer.alloc(2 * BLOCK));
}
