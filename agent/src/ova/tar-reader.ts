// Streaming tar reader for untrusted OVAs: yields regular-file entries one by one as the bytes
// arrive, refusing everything an OVA must not contain (links, devices, directories, absolute or
// `..` paths, duplicates) and enforcing limits on entry count, sizes and header extensions.
import { AgentError, ErrorCode } from '../errors.js';

export interface TarLimits {
  maxEntries: number;
  /** Sum of all entry sizes. */
  maxTotalBytes: number;
}

export const defaultTarLimits: TarLimits = { maxEntries: 1000, maxTotalBytes: 4 * 2 ** 40 };

export interface TarEntry {
  /** The entry path with a leading "./" removed. */
  name: string;
  size: number;
  /** Byte offset of the entry's data inside the tar. */
  offset: number;
  /** The entry's data; read it fully or not at all (the reader skips what is left). */
  chunks(): AsyncGenerator<Buffer>;
}

const BLOCK = 512;
const MAX_EXTENSION_BYTES = 64 * 1024;

function tarError(message: string): AgentError {
  return new AgentError(ErrorCode.InvalidArgument, `OVA archive: ${message}`, 'ova');
}

/** Pulls exact byte counts from an async byte source without copying more than needed. */
class ByteSource {
  private buf: Buffer = Buffer.alloc(0);
  private done = false;
  position = 0;
  constructor(private readonly it: AsyncIterator<Buffer | Uint8Array>) {}

  private async fill(n: number): Promise<void> {
    while (this.buf.length < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else {
        const chunk = Buffer.isBuffer(r.value) ? r.value : Buffer.from(r.value);
        this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
      }
    }
  }

  /** Exactly n bytes, or fewer only at the end of the stream. */
  async read(n: number): Promise<Buffer> {
    await this.fill(n);
    const out = this.buf.subarray(0, n);
    this.buf = this.buf.subarray(out.length);
    this.position += out.length;
    return out;
  }

  /** Up to `max` bytes (at least 1 unless the stream ended), without over-buffering. */
  async readSome(max: number): Promise<Buffer> {
    if (!this.buf.length) await this.fill(1);
    const out = this.buf.subarray(0, Math.min(max, this.buf.length));
    this.buf = this.buf.subarray(out.length);
    this.position += out.length;
    return out;
  }
}

function field(h: Buffer, start: number, len: number): string {
  const raw = h.subarray(start, start + len);
  const nul = raw.indexOf(0);
  return raw.subarray(0, nul < 0 ? len : nul).toString('utf8');
}

function octal(h: Buffer, start: number, len: number, what: string): number {
  if (h[start]! & 0x80) {
    // GNU base-256 for large values; a negative value has 0xff first.
    if (h[start] === 0xff) throw tarError(`negative ${what} in a header`);
    let v = h[start]! & 0x7f;
    for (let i = start + 1; i < start + len; i++) v = v * 256 + h[i]!;
    if (!Number.isSafeInteger(v)) throw tarError(`${what} too large in a header`);
    return v;
  }
  const s = field(h, start, len).trim();
  if (s === '') return 0;
  if (!/^[0-7]+$/.test(s)) throw tarError(`malformed ${what} in a header`);
  return parseInt(s, 8);
}

function checksumOk(h: Buffer): boolean {
  let stored: number;
  try {
    stored = octal(h, 148, 8, 'checksum');
  } catch {
    return false;
  }
  let sum = 0;
  for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i]!;
  return sum === stored;
}

/** Parses a pax extended header body into key → value. */
function parsePax(body: Buffer): Map<string, string> {
  const out = new Map<string, string>();
  let pos = 0;
  while (pos < body.length) {
    const space = body.indexOf(0x20, pos);
    if (space < 0) break;
    const len = parseInt(body.subarray(pos, space).toString('ascii'), 10);
    if (!Number.isInteger(len) || len <= 0 || pos + len > body.length) throw tarError('malformed pax header');
    const rec = body.subarray(space + 1, pos + len - 1).toString('utf8');
    const eq = rec.indexOf('=');
    if (eq > 0) out.set(rec.slice(0, eq), rec.slice(eq + 1));
    pos += len;
  }
  return out;
}

const refusedTypes: Record<string, string> = {
  '1': 'a hard link',
  '2': 'a symbolic link',
  '3': 'a character device',
  '4': 'a block device',
  '5': 'a directory',
  '6': 'a FIFO',
};

/** Normalises and checks an entry path; throws for absolute, `..`, empty or control-character names. */
export function checkEntryName(raw: string): string {
  if ([...raw].some((c) => c.charCodeAt(0) < 0x20)) throw tarError(`entry name with control characters refused`);
  if (raw.startsWith('/') || /^[A-Za-z]:[\\/]/.test(raw)) throw tarError(`absolute path "${raw}" refused`);
  const parts = raw.replace(/\\/g, '/').split('/');
  if (parts.includes('..')) throw tarError(`path traversal "${raw}" refused`);
  const name = parts.filter((p) => p !== '' && p !== '.').join('/');
  if (!name) throw tarError(`empty entry name refused`);
  return name;
}

/**
 * Reads a tar from `source` and yields its regular files in order. Throws AgentError
 * (INVALID_ARGUMENT, field "ova") on anything unsafe, malformed or truncated.
 */
export async function* readTar(
  source: AsyncIterable<Buffer | Uint8Array>,
  limits: TarLimits = defaultTarLimits,
): AsyncGenerator<TarEntry> {
  const src = new ByteSource(source[Symbol.asyncIterator]());
  const seen = new Set<string>();
  let total = 0;
  let entries = 0;
  let pax = new Map<string, string>();
  let longName: string | undefined;

  for (;;) {
    const h = await src.read(BLOCK);
    if (h.length === 0) return; // ended at a block boundary without the end marker: accepted
    if (h.length < BLOCK) throw tarError('truncated (the stream ends inside a header)');
    if (h.every((b) => b === 0)) return;
    if (!checksumOk(h))
      throw tarError(`bad header checksum at byte ${src.position - BLOCK} (not a tar file, or corrupted)`);

    const type = String.fromCharCode(h[156]!);
    let size = octal(h, 124, 12, 'size');
    if (pax.has('size')) {
      size = Number(pax.get('size'));
      if (!Number.isSafeInteger(size) || size < 0) throw tarError('malformed pax size');
    }

    if (type === 'x' || type === 'g' || type === 'L' || type === 'K') {
      if (size > MAX_EXTENSION_BYTES) throw tarError('header extension too large');
      const body = await src.read(size);
      if (body.length < size) throw tarError('truncated (the stream ends inside a header extension)');
      await src.read((BLOCK - (size % BLOCK)) % BLOCK);
      if (type === 'x') pax = parsePax(body);
      else if (type === 'L') longName = field(body, 0, body.length);
      continue; // 'g' (global) and 'K' (long link name) carry nothing an OVA needs
    }

    const ustar = field(h, 257, 6).startsWith('ustar');
    const rawName =
      pax.get('path') ?? longName ?? (ustar && h[345] ? `${field(h, 345, 155)}/${field(h, 0, 100)}` : field(h, 0, 100));
    pax = new Map();
    longName = undefined;

    const refused = refusedTypes[type];
    if (refused) throw tarError(`entry "${rawName}" is ${refused}; only regular files are allowed`);
    if (type !== '0' && type !== '\0' && type !== '7') {
      throw tarError(`entry "${rawName}" has unsupported type "${type}"; only regular files are allowed`);
    }
    const name = checkEntryName(rawName);
    if (seen.has(name)) throw tarError(`duplicate entry "${name}" refused`);
    seen.add(name);
    if (++entries > limits.maxEntries) throw tarError(`more than ${limits.maxEntries} entries`);
    total += size;
    if (total > limits.maxTotalBytes) throw tarError(`contents exceed ${limits.maxTotalBytes} bytes`);

    const offset = src.position;
    let remaining = size;
    async function* chunks(): AsyncGenerator<Buffer> {
      while (remaining > 0) {
        const b = await src.readSome(Math.min(remaining, 1024 * 1024));
        if (b.length === 0) throw tarError(`truncated (entry "${name}" ends early)`);
        remaining -= b.length;
        yield b;
      }
    }
    yield { name, size, offset, chunks };
    while (remaining > 0) {
      const b = await src.readSome(Math.min(remaining, 1024 * 1024));
      if (b.length === 0) throw tarError(`truncated (entry "${name}" ends early)`);
      remaining -= b.length;
    }
    const pad = (BLOCK - (size % BLOCK)) % BLOCK;
    if ((await src.read(pad)).length < pad) throw tarError(`truncated (after entry "${name}")`);
  }
}
