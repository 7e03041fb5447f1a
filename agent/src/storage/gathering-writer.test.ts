// GatheringFileWriter: whatever the chunking (one-byte floods past the buffer cap, chunks around and
// above the batch size), the file holds exactly the bytes in order; more than allowed fails the
// stream with the caller's error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GatheringFileWriter } from './gathering-writer.js';

async function writeChunks(file: string, chunks: Buffer[], maxBytes: number): Promise<GatheringFileWriter> {
  const fh = await open(file, 'wx', 0o600);
  try {
    const w = new GatheringFileWriter(fh.fd, { batchBytes: 64 * 1024, maxBytes, tooMuch: () => new Error('too much') });
    await pipeline(Readable.from(chunks), w);
    return w;
  } finally {
    await fh.close();
  }
}

test('gathered writes keep every byte in order; more than allowed is refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'qxt-gather-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const data = randomBytes(700_000);
  const sizes = [1, 3000, 65_536, 65_535, 200_000, 17];
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < data.length; i++) {
    // 2,000 one-byte chunks first: more buffers than one writev takes.
    const n = i < 2000 ? 1 : sizes[i % sizes.length]!;
    chunks.push(data.subarray(at, at + n));
    at += n;
  }
  const w = await writeChunks(join(dir, 'a'), chunks, data.length);
  assert.equal(w.received, data.length);
  assert.ok((await readFile(join(dir, 'a'))).equals(data), 'the file holds exactly the bytes sent');

  await assert.rejects(writeChunks(join(dir, 'b'), chunks, data.length - 1), /too much/);
});
