// OVA import end to end: one pass over the stream (disks staged once inside the destination, a
// streamOptimized VMDK decoded on the way straight into its qcow2), then each other disk judged
// (disk-inspect.ts: header probe + sandboxed `qemu-img info`) and converted to qcow2 in the sandbox.
// The qcow2 is the only lasting copy; any failure removes everything.
import { createReadStream } from 'node:fs';
import { link, mkdir, mkdtemp, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { OvaSpec } from '@quantix/proto/v1/image.js';
import type { Progress } from '@quantix/proto/v1/common.js';
import { AgentError, ErrorCode } from '../errors.js';
import { readOvaStream, type OvaStreamOptions } from './ova-stream.js';
import { inspectDisk, judgeImageHead, ovaDisk } from './disk-inspect.js';
import { convertDisk } from './disk-convert.js';
import type { FileSlice } from './qemu-sandbox.js';

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
  /**
   * Puts the converted disks (staged file → target path) in place, all or none. The agent's
   * import does this through its pool manager (pool lock, format records); default: hard links
   * that never replace an existing file.
   */
  publish?: (disks: StagedDisk[]) => Promise<void>;
}

/** A converted disk in the staging directory and the path it is published as. */
export interface StagedDisk {
  file: string;
  target: string;
}

async function linkDisks(disks: StagedDisk[]): Promise<void> {
  const done: string[] = [];
  try {
    for (const d of disks) {
      await link(d.file, d.target); // fails instead of overwriting
      done.push(d.target);
    }
  } catch (err) {
    for (const t of done) await unlink(t).catch(() => undefined);
    throw err;
  }
}

export interface ImportedOva {
  spec: OvaSpec;
  /** Absolute paths of the qcow2 files, in OVF disk order. */
  outputs: string[];
}

/** Letters, digits, ". _ -": a safe file/volume name stem from an OVF name. */
export function safeStem(name: string): string {
  const s = name
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 48);
  return s || 'imported';
}

function progress(phase: string, bytesDone: number, bytesTotal: number, percent: number, message = ''): Progress {
  return { phase, bytesDone, bytesTotal, percent, message };
}

/** Inspects only: reads the stream once, writes nothing, judges each disk's header. */
export async function inspectOva(
  source: AsyncIterable<Buffer | Uint8Array>,
  limits?: OvaStreamOptions['limits'],
): Promise<OvaSpec> {
  const read = await readOvaStream(source, { limits });
  for (const [i, d] of read.disks.entries())
    await judgeImageHead(d.head, ovaDisk(d.file.href, read.spec.disks[i]!.format));
  return read.spec;
}

/** Where one disk is read from for inspection and conversion. */
interface DiskInput {
  file: string;
  slice?: FileSlice;
  head: Buffer;
  /** The file is already the disk's qcow2, decoded from its streamOptimized VMDK (vmdk-stream.ts): its capacity. */
  decodedBytes?: number;
}

/** Shared tail of both import paths: judge, convert into `outDir`, link into place. */
async function convertInto(
  spec: OvaSpec,
  inputs: DiskInput[],
  o: Pick<ImportOvaOptions, 'destDir' | 'namePrefix' | 'onProgress' | 'signal' | 'publish'>,
  outDir: string,
  outputs: string[],
): Promise<void> {
  const stem = safeStem(o.namePrefix || spec.name);
  const targets = spec.disks.map((_, i) => join(o.destDir, `${stem}-disk${i}.qcow2`));
  for (const t of targets) {
    if (
      await stat(t).then(
        () => true,
        () => false,
      )
    ) {
      throw new AgentError(ErrorCode.AlreadyExists, `volume file ${t} already exists: choose another name`, 'name');
    }
  }
  o.onProgress?.(progress('verifying', 0, 0, -1, `${inputs.length} disk(s)`));
  for (const [i, d] of inputs.entries()) {
    const disk = spec.disks[i]!;
    // A decoded VMDK: its header and descriptor judged as the VMDK it was; the qcow2 it became is ours
    // and never probed (a guest's disk may hold anything, a qcow2 image too).
    if (d.decodedBytes !== undefined) await judgeImageHead(d.head, ovaDisk(disk.file, disk.format));
    const info =
      d.decodedBytes !== undefined
        ? { virtualSize: d.decodedBytes }
        : await inspectDisk(d.file, disk.format, disk.file, d.slice);
    if (info.virtualSize !== disk.capacityBytes) {
      spec.warnings.push(
        `disk "${disk.file}": image size ${info.virtualSize} differs from the OVF capacity ${disk.capacityBytes}; using the image size`,
      );
      disk.capacityBytes = info.virtualSize;
    }
  }
  for (const [i, d] of inputs.entries()) {
    const disk = spec.disks[i]!;
    if (d.decodedBytes !== undefined) {
      await rename(d.file, join(outDir, `disk${i}.qcow2`));
      continue;
    }
    const message = `disk ${i + 1}/${inputs.length}: ${disk.file}`;
    o.onProgress?.(progress('converting', 0, 0, 0, message));
    await convertDisk({
      input: d.file,
      inputFormat: disk.format,
      inputSlice: d.slice,
      output: join(outDir, `disk${i}.qcow2`),
      outputFormat: 'qcow2',
      signal: o.signal,
      onPercent: (p) => o.onProgress?.(progress('converting', 0, 0, p, message)),
    });
    if (!d.slice) await rm(d.file);
  }
  await (o.publish ?? linkDisks)(targets.map((target, i) => ({ file: join(outDir, `disk${i}.qcow2`), target })));
  outputs.push(...targets);
}

/** Runs `body` with a fresh staging dir inside destDir; on failure removes it and any outputs. */
async function withStaging<T>(
  destDir: string,
  body: (staging: string, outDir: string, outputs: string[]) => Promise<T>,
): Promise<T> {
  await mkdir(destDir, { recursive: true });
  const staging = await mkdtemp(join(destDir, '.qx-ova-staging-'));
  const outDir = join(staging, 'out');
  const outputs: string[] = [];
  try {
    await mkdir(outDir);
    const result = await body(staging, outDir, outputs);
    await rm(staging, { recursive: true, force: true });
    return result;
  } catch (err) {
    await rm(staging, { recursive: true, force: true });
    for (const t of outputs) await unlink(t).catch(() => undefined);
    throw err;
  }
}

/** Imports an OVA stream into `destDir`; throws AgentError and leaves nothing behind on failure. */
export async function importOva(o: ImportOvaOptions): Promise<ImportedOva> {
  const total = o.sizeBytes ?? 0;
  let lastReport = 0;
  return withStaging(o.destDir, async (staging, outDir, outputs) => {
    const read = await readOvaStream(o.source, {
      stagingDir: staging,
      decodeVmdk: 'qcow2',
      limits: o.limits,
      onBytes: (n) => {
        if (n - lastReport >= 8 * 1024 * 1024 || n === total) {
          lastReport = n;
          o.onProgress?.(progress('receiving', n, total, total ? Math.min(100, (n / total) * 100) : -1));
        }
      },
    });
    await convertInto(
      read.spec,
      read.disks.map((d) => ({ file: d.path!, head: d.head, decodedBytes: d.decoded?.capacityBytes })),
      o,
      outDir,
      outputs,
    );
    o.onProgress?.(progress('done', total, total, 100));
    return { spec: read.spec, outputs };
  });
}

/**
 * Imports a local OVA file: one read pass verifies everything (nothing written), then qemu-img
 * reads each plain disk in place inside the tar, so the only write is the qcow2. OVAs with
 * compressed or chunked disks go through the streaming path instead.
 */
export async function importOvaFile(file: string, o: Omit<ImportOvaOptions, 'source'>): Promise<ImportedOva> {
  const read = await readOvaStream(createReadStream(file, { highWaterMark: 1024 * 1024 }), { limits: o.limits });
  if (read.disks.some((d) => !d.inTar)) {
    return importOva({ ...o, source: createReadStream(file, { highWaterMark: 1024 * 1024 }) });
  }
  return withStaging(o.destDir, async (_staging, outDir, outputs) => {
    await convertInto(
      read.spec,
      read.disks.map((d) => ({ file, slice: d.inTar, head: d.head })),
      o,
      outDir,
      outputs,
    );
    o.onProgress?.(progress('done', 0, 0, 100));
    return { spec: read.spec, outputs };
  });
}
