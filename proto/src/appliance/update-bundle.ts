// Update bundles (build/iso/make-bundle.mjs): verifies one on disk — Ed25519 signature over its
// manifest, the product, every part's size and sha256, no truncation — and writes a verified one
// into a system slot (temp dir, fsync, rename). Nothing reaches the slot before all of it checks out.
// Shared by the server (its own appliance) and the agent (a host the vDC updates).
import { createHash, createPublicKey, verify } from 'node:crypto';
import { open, mkdir, rename, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const BUNDLE_PRODUCT = 'quantix-vdc';
const BLOCK = 512;
const MAX_MANIFEST_BYTES = 64 * 1024;
const PART_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** The parts a slot cannot boot without. */
const REQUIRED_PARTS = ['vmlinuz', 'initrd.img', 'filesystem.module'];

export interface BundlePart {
  name: string;
  size: number;
  sha256: string;
}

export interface BundleManifest {
  product: string;
  format: 1;
  version: string;
  build: string;
  parts: BundlePart[];
}

/** A bundle whose signature and parts were checked; offsets locate each part's bytes in the file. */
export interface VerifiedBundle {
  manifest: BundleManifest;
  parts: (BundlePart & { offset: number })[];
}

/**
 * A bundle that does not check out. `status`/`expose` make the server answer 422 with the message
 * (middleware/error.ts); the agent maps it to FAILED_PRECONDITION.
 */
export class BundleRefused extends Error {
  override readonly name = 'BundleRefused';
  readonly status = 422;
  readonly expose = true;
}

function refuse(message: string): BundleRefused {
  return new BundleRefused(`update bundle: ${message}`);
}

interface TarEntry {
  name: string;
  size: number;
  offset: number;
}

/** Reads the ustar header at `pos`; null at the end-of-archive block. Only plain files are allowed. */
async function readHeader(fh: FileHandle, pos: number, fileSize: number): Promise<TarEntry | null> {
  if (pos + BLOCK > fileSize) throw refuse('truncated (archive ends inside a header)');
  const h = Buffer.alloc(BLOCK);
  await fh.read(h, 0, BLOCK, pos);
  if (h.every((b) => b === 0)) return null;
  if (h.subarray(257, 262).toString('latin1') !== 'ustar') throw refuse(`not a ustar archive at byte ${pos}`);
  const sum = h.reduce((acc, b, i) => acc + (i >= 148 && i < 156 ? 32 : b), 0);
  if (sum !== parseInt(h.subarray(148, 156).toString('latin1').replace(/\0.*$/s, '').trim(), 8)) {
    throw refuse(`header checksum wrong at byte ${pos}`);
  }
  const type = String.fromCharCode(h[156]!);
  const name = h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
  if ((type !== '0' && type !== '\0') || h[345] !== 0) throw refuse(`entry "${name}" is not a plain file`);
  const size = parseInt(h.subarray(124, 136).toString('latin1').replace(/\0.*$/s, '').trim(), 8);
  if (!Number.isSafeInteger(size) || size < 0) throw refuse(`entry "${name}" has no valid size`);
  const offset = pos + BLOCK;
  if (offset + size > fileSize) throw refuse(`truncated (part "${name}" is cut short)`);
  return { name, size, offset };
}

const next = (e: TarEntry) => e.offset + Math.ceil(e.size / BLOCK) * BLOCK;

async function readEntry(fh: FileHandle, e: TarEntry): Promise<Buffer> {
  const buf = Buffer.alloc(e.size);
  await fh.read(buf, 0, e.size, e.offset);
  return buf;
}

async function hashRange(fh: FileHandle, offset: number, size: number, sink?: FileHandle): Promise<string> {
  const h = createHash('sha256');
  const buf = Buffer.alloc(1024 * 1024);
  for (let done = 0; done < size;) {
    const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - done), offset + done);
    if (bytesRead === 0) throw refuse('truncated while reading a part');
    const chunk = buf.subarray(0, bytesRead);
    h.update(chunk);
    if (sink) await sink.write(chunk);
    done += bytesRead;
  }
  return h.digest('hex');
}

function parseManifest(bytes: Buffer): BundleManifest {
  let m: unknown;
  try {
    m = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw refuse('manifest.json is not JSON');
  }
  const o = m as Partial<BundleManifest>;
  if (o.format !== 1 || typeof o.version !== 'string' || !/^[\w.+~-]{1,64}$/.test(o.version)) {
    throw refuse('manifest.json: format or version missing');
  }
  if (!Array.isArray(o.parts) || o.parts.length === 0 || o.parts.length > 16) throw refuse('manifest.json: no parts');
  for (const p of o.parts) {
    if (!PART_NAME.test(String(p?.name)) || !Number.isSafeInteger(p.size) || !/^[0-9a-f]{64}$/.test(String(p.sha256))) {
      throw refuse(`manifest.json: part ${JSON.stringify(p?.name)} is malformed`);
    }
  }
  const names = o.parts.map((p) => p.name);
  if (new Set(names).size !== names.length) throw refuse('manifest.json: a part is listed twice');
  for (const n of REQUIRED_PARTS) if (!names.includes(n)) throw refuse(`manifest.json: part "${n}" missing`);
  if (!names.some((n) => n.endsWith('.squashfs'))) throw refuse('manifest.json: no squashfs layer');
  return o as BundleManifest;
}

/**
 * Checks the bundle at `file` against the public key (PEM): signature first (nothing else of an
 * unsigned manifest is trusted), then the product, then each part's size and sha256 in order,
 * then the end-of-archive block. Throws a 422 naming what is wrong.
 */
export async function verifyBundle(file: string, publicKeyPem: string): Promise<VerifiedBundle> {
  const fh = await open(file, 'r');
  try {
    const fileSize = (await fh.stat()).size;
    const manifestEntry = await readHeader(fh, 0, fileSize);
    if (manifestEntry?.name !== 'manifest.json' || manifestEntry.size > MAX_MANIFEST_BYTES) {
      throw refuse('the first entry must be manifest.json (at most 64 KiB)');
    }
    const sigEntry = await readHeader(fh, next(manifestEntry), fileSize);
    if (sigEntry?.name !== 'manifest.sig' || sigEntry.size !== 64)
      throw refuse('the second entry must be manifest.sig');
    const manifestBytes = await readEntry(fh, manifestEntry);
    const signature = await readEntry(fh, sigEntry);
    if (!verify(null, manifestBytes, createPublicKey(publicKeyPem), signature)) {
      throw refuse('bad signature (not signed by this product’s build key)');
    }
    const manifest = parseManifest(manifestBytes);
    if (manifest.product !== BUNDLE_PRODUCT) {
      throw refuse(`it is for "${String(manifest.product)}", not ${BUNDLE_PRODUCT}`);
    }
    const parts: VerifiedBundle['parts'] = [];
    let pos = next(sigEntry);
    for (const want of manifest.parts) {
      const e = await readHeader(fh, pos, fileSize);
      if (e?.name !== want.name) throw refuse(`part "${want.name}" missing (found ${e ? `"${e.name}"` : 'the end'})`);
      if (e.size !== want.size) throw refuse(`part "${want.name}" is ${e.size} bytes, the manifest says ${want.size}`);
      if ((await hashRange(fh, e.offset, e.size)) !== want.sha256) {
        throw refuse(`part "${want.name}": sha256 differs from the manifest`);
      }
      parts.push({ ...want, offset: e.offset });
      pos = next(e);
    }
    if ((await readHeader(fh, pos, fileSize)) !== null) throw refuse('entries after the last part');
    return { manifest, parts };
  } finally {
    await fh.close();
  }
}

async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Writes the parts of a verified bundle into `slotDir` (e.g. <QX-ROOT>/slot-b/live): into a
 * fresh `<slotDir>.new`, each part hashed again as it is copied (the file could have changed since
 * it was verified), files and directory fsynced, then the old slot moved aside and the new one
 * renamed into place. On any failure the old slot is left as it was.
 */
export async function writeSlot(file: string, bundle: VerifiedBundle, slotDir: string): Promise<void> {
  const tmp = `${slotDir}.new`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const src = await open(file, 'r');
    try {
      for (const part of bundle.parts) {
        const out = await open(join(tmp, part.name), 'wx', 0o644);
        try {
          if ((await hashRange(src, part.offset, part.size, out)) !== part.sha256) {
            throw refuse(`part "${part.name}" changed since it was verified`);
          }
          await out.sync();
        } finally {
          await out.close();
        }
      }
    } finally {
      await src.close();
    }
    await fsyncPath(tmp);
    const old = `${slotDir}.old`;
    await rm(old, { recursive: true, force: true });
    await rename(slotDir, old).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    });
    await rename(tmp, slotDir);
    await fsyncPath(dirname(slotDir));
    await rm(old, { recursive: true, force: true });
  } catch (err) {
    await rm(tmp, { recursive: true, force: true });
    throw err;
  }
}
