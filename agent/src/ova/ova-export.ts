// VM description + its disk files → OVA stream: OVF 1.0, streamOptimized VMDKs (qemu-img
// convert -O vmdk -o subformat=streamOptimized), SHA256 manifest right after the OVF (ovftool's
// order, so an importer knows the digest algorithm before the disks stream past). A guest can
// write any header into its disk, so each disk is read as the format the VM uses it as, its
// backing chain must stay in the disk's own directory, and qemu-img runs sandboxed with only
// that directory visible. Temporary VMDKs are removed in any case.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { invalidArgument } from '../errors.js';
import { convertDisk } from './disk-convert.js';
import { inspectBackingChain } from './disk-inspect.js';
import { buildOvf, type ExportDescription, type ExportNic } from './ovf-build.js';
import { writeTarEntry, writeTarEnd } from './tar-writer.js';
import { safeStem } from './ova-import.js';

export interface ExportSource {
  name: string;
  annotation?: string;
  osType?: string;
  firmware?: 'bios' | 'efi';
  cpus: number;
  coresPerSocket?: number;
  memoryMib: number;
  /** Disks in boot order. */
  disks: ExportDisk[];
  nics?: ExportNic[];
}

export interface ExportDisk {
  /** A file (its backing files must lie in the same directory) or a block device. */
  path: string;
  /** The format the VM uses it as (libvirt's <driver type>), never guessed from the content. */
  format: 'qcow2' | 'raw';
}

export interface ExportOvaOptions {
  /** Directory for the temporary VMDKs. */
  workDir: string;
  onPhase?: (phase: string, message: string) => void;
  signal?: AbortSignal;
}

function validate(src: ExportSource): void {
  if (!src.name.trim()) throw invalidArgument('name', 'is empty');
  if (!Number.isInteger(src.cpus) || src.cpus < 1 || src.cpus > 512) throw invalidArgument('cpus', 'must be 1..512');
  const cps = src.coresPerSocket ?? 1;
  if (!Number.isInteger(cps) || cps < 1 || src.cpus % cps !== 0)
    throw invalidArgument('coresPerSocket', `must divide cpus (${src.cpus})`);
  if (!Number.isInteger(src.memoryMib) || src.memoryMib < 1)
    throw invalidArgument('memoryMib', 'must be a positive integer');
  if (src.disks.length === 0) throw invalidArgument('disks', 'at least one disk is needed');
}

async function* readFile(path: string): AsyncGenerator<Buffer> {
  for await (const c of createReadStream(path, { highWaterMark: 1024 * 1024 })) yield c as Buffer;
}

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const c of readFile(path)) hash.update(c);
  return hash.digest('hex');
}

async function* once(b: Buffer): AsyncGenerator<Buffer> {
  yield b;
}

/** Writes the OVA for `src` to `out` (not ended: the caller ends or closes it). */
export async function exportOva(src: ExportSource, out: Writable, o: ExportOvaOptions): Promise<void> {
  validate(src);
  const tmp = await mkdtemp(join(o.workDir, '.qx-ova-export-'));
  try {
    const stem = safeStem(src.name);
    const vmdks: { href: string; path: string; fileSize: number; capacityBytes: number }[] = [];
    for (const [i, disk] of src.disks.entries()) {
      // A block device is visible alone and may have no backing file.
      const dir = (await stat(disk.path)).isFile() ? dirname(disk.path) : undefined;
      const label = `VM ${src.name}: disk ${i + 1} (${disk.path})`;
      const info = await inspectBackingChain({ path: disk.path, format: disk.format, dir, label });
      const href = `${stem}-disk${i + 1}.vmdk`;
      const path = join(tmp, href);
      o.onPhase?.('converting', `disk ${i + 1}/${src.disks.length}`);
      await convertDisk({
        input: disk.path,
        inputFormat: disk.format,
        inputDir: dir ?? disk.path,
        output: path,
        outputFormat: 'vmdk',
        signal: o.signal,
      });
      vmdks.push({ href, path, fileSize: (await stat(path)).size, capacityBytes: info.virtualSize });
    }
    const description: ExportDescription = {
      name: src.name,
      annotation: src.annotation ?? '',
      osType: src.osType ?? 'other',
      firmware: src.firmware ?? 'bios',
      cpus: src.cpus,
      coresPerSocket: src.coresPerSocket ?? 1,
      memoryMib: src.memoryMib,
      disks: vmdks,
      nics: src.nics ?? [],
    };
    const ovf = Buffer.from(buildOvf(description));
    const ovfName = `${stem}.ovf`;
    const lines = [`SHA256(${ovfName})= ${createHash('sha256').update(ovf).digest('hex')}`];
    for (const v of vmdks) lines.push(`SHA256(${v.href})= ${await sha256File(v.path)}`);
    const mf = Buffer.from(lines.join('\n') + '\n');
    o.onPhase?.('packing', ovfName);
    await writeTarEntry(out, ovfName, ovf.length, once(ovf));
    await writeTarEntry(out, `${stem}.mf`, mf.length, once(mf));
    for (const v of vmdks) await writeTarEntry(out, v.href, v.fileSize, readFile(v.path));
    await writeTarEnd(out);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
