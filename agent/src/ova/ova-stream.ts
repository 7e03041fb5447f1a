// Reads an OVA once, front to back: parses the OVF and manifest wherever they sit in the tar,
// hashes every entry for the manifest, and (when given a staging dir) writes each disk exactly
// once as it streams past — gunzipped on the fly, chunks (`name.000000000`, …) reassembled in order,
// a streamOptimized VMDK decoded on the way into a raw or qcow2 image (disk-sink.ts).
import { createHash, type Hash } from 'node:crypto';
import { basename, join } from 'node:path';
import { PassThrough, Transform, Writable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { once } from 'node:events';
import { createGunzip } from 'node:zlib';
import type { OvaSpec } from '@quantix/proto/v1/image.js';
import { AgentError, ErrorCode } from '../errors.js';
import { DiskSink, type DecodeFormat } from './disk-sink.js';
import type { StreamVmdkHeader } from './vmdk-stream.js';
import { readTar, defaultTarLimits, type TarLimits, type TarEntry } from './tar-reader.js';
import { parseOvf, MAX_OVF_BYTES, type OvfDescriptor, type OvfFile } from './ovf-parse.js';
import {
  parseManifest,
  verifyManifest,
  MAX_MANIFEST_BYTES,
  type DigestAlgorithm,
  type ManifestEntry,
} from './manifest.js';

/** Bytes of each disk kept for judging its header (`qx ova inspect` has nothing else). */
export const SNIFF_BYTES = 64 * 1024;

export interface OvaStreamOptions {
  /** Where disks are written (created by the caller, removed by the caller on failure). */
  stagingDir?: string;
  /** Decode streamOptimized VMDKs (declared VMDK by an OVF read before them) into this format while staging. */
  decodeVmdk?: DecodeFormat;
  limits?: TarLimits;
  /** Largest decompressed disk accepted. */
  maxDiskBytes?: number;
  onBytes?: (bytesRead: number) => void;
}

/** One disk file of the OVF as read from the tar. */
export interface StreamedDisk {
  file: OvfFile;
  /** Staged (decompressed, reassembled) copy; undefined without a staging dir. */
  path?: string;
  /** The first SNIFF_BYTES of the decompressed data. */
  head: Buffer;
  bytes: number;
  /** Where the bytes sit in the tar when they are one plain (not compressed, not chunked) entry. */
  inTar?: { offset: number; size: number };
  /** The staged copy is this streamOptimized VMDK decoded (`path` is then an image of `decodeVmdk`'s format). */
  decoded?: StreamVmdkHeader;
}

export interface OvaStreamResult {
  descriptor: OvfDescriptor;
  /** spec.disks[i] ↔ disks[i]. */
  disks: StreamedDisk[];
  spec: OvaSpec;
}

const CHUNK_RE = /^(.*)\.(\d{9})$/;
const ALL: DigestAlgorithm[] = ['sha1', 'sha256', 'sha512'];

function ovaError(message: string, field = 'ova'): AgentError {
  return new AgentError(ErrorCode.InvalidArgument, message, field);
}

/** Keeps the first SNIFF_BYTES, counts and caps the total. */
class HeadAndLimit extends Transform {
  head: Buffer[] = [];
  headLen = 0;
  total = 0;
  constructor(
    private readonly max: number,
    private readonly label: string,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.total += chunk.length;
    if (this.total > this.max) {
      cb(ovaError(`disk "${this.label}" expands beyond ${this.max} bytes`, 'disk'));
      return;
    }
    if (this.headLen < SNIFF_BYTES) {
      const part = chunk.subarray(0, SNIFF_BYTES - this.headLen);
      this.head.push(Buffer.from(part));
      this.headLen += part.length;
    }
    cb(null, chunk);
  }
}

/** Writes one OVF file's bytes (all its chunks) through optional gunzip into a sink. */
class DiskWriter {
  private readonly input = new PassThrough({ highWaterMark: 1024 * 1024 });
  private readonly meter: HeadAndLimit;
  private readonly sink: Writable;
  private readonly done: Promise<void>;
  private failure: unknown;
  nextChunk = 0;
  compressed: boolean;
  /** Tar offset and size of the first entry (meaningful for a single plain entry). */
  entry = { offset: 0, size: 0 };

  constructor(
    readonly href: string,
    readonly path: string | undefined,
    gzip: boolean,
    maxBytes: number,
    decodeVmdk?: DecodeFormat,
  ) {
    this.compressed = gzip;
    this.meter = new HeadAndLimit(maxBytes, href);
    const sink: Writable = path ? new DiskSink(path, href, decodeVmdk) : new Writable({ write: (_c, _e, cb) => cb() });
    this.sink = sink;
    this.done = gzip ? pipeline(this.input, createGunzip(), this.meter, sink) : pipeline(this.input, this.meter, sink);
    this.done.catch((err: unknown) => {
      this.failure = err;
    });
  }

  async write(b: Buffer): Promise<void> {
    if (this.failure) throw this.failure;
    if (!this.input.write(b)) await Promise.race([once(this.input, 'drain'), this.done]);
    if (this.failure) throw this.failure;
  }

  async end(): Promise<StreamedDisk & { compressed: boolean }> {
    this.input.end();
    try {
      await this.done;
    } catch (err) {
      if (err instanceof AgentError) throw err;
      throw ovaError(
        `disk "${this.href}": ${err instanceof Error ? err.message : String(err)} (corrupt compressed data?)`,
        'disk',
      );
    }
    return {
      file: { id: '', href: this.href, size: 0, compression: '', chunkSize: 0 },
      path: this.path,
      head: Buffer.concat(this.meter.head),
      bytes: this.meter.total,
      compressed: this.compressed,
      inTar: !this.compressed && this.nextChunk === 1 ? this.entry : undefined,
      decoded: this.sink instanceof DiskSink ? this.sink.decoded : undefined,
    };
  }

  /** Stops the pipeline; resolves once the sink has closed (nothing more is written by then). */
  async destroy(): Promise<void> {
    const closed = this.sink.closed ? Promise.resolve() : new Promise((resolve) => this.sink.once('close', resolve));
    this.input.destroy();
    this.sink.destroy();
    await closed;
  }
}

async function readSmall(entry: TarEntry, max: number, what: string, hashes: Hash[]): Promise<Buffer> {
  if (entry.size > max) throw ovaError(`${what} "${entry.name}" is larger than ${max} bytes`);
  const parts: Buffer[] = [];
  for await (const c of entry.chunks()) {
    for (const h of hashes) h.update(c);
    parts.push(c);
  }
  return Buffer.concat(parts);
}

/**
 * The most a disk file may expand to (a gzip disk as it is written, any disk as it is staged): its
 * disk's capacity plus room for image metadata (VMDK grain tables, qcow2 tables). A small gzip
 * bomb then stops there instead of filling the pool.
 */
function expandedLimit(descriptor: OvfDescriptor | undefined, href: string, fallback: number): number {
  const capacities = (descriptor?.spec.disks ?? [])
    .filter((_, i) => descriptor?.diskFiles[i]?.href === href)
    .map((d) => d.capacityBytes);
  if (!capacities.length) return fallback;
  const capacity = Math.max(...capacities);
  return Math.min(fallback, capacity + Math.ceil(capacity / 16) + 64 * 2 ** 20);
}

/** The formats the OVF declares for the disks stored in `href` (none before the OVF was read). */
function declaredFormats(descriptor: OvfDescriptor | undefined, href: string): string[] {
  const formats = (descriptor?.spec.disks ?? [])
    .filter((_, i) => descriptor?.diskFiles[i]?.href === href)
    .map((d) => d.format);
  return formats.length ? formats : ['unknown'];
}

/** Reads the whole OVA from `source`; throws AgentError on anything unsafe or inconsistent. */
export async function readOvaStream(
  source: AsyncIterable<Buffer | Uint8Array>,
  options: OvaStreamOptions = {},
): Promise<OvaStreamResult> {
  const maxDiskBytes = options.maxDiskBytes ?? 64 * 2 ** 40;
  let bytesRead = 0;
  async function* counted(): AsyncGenerator<Buffer | Uint8Array> {
    for await (const c of source) {
      bytesRead += c.length;
      options.onBytes?.(bytesRead);
      yield c;
    }
  }

  let descriptor: OvfDescriptor | undefined;
  let ovfName = '';
  let manifest: ManifestEntry[] | undefined;
  let manifestName = '';
  let certificatePresent = false;
  const warnings: string[] = [];
  const digests = new Map<string, Partial<Record<DigestAlgorithm, string>>>();
  const writers = new Map<string, DiskWriter>();
  const finished = new Map<string, StreamedDisk & { compressed: boolean }>();
  let stagedCount = 0;

  const algorithmsFor = (name: string): DigestAlgorithm[] => {
    if (!manifest) return ALL;
    const listed = manifest.find((e) => e.file === name);
    return [listed?.algorithm ?? manifest[0]!.algorithm];
  };

  /** Which OVF file (and chunk index) a tar entry belongs to; undefined = not a disk. */
  const target = (name: string): { href: string; chunk: number } | undefined => {
    const m = CHUNK_RE.exec(name);
    if (!descriptor) return m ? { href: m[1]!, chunk: Number(m[2]) } : { href: name, chunk: -1 };
    const f = descriptor.files.get(name);
    if (f && f.chunkSize === 0) return { href: name, chunk: -1 };
    if (m && descriptor.files.get(m[1]!)?.chunkSize) return { href: m[1]!, chunk: Number(m[2]) };
    return undefined;
  };

  const finishWriter = async (w: DiskWriter): Promise<void> => {
    finished.set(w.href, await w.end());
    writers.delete(w.href); // a failed one stays, to be destroyed below
  };

  try {
    for await (const entry of readTar(counted(), options.limits ?? defaultTarLimits)) {
      const base = basename(entry.name);
      if (base.startsWith('._')) continue; // macOS resource forks
      const hashes = new Map(algorithmsFor(entry.name).map((a) => [a, createHash(a)] as const));
      const lower = entry.name.toLowerCase();

      if (lower.endsWith('.ovf') && !entry.name.includes('/')) {
        if (descriptor) throw ovaError(`more than one OVF descriptor ("${ovfName}", "${entry.name}")`);
        const xml = await readSmall(entry, MAX_OVF_BYTES, 'OVF descriptor', [...hashes.values()]);
        descriptor = parseOvf(xml.toString('utf8'));
        ovfName = entry.name;
      } else if (lower.endsWith('.mf')) {
        if (manifest) throw ovaError(`more than one manifest ("${manifestName}", "${entry.name}")`);
        const text = await readSmall(entry, MAX_MANIFEST_BYTES, 'manifest', []);
        manifest = parseManifest(text.toString('utf8'));
        manifestName = entry.name;
        continue;
      } else if (lower.endsWith('.cert')) {
        certificatePresent = true;
        await readSmall(entry, MAX_MANIFEST_BYTES, 'certificate', [...hashes.values()]);
      } else {
        const t = target(entry.name);
        if (!t) {
          warnings.push(`"${entry.name}" is not referenced by the OVF: ignored`);
          for await (const c of entry.chunks()) for (const h of hashes.values()) h.update(c);
        } else {
          // A different file starts: the previous one (all its chunks) is complete.
          for (const w of [...writers.values()]) if (w.href !== t.href) await finishWriter(w);
          if (finished.has(t.href)) throw ovaError(`chunks of "${t.href}" are not contiguous`);
          let w = writers.get(t.href);
          const first = entry.chunks();
          const head = await first.next();
          const firstChunk = head.done ? Buffer.alloc(0) : head.value;
          if (!w) {
            if (t.chunk > 0) throw ovaError(`chunk ${t.chunk} of "${t.href}" comes before chunk 0`);
            const declared = descriptor?.files.get(t.href)?.compression;
            const gzip =
              declared !== undefined ? declared === 'gzip' : firstChunk[0] === 0x1f && firstChunk[1] === 0x8b;
            const path = options.stagingDir ? join(options.stagingDir, `disk-${stagedCount++}.img`) : undefined;
            const vmdk = declaredFormats(descriptor, t.href).every((f) => f === 'vmdk');
            w = new DiskWriter(
              t.href,
              path,
              gzip,
              expandedLimit(descriptor, t.href, maxDiskBytes),
              vmdk ? options.decodeVmdk : undefined,
            );
            w.entry = { offset: entry.offset, size: entry.size };
            writers.set(t.href, w);
          } else if (t.chunk !== w.nextChunk) {
            throw ovaError(`chunk ${t.chunk} of "${t.href}" is out of order (expected ${w.nextChunk})`);
          }
          w.nextChunk++;
          for (const h of hashes.values()) h.update(firstChunk);
          await w.write(firstChunk);
          for await (const c of { [Symbol.asyncIterator]: () => first }) {
            for (const h of hashes.values()) h.update(c);
            await w.write(c);
          }
          if (t.chunk < 0) await finishWriter(w);
        }
      }
      digests.set(entry.name, Object.fromEntries([...hashes].map(([a, h]) => [a, h.digest('hex')])));
    }
    for (const w of [...writers.values()]) await finishWriter(w);
  } catch (err) {
    // Waited for: a sink still creating its file (or qemu-nbd) would race the caller's cleanup.
    await Promise.all([...writers.values()].map((w) => w.destroy()));
    throw err;
  }

  if (!descriptor) throw ovaError('no OVF descriptor (.ovf) in the OVA');
  const spec = descriptor.spec;
  spec.certificatePresent = certificatePresent;
  if (certificatePresent) warnings.push('the OVA is signed (.cert): the signature is recorded but not verified');
  if (manifest) {
    warnings.push(...verifyManifest(manifest, digests, manifestName));
    spec.manifest = 'verified';
  }

  const disks: StreamedDisk[] = descriptor.diskFiles.map((file) => {
    const got = finished.get(file.href);
    if (!got) throw ovaError(`disk file "${file.href}" is missing from the OVA`, 'disk');
    if (got.compressed !== (file.compression === 'gzip')) {
      throw ovaError(`disk file "${file.href}": compression does not match the OVF`, 'disk');
    }
    if (got.bytes === 0) throw ovaError(`disk file "${file.href}" is empty`, 'disk');
    return { file, path: got.path, head: got.head, bytes: got.bytes, inTar: got.inTar, decoded: got.decoded };
  });
  const used = new Set(descriptor.diskFiles.map((f) => f.href));
  for (const [href] of finished) {
    if (!used.has(href)) warnings.push(`"${href}" is not used by the OVF: ignored`);
  }
  spec.warnings.push(...warnings);
  return { descriptor, disks, spec };
}
