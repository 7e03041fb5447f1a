// OVA import end to end: one pass over the stream (disks staged once inside the destination),
// then each disk judged (header sniff + sandboxed `qemu-img info`) and converted to qcow2 in
// the sandbox. A converted qcow2 is the only lasting copy; any failure removes everything.
import { link, mkdir, mkdtemp, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { OvaSpec } from '@quantix/proto/v1/image.js';
import type { Progress } from '@quantix/proto/v1/common.js';
import { AgentError, ErrorCode } from '../errors.js';
import { readOvaStream, type OvaStreamOptions } from './ova-stream.js';
import { sniffDisk } from './disk-sniff.js';
import { inspectDisk } from './disk-inspect.js';
import { convertDisk } from './disk-convert.js';

export interface ImportOvaOptions {
  source: AsyncIterable<Buffer | Uint8Array>;
  /** Directory that receives the qcow2 files (a pool's directory). */
  destDir: string;
  /** File name prefix; default derived from the OVF name. */
  namePrefix?: string;
  /** Declared OVA size for progress; 0 = unknown. */
  sizeBytes?: number;
  onProgress?: (p: Progress) => void;
  limits?: OvaStreamOptions['limits'];
  signal?: AbortSignal;
}

export interface ImportedOva {
  spec: OvaSpec;
  /** Absolute paths of the qcow2 files, in OVF disk order. */
  outputs: string[];
}

/** Letters, digits, ". _ -": a safe file/volume name stem from an OVF name. */
export function safeStem(name: string): string {
  const s = name.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+|[-.]+$/g, '').slice(0, 48);
  return s || 'imported';
}

function progress(phase: string, bytesDone: number, bytesTotal: number, percent: number, message = ''): Progress {
  return { phase, bytesDone, bytesTotal, percent, message };
}

/** Inspects only: reads the stream once, writes nothing, sniffs each disk's header. */
export async function inspectOva(source: AsyncIterable<Buffer | Uint8Array>, limits?: OvaStreamOptions['limits']): Promise<OvaSpec> {
  const read = await readOvaStream(source, { limits });
  read.disks.forEach((d, i) => sniffDisk(d.head, read.spec.disks[i]!.format, d.file.href));
  return read.spec;
}

/** Imports an OVA stream into `destDir`; throws AgentError and leaves nothing behind on failure. */
export async function importOva(o: ImportOvaOptions): Promise<ImportedOva> {
  await mkdir(o.destDir, { recursive: true });
  const staging = await mkdtemp(join(o.destDir, '.qx-ova-staging-'));
  const outDir = join(staging, 'out');
  await mkdir(outDir);
  const total = o.sizeBytes ?? 0;
  const outputs: string[] = [];
  let lastReport = 0;
  try {
    const read = await readOvaStream(o.source, {
      stagingDir: staging,
      limits: o.limits,
      onBytes: (n) => {
        if (n - lastReport >= 8 * 1024 * 1024 || n === total) {
          lastReport = n;
          o.onProgress?.(progress('receiving', n, total, total ? Math.min(100, (n / total) * 100) : -1));
        }
      },
    });
    const spec = read.spec;
    const stem = safeStem(o.namePrefix || spec.name);
    const targets = spec.disks.map((_, i) => join(o.destDir, `${stem}-disk${i}.qcow2`));
    for (const t of targets) {
      if (await stat(t).then(() => true, () => false)) {
        throw new AgentError(ErrorCode.AlreadyExists, `volume file ${t} already exists: choose another name`, 'name');
      }
    }
    o.onProgress?.(progress('verifying', 0, 0, -1, `${read.disks.length} disk(s)`));
    const infos = [];
    for (const [i, d] of read.disks.entries()) {
      const disk = spec.disks[i]!;
      sniffDisk(d.head, disk.format, disk.file);
      const info = await inspectDisk(d.path!, disk.format, disk.file);
      if (info.virtualSize !== disk.capacityBytes) {
        spec.warnings.push(`disk "${disk.file}": image size ${info.virtualSize} differs from the OVF capacity ${disk.capacityBytes}; using the image size`);
        disk.capacityBytes = info.virtualSize;
      }
      infos.push(info);
    }
    for (const [i, d] of read.disks.entries()) {
      const disk = spec.disks[i]!;
      const out = join(outDir, `disk${i}.qcow2`);
      const message = `disk ${i + 1}/${read.disks.length}: ${disk.file}`;
      o.onProgress?.(progress('converting', 0, 0, 0, message));
      await convertDisk({
        input: d.path!,
        inputFormat: disk.format,
        output: out,
        outputFormat: 'qcow2',
        signal: o.signal,
        onPercent: (p) => o.onProgress?.(progress('converting', 0, 0, p, message)),
      });
      await rm(d.path!);
    }
    for (const [i, t] of targets.entries()) {
      await link(join(outDir, `disk${i}.qcow2`), t); // fails instead of overwriting
      outputs.push(t);
    }
    await rm(staging, { recursive: true, force: true });
    o.onProgress?.(progress('done', total, total, 100));
    return { spec, outputs };
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    for (const t of outputs) await unlink(t).catch(() => undefined);
    throw err;
  }
}
