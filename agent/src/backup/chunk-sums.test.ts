// The chunk checksums of a backup's manifest: XXH3-128 for new backups (format 2), SHA-256 for
// those stored before (format 1), each checked against the algorithm's published value; a file
// hashed as it streams gives the sums a re-read gives; and verify reads either format and names a
// flipped chunk in both.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PoolRecord } from '../storage/storage-kind.js';
import { makeTempDir, MANIFEST_FORMAT, parseManifest, publishBackup, verifyBackup } from './backup-store.js';
import { chunkHasher, chunkSums, CHUNK_BYTES, CHUNK_HASH, type ChunkHash } from './chunk-sums.js';
import { oneDiskManifest } from '../test-support/stored-backup.js';
import { fileSink, HashingWriter } from './qcow2-writer.js';

const UUID = '6f1c2a3b-4d5e-4f60-8a9b-0c1d2e3f4a5b';

async function tempDir(t: { after: (f: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-sums-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('new backups use XXH3-128; both kinds give their published values', async (t) => {
  assert.equal(CHUNK_HASH, 'xxh128');
  const dir = await tempDir(t);
  const abc = join(dir, 'abc');
  await writeFile(abc, 'abc');
  // XXH128("abc") from xxHash's reference implementation; SHA-256("abc") from FIPS 180-2.
  assert.deepEqual((await chunkSums(abc, 'xxh128')).sums, ['06b05ab6733a618578af5f94892f3950']);
  assert.deepEqual((await chunkSums(abc, 'sha256')).sums, [
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
  ]);
});

test('a file hashed as it is written has the sums a re-read gives, chunk by chunk', async (t) => {
  const dir = await tempDir(t);
  const data = randomBytes(2 * CHUNK_BYTES + 12345);
  for (const hash of ['xxh128', 'sha256'] as ChunkHash[]) {
    const file = join(dir, `streamed-${hash}`);
    const fh = await open(file, 'wx');
    const w = new HashingWriter(fileSink(fh), await chunkHasher(hash));
    // Pieces that straddle the chunk boundaries.
    for (let at = 0; at < data.length; at += 1_000_003) await w.write(data.subarray(at, at + 1_000_003));
    await fh.close();
    const reread = await chunkSums(file, hash);
    assert.equal(reread.sums.length, 3);
    assert.deepEqual(w.finish(), reread.sums, hash);
    assert.equal(new Set(reread.sums).size, 3, 'each chunk has its own sum');
  }
});

test('verify reads format 1 (SHA-256) and format 2 (XXH3-128) points and names a flipped chunk in both', async (t) => {
  const dir = await tempDir(t);
  const pool: PoolRecord = { name: 'qxt-sums', kind: 'dir', path: dir, active: true };
  const points: [string, 1 | 2, ChunkHash][] = [
    ['20261205T040512Z-1a2b3c', 1, 'sha256'],
    ['20261206T040512Z-4d5e6f', MANIFEST_FORMAT, 'xxh128'],
  ];
  for (const [id, format, hash] of points) {
    const tmp = await makeTempDir(pool, UUID, id);
    await writeFile(join(tmp, 'vda.qcow2'), randomBytes(CHUNK_BYTES + 4096));
    const manifest = await oneDiskManifest(tmp, id, UUID, format);
    // A manifest listing its sums under the other format's name is not a backup.
    const { [hash]: listed, ...rest } = manifest.disks[0]!;
    const mislabelled = { ...manifest, disks: [{ ...rest, [hash === 'sha256' ? 'xxh128' : 'sha256']: listed }] };
    assert.equal(parseManifest(JSON.stringify(mislabelled)), undefined, `format ${format} with the other sums`);
    assert.equal(parseManifest(JSON.stringify({ ...manifest, format: 3 })), undefined, 'an unknown format');
    await publishBackup(pool, manifest);
    assert.equal((await verifyBackup(pool, UUID, id)).ok, true, `format ${format} verifies`);

    const fh = await open(join(dir, 'backups', UUID, id, 'vda.qcow2'), 'r+');
    const byte = Buffer.alloc(1);
    await fh.read(byte, 0, 1, CHUNK_BYTES + 17);
    await fh.write(Buffer.from([byte[0]! ^ 1]), 0, 1, CHUNK_BYTES + 17);
    await fh.close();
    const bad = await verifyBackup(pool, UUID, id);
    assert.equal(bad.ok, false);
    assert.deepEqual(
      bad.corruptions.map((c) => [c.disk, c.offset]),
      [['vda', CHUNK_BYTES]],
      `format ${format}: the flipped bit's chunk`,
    );
  }
});
