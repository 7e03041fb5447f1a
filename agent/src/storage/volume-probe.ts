// Reads a volume's format from its first bytes without any external tool: qcow2 header fields
// (size, backing file, external data file bit), other image magics, the ISO9660 "CD001"
// signature at 0x8001. Pure parsing of untrusted bytes, bounded reads only.
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
}

/** Bytes needed by parseHeader: through the ISO9660 primary volume descriptor signature. */
export const PROBE_BYTES = 0x8006;
const ISO_SIGNATURE_OFFSET = 0x8001;
const QCOW2_MAGIC = Buffer.from([0x51, 0x46, 0x49, 0xfb]);
const MAX_BACKING_NAME = 1023;

const OTHER_MAGICS: { at: number; bytes: Buffer; name: string }[] = [
  { at: 0, bytes: Buffer.from('KDMV'), name: 'vmdk' },
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
  const other = OTHER_MAGICS.find((m) => has(head, m.at, m.bytes));
  if (other) return other.name === 'vmdk' ? { format: 'vmdk' } : { format: 'other', detail: other.name };
  if (has(head, ISO_SIGNATURE_OFFSET, Buffer.from('CD001'))) return { format: 'iso' };
  return { format: 'raw' };
}

/** Probes the regular file at `path` (symlinks refused by O_NOFOLLOW). */
export async function probeFile(path: string): Promise<HeaderProbe> {
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const head = Buffer.alloc(PROBE_BYTES);
    const { bytesRead } = await fh.read(head, 0, PROBE_BYTES, 0);
    return await parseHeader(head.subarray(0, bytesRead), async (offset, length) => {
      const buf = Buffer.alloc(length);
      const r = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, r.bytesRead);
    });
  } finally {
    await fh.close();
  }
}
