// Reads an image's format from its first bytes without any external tool: qcow2 header fields
// (size, backing file, external data file bit), VMDK sparse header and embedded descriptor,
// other image magics, the ISO9660 "CD001" signature at 0x8001. Pure parsing of untrusted bytes,
// bounded reads only; what is acceptable is disk-inspect.ts's to decide.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

export type ProbedFormat = 'qcow2' | 'raw' | 'iso' | 'vmdk' | 'other';

export interface HeaderProbe {
  format: ProbedFormat;
  /** For "other": which format was recognised. */
  detail?: string;
  /** qcow2: the virtual size from the header. */
  virtualSize?: number;
  /** qcow2: the backing file name as stored (never opened). */
  backingFile?: string;
  /** qcow2 v3 incompatible feature bit 2: an external data file. */
  externalDataFile?: boolean;
  /** vmdk: what the head shows (a text descriptor names other files by nature). */
  vmdk?: VmdkHead;
}

export type VmdkHead =
  | { kind: 'descriptor-file' }
  | { kind: 'truncated' }
  /** A KDMV sparse header: its capacity in sectors and its embedded descriptor (text up to the first NUL), if any. */
  | { kind: 'sparse'; capacitySectors: bigint; descriptor?: string };

/** Bytes needed by parseHeader: through the ISO9660 primary volume descriptor signature. */
export const PROBE_BYTES = 0x8006;
const ISO_SIGNATURE_OFFSET = 0x8001;
const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);
const MAX_BACKING_NAME = 1023;
/** Longest embedded VMDK descriptor read (qemu-img writes 20 sectors). */
const MAX_VMDK_DESCRIPTOR = 64 * 1024;

const OTHER_MAGICS: { at: number; bytes: Buffer; name: string }[] = [
  { at: 0, bytes: Buffer.from('# Disk DescriptorFile'), name: 'vmdk' },
  { at: 0, bytes: Buffer.from('QED\0'), name: 'qed' },
  { at: 0, bytes: Buffer.from('vhdxfile'), name: 'vhdx' },
  { at: 0, bytes: Buffer.from('conectix'), name: 'vpc' },
  { at: 0x40, bytes: Buffer.from([0x7f, 0x10, 0xda, 0xbe]), name: 'vdi' },
  { at: 0, bytes: Buffer.from([0x4c, 0x55, 0x4b, 0x53, 0xba, 0xbe]), name: 'luks' },
  { at: 0, bytes: Buffer.from('OOOM'), name: 'cloop' },
];

function has(buf: Buffer, at: number, bytes: Buffer): boolean {
  return buf.length >= at + bytes.length && buf.subarray(at, at + bytes.length).equals(bytes);
}

/**
 * Classifies `head` (the first PROBE_BYTES of a file or fewer). For qcow2 the backing file
 * name is read through `readAt` (offset, length) since it can live anywhere in the header.
 */
export async function parseHeader(
  head: Buffer,
  readAt: (offset: number, length: number) => Promise<Buffer>,
): Promise<HeaderProbe> {
  if (has(head, 0, QCOW2_MAGIC) && head.length >= 32) {
    const version = head.readUInt32BE(4);
    const backingOffset = Number(head.readBigUInt64BE(8));
    const backingSize = head.readUInt32BE(16);
    const virtualSize = Number(head.readBigUInt64BE(24));
    const incompatible = version >= 3 && head.length >= 80 ? head.readBigUInt64BE(72) : 0n;
    const probe: HeaderProbe = { format: 'qcow2', virtualSize, externalDataFile: (incompatible & 4n) !== 0n };
    if (backingOffset !== 0 && backingSize !== 0) {
      const name = await readAt(backingOffset, Math.min(backingSize, MAX_BACKING_NAME));
      probe.backingFile = name.toString('utf8');
    }
    return probe;
  }
  if (has(head, 0, Buffer.from('KDMV'))) return { format: 'vmdk', vmdk: await parseSparseVmdk(head, readAt) };
  const other = OTHER_MAGICS.find((m) => has(head, m.at, m.bytes));
  if (other)
    return other.name === 'vmdk'
      ? { format: 'vmdk', vmdk: { kind: 'descriptor-file' } }
      : { format: 'other', detail: other.name };
  if (has(head, ISO_SIGNATURE_OFFSET, Buffer.from('CD001'))) return { format: 'iso' };
  return { format: 'raw' };
}

/** The VMDK 4 sparse header (VMware's "Virtual Disk Format 5.0", SparseExtentHeader). */
async function parseSparseVmdk(
  head: Buffer,
  readAt: (offset: number, length: number) => Promise<Buffer>,
): Promise<VmdkHead> {
  if (head.length < 512) return { kind: 'truncated' };
  const capacitySectors = head.readBigUInt64LE(12);
  const descOffset = head.readBigUInt64LE(28) * 512n;
  const descSize = head.readBigUInt64LE(36) * 512n;
  if (descOffset === 0n || descSize === 0n || descOffset > BigInt(Number.MAX_SAFE_INTEGER))
    return { kind: 'sparse', capacitySectors };
  const text = await readAt(
    Number(descOffset),
    Number(descSize < MAX_VMDK_DESCRIPTOR ? descSize : MAX_VMDK_DESCRIPTOR),
  );
  // Nothing there (beyond a streamed head): unknown here; qemu-img info decides.
  if (text.length === 0) return { kind: 'sparse', capacitySectors };
  return { kind: 'sparse', capacitySectors, descriptor: text.toString('latin1').split('\0')[0]! };
}

/** Reads within `head` only (a disk's first bytes kept while streaming an OVA). */
export function readWithin(head: Buffer): (offset: number, length: number) => Promise<Buffer> {
  return async (offset, length) => head.subarray(Math.min(offset, head.length), Math.min(offset + length, head.length));
}

/**
 * Probes the regular file at `path` (symlinks refused by O_NOFOLLOW), or the byte range `slice`
 * of it (a disk inside an OVA's tar); reads never leave the slice.
 */
export async function probeFile(path: string, slice?: { offset: number; size: number }): Promise<HeaderProbe> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  const start = slice?.offset ?? 0;
  const end = slice ? slice.offset + slice.size : Number.MAX_SAFE_INTEGER;
  const readAt = async (offset: number, length: number) => {
    const len = Math.max(0, Math.min(length, end - start - offset));
    const buf = Buffer.alloc(len);
    const r = await fh.read(buf, 0, len, start + offset);
    return buf.subarray(0, r.bytesRead);
  };
  try {
    return await parseHeader(await readAt(0, PROBE_BYTES), readAt);
  } finally {
    await fh.close();
  }
}
