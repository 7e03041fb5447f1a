// A pure first look at the head of an untrusted disk image (VMDK sparse header, VMDK text
// descriptor, qcow2 header) so `qx ova inspect` refuses the same images import refuses,
// without running qemu-img. Import still runs qemu-img info (disk-inspect.ts) afterwards.
import { AgentError, ErrorCode } from '../errors.js';

/** Bytes of each disk kept for sniffing. */
export const SNIFF_BYTES = 64 * 1024;

function unsafe(label: string, why: string): AgentError {
  return new AgentError(ErrorCode.InvalidArgument, `disk "${label}" is not a safe image: ${why}`, 'disk');
}

const allowedCreateTypes = new Set(['streamOptimized', 'monolithicSparse']);

function checkDescriptor(text: string, label: string): void {
  const type = /createType\s*=\s*"([^"]*)"/.exec(text)?.[1];
  if (!type || !allowedCreateTypes.has(type)) {
    throw unsafe(label, `VMDK create-type "${type ?? 'unknown'}" (only streamOptimized and monolithicSparse are accepted)`);
  }
  for (const m of text.matchAll(/^\s*(?:RW|RDONLY|NOACCESS)\s+\d+\s+(\S+)/gm)) {
    if (m[1] !== 'SPARSE') throw unsafe(label, `VMDK extent of type ${m[1]} refers to another file`);
  }
  if (/parentFileNameHint/i.test(text)) throw unsafe(label, 'VMDK with a parent (backing) file');
}

/** The format the head's magic shows: "vmdk", "qcow2" or "raw" (no known magic). */
export function sniffFormat(head: Buffer): string {
  if (head.subarray(0, 4).toString('latin1') === 'KDMV') return 'vmdk';
  if (head.subarray(0, 4).equals(Buffer.from([0x51, 0x46, 0x49, 0xfb]))) return 'qcow2';
  if (/^#\s*Disk DescriptorFile/.test(head.subarray(0, 64).toString('latin1'))) return 'vmdk';
  return 'raw';
}

/** Throws AgentError when the head shows an image that is not self-contained or not `format`. */
export function sniffDisk(head: Buffer, format: string, label: string): void {
  const found = sniffFormat(head);
  if (found !== format) throw unsafe(label, `it is ${found}, the OVF says ${format}`);
  if (found === 'vmdk') {
    if (head.subarray(0, 4).toString('latin1') !== 'KDMV') {
      throw unsafe(label, 'a VMDK text descriptor refers to other files');
    }
    if (head.length < 512) throw unsafe(label, 'VMDK header truncated');
    const capacity = head.readBigUInt64LE(12);
    const descOffset = Number(head.readBigUInt64LE(28)) * 512;
    const descSize = Number(head.readBigUInt64LE(36)) * 512;
    if (capacity === 0n) throw unsafe(label, 'VMDK sparse header without capacity (defers to an embedded descriptor)');
    if (descOffset > 0 && descOffset + Math.min(descSize, 1) <= head.length) {
      const desc = head.subarray(descOffset, Math.min(head.length, descOffset + descSize)).toString('latin1');
      checkDescriptor(desc.split('\0')[0]!, label);
    }
  } else if (found === 'qcow2') {
    if (head.length < 104) throw unsafe(label, 'qcow2 header truncated');
    if (head.readBigUInt64BE(8) !== 0n) throw unsafe(label, 'it has a backing file');
    const version = head.readUInt32BE(4);
    if (version >= 3 && (head.readBigUInt64BE(72) & 4n) !== 0n) throw unsafe(label, 'it has an external data file');
  }
}
