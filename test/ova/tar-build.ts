// Test-only tar builder that can write what a hostile OVA contains: any type flag, any name,
// link targets, device numbers. The agent's own writer (agent/src/ova/tar-writer.ts) cannot.
export interface RawEntry {
  name: string;
  data?: Buffer;
  /** Tar type flag: '0' file, '1' hard link, '2' symlink, '3' char device, '5' directory, … */
  type?: string;
  linkname?: string;
  /** Owner ids nobody can restore (real OVAs have them). */
  uid?: number;
}

function octal(v: number, len: number): string {
  return v.toString(8).padStart(len - 1, '0') + '\0';
}

function header(e: RawEntry, size: number): Buffer {
  const h = Buffer.alloc(512);
  h.write(e.name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100);
  h.write(octal(e.uid ?? 0, 8), 108);
  h.write(octal(e.uid ?? 0, 8), 116);
  h.write(octal(size, 12), 124);
  h.write(octal(1_700_000_000, 12), 136);
  h.write('        ', 148);
  h.write(e.type ?? '0', 156);
  if (e.linkname) h.write(e.linkname, 157, 100, 'utf8');
  h.write('ustar\0', 257);
  h.write('00', 263);
  h.write(e.uid ? 'someone' : 'root', 265);
  h.write(e.uid ? 'staff' : 'root', 297);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return h;
}

/** A complete tar (with the end marker) of `entries`. */
export function buildTar(entries: readonly RawEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const data = e.type && e.type !== '0' ? Buffer.alloc(0) : (e.data ?? Buffer.alloc(0));
    parts.push(header(e, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512));
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
